// Package treewalk is the one way bbvault walks a snapshot's trees, with
// one policy for trees that cannot be read. It has three shapes, for the
// three kinds of callers:
//
//   - Walk: depth first, in tree order, with paths: a restore creating
//     directories before their contents, `ls`. An unreadable subtree is
//     handed to an ErrorFunc that decides whether the walk stops (Stop) or
//     goes on without it (Skip).
//   - Reachable: every tree reachable from many roots, each once, level by
//     level and pack by pack (a few ranged requests per tree pack instead of
//     one per tree): check and prune marking what snapshots use. Unreadable
//     trees are returned, not fatal.
//   - Fold: a value per tree computed from its nodes and its subtrees'
//     values, once per tree ID however many snapshots share it: check
//     locating damage by path, repair rewriting trees without it.
//
// Trees are loaded through package repo (LoadTree, and the pack layer for
// Reachable); which errors are damage is repo.Classify's to say.
package treewalk
