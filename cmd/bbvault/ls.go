package main

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/archiver"
	"bbvault/internal/blob"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

func newLsCommand(g *globals) *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "ls SNAPSHOT [PATH]",
		Short: "List files in a snapshot (SNAPSHOT is an ID prefix or latest)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := ""
			if len(args) == 2 {
				p = strings.Trim(path.Clean("/"+args[1]), "/")
			}
			return runLs(cmd.Context(), g, args[0], p, recursive)
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "R", false, "list subdirectories too")
	return cmd
}

func runLs(ctx context.Context, g *globals, ref, p string, recursive bool) error {
	r, closeRepo, err := g.openRepo(ctx)
	if err != nil {
		return err
	}
	defer closeRepo()
	m, err := r.FindSnapshot(ctx, ref)
	if err != nil {
		return err
	}
	if m.Tree == nil {
		return fmt.Errorf("snapshot %s holds no home directory", m.ShortID())
	}
	t, err := findDir(ctx, r, *m.Tree, p)
	if err != nil {
		return err
	}
	var rows []map[string]any
	err = walkTree(ctx, r, t, p, recursive, func(rel string, n tree.Node) {
		if g.jsonOut {
			rows = append(rows, nodeJSON(rel, n))
			return
		}
		g.printf("%s\n", lsLine(rel, n))
	})
	if err == nil && g.jsonOut {
		err = g.printJSON(rows)
	}
	return err
}

// findDir descends from root to the directory at p.
func findDir(ctx context.Context, r *repo.Repository, root blob.ID, p string) (tree.Tree, error) {
	t, err := archiver.LoadTree(ctx, r, root)
	if err != nil || p == "" {
		return t, err
	}
	for _, name := range strings.Split(p, "/") {
		n, ok := t.Lookup(name)
		if !ok || n.Kind != tree.Dir {
			return tree.Tree{}, fmt.Errorf("%s: no such directory in the snapshot", p)
		}
		if t, err = archiver.LoadTree(ctx, r, n.Subtree); err != nil {
			return t, err
		}
	}
	return t, nil
}

func walkTree(ctx context.Context, r *repo.Repository, t tree.Tree, dir string, recursive bool, fn func(string, tree.Node)) error {
	for _, n := range t.Nodes {
		rel := path.Join(dir, n.Name)
		fn(rel, n)
		if recursive && n.Kind == tree.Dir {
			sub, err := archiver.LoadTree(ctx, r, n.Subtree)
			if err != nil {
				return err
			}
			if err := walkTree(ctx, r, sub, rel, recursive, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func lsLine(rel string, n tree.Node) string {
	owner := n.User
	if owner == "" {
		owner = fmt.Sprint(n.UID)
	}
	line := fmt.Sprintf("%s %-10s %12d %s %q", modeString(n), owner, n.Size,
		time.Unix(0, n.MTime).Local().Format("2006-01-02 15:04:05"), rel)
	if n.Kind == tree.Symlink {
		line += fmt.Sprintf(" -> %q", n.LinkTarget)
	}
	return line
}

func modeString(n tree.Node) string {
	m := fs.FileMode(n.Mode & tree.ModePerm)
	if n.Mode&tree.ModeSetuid != 0 {
		m |= fs.ModeSetuid
	}
	if n.Mode&tree.ModeSetgid != 0 {
		m |= fs.ModeSetgid
	}
	if n.Mode&tree.ModeSticky != 0 {
		m |= fs.ModeSticky
	}
	switch n.Kind {
	case tree.Dir:
		m |= fs.ModeDir
	case tree.Symlink:
		m |= fs.ModeSymlink
	}
	return m.String()
}

func nodeJSON(rel string, n tree.Node) map[string]any {
	return map[string]any{"path": rel, "type": n.Kind.String(), "mode": fmt.Sprintf("%04o", n.Mode),
		"uid": n.UID, "gid": n.GID, "user": n.User, "group": n.Group, "size": n.Size,
		"mtime": time.Unix(0, n.MTime).UTC().Format(time.RFC3339Nano), "link_target": n.LinkTarget}
}
