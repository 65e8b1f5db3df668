package main

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
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
	dir, err := treewalk.Find(ctx, r, *m.Tree, p)
	if err != nil {
		return err
	}
	rows := []lsEntryJSON{}
	err = treewalk.Walk(ctx, r, dir, p, nil, func(rel string, n *tree.Node) error {
		if g.jsonOut {
			rows = append(rows, newLsEntryJSON(rel, *n))
		} else {
			g.printf("%s\n", lsLine(rel, *n))
		}
		if !recursive {
			return treewalk.SkipDir
		}
		return nil
	})
	if err == nil && g.jsonOut {
		err = g.printJSON(rows)
	}
	return err
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
