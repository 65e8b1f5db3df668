package e2e

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/backend/location"
	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
	"bbvault/test/fixture"
)

// exitDamaged is restore's exit code when damage cost some files.
const exitDamaged = 9

// partialPrefix starts the temporary name of a file being restored.
const partialPrefix = ".bbvault-partial-"

// TestRestoreDamageMatrix damages a data pack or the tree pack of a
// repository (a byte flipped, the pack cut in half, the pack deleted), on a
// local directory and on MinIO, and restores on a new host: restore exits
// 9, names exactly the files and directories that needed the damaged bytes,
// brings back every other file byte for byte, and leaves nothing partial.
func TestRestoreDamageMatrix(t *testing.T) {
	h := newHome(t, fixture.Options{PullRequests: 50, Attachments: 60, Commits: 10})
	for _, dest := range []string{"local", "s3"} {
		for _, typ := range []blob.Type{blob.Data, blob.Tree} {
			for _, how := range []string{"flip", "truncate", "delete"} {
				t.Run(dest+"/"+typ.String()+"/"+how, func(t *testing.T) {
					v := localVault(t)
					if dest == "s3" {
						v = s3Vault(t)
					}
					checkDamagedRestore(t, v, h, typ, how)
				})
			}
		}
	}
}

func checkDamagedRestore(t *testing.T, v *vault, h *fixture.Home, typ blob.Type, how string) {
	v.ok("init", "--pack-size", "4")
	v.snapshot("--home", h.Root)
	be, r, root := openVault(t, v)
	name, lo, hi := damageSite(t, r, root, typ, how)
	lost := lostBy(t, r, root, name, lo, hi)
	damageObject(t, be, name, how, lo)

	target := filepath.Join(t.TempDir(), "home")
	res := v.with(t, "BBVAULT_CACHE_DIR="+t.TempDir()).run("restore", "latest", "--target", target)
	if res.code != exitDamaged {
		t.Fatalf("restore of a damaged repository: want exit code %d: %v", exitDamaged, res)
	}
	if got := listedFailures(res.stderr); !maps.Equal(got, lost) {
		t.Errorf("restore listed as not restored:\n%v\nwant exactly:\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(lost)))
	}
	checkNothingPartial(t, target, lost)
	fixture.CompareWith(t, h.Root, target, fixture.CompareOptions{Excluded: func(rel string) bool {
		return fixture.DefaultExcluded(rel) || isLost(rel, lost)
	}})
	t.Logf("%d paths lost to the damage", len(lost))
}

// openVault opens v's repository from the test, as a new host would, and
// returns its backend, the repository and the latest snapshot's root tree.
func openVault(t *testing.T, v *vault) (backend.Backend, *repo.Repository, blob.ID) {
	t.Helper()
	ctx := context.Background()
	be, err := location.Open(ctx, v.env["BBVAULT_REPOSITORY"], location.Options{Getenv: func(k string) string { return v.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	r, err := repo.Open(ctx, be, []byte(v.env["BBVAULT_PASSWORD"]), repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	m, err := r.FindSnapshot(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	return be, r, *m.Tree
}

// damageSite picks the object and the byte range to damage: the largest
// pack of the type, or for a flipped tree byte, the middle of repository
// 1's listing.
func damageSite(t *testing.T, r *repo.Repository, root blob.ID, typ blob.Type, how string) (string, int64, int64) {
	t.Helper()
	ctx := context.Background()
	var pack index.Pack
	err := r.Packs().Indexed(ctx, func(p index.Pack) error {
		if p.Type == typ && p.Size > pack.Size {
			pack = p
		}
		return nil
	})
	if err != nil || pack.Size == 0 {
		t.Fatalf("no %s pack: %v", typ, err)
	}
	name := packObject(pack.ID)
	switch {
	case how == "delete":
		return name, 0, pack.Size
	case how == "truncate":
		return name, pack.Size / 2, pack.Size
	case typ == blob.Data:
		return name, pack.Size / 3, pack.Size/3 + 1
	}
	dir, err := treewalk.Find(ctx, r, root, fixture.RepoRel(1))
	if err != nil {
		t.Fatal(err)
	}
	locs, err := r.Locate(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(locs[0].Offset) + int64(locs[0].Length)/2
	return packObject(locs[0].Pack), off, off + 1
}

func packObject(id blob.ID) string {
	s := id.String()
	return "data/" + s[:2] + "/" + s
}

// lostBy lists what a restore cannot bring back once bytes [lo, hi) of the
// object name are gone: each file with a blob there, each directory whose
// listing is there (as "dir/", its contents left out); "./" for the root.
func lostBy(t *testing.T, r *repo.Repository, root blob.ID, name string, lo, hi int64) map[string]bool {
	t.Helper()
	ctx := context.Background()
	hit := func(id blob.ID) bool {
		locs, err := r.Locate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		l := locs[0]
		return packObject(l.Pack) == name && int64(l.Offset) < hi && int64(l.Offset)+int64(l.Length) > lo
	}
	if hit(root) {
		return map[string]bool{"./": true}
	}
	lost := map[string]bool{}
	err := treewalk.Walk(ctx, r, root, "", treewalk.Stop, func(p string, n *tree.Node) error {
		switch {
		case n.Kind == tree.Dir && hit(n.Subtree):
			lost[p+"/"] = true
			return treewalk.SkipDir
		case n.Kind == tree.File:
			for _, id := range n.Content {
				if hit(id) {
					lost[p] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lost
}

// damageObject flips the byte at off of the object name, cuts it to off
// bytes, or deletes it.
func damageObject(t *testing.T, be backend.Backend, name, how string, off int64) {
	t.Helper()
	ctx := context.Background()
	if how == "delete" {
		if err := be.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
		return
	}
	rc, err := be.Get(ctx, name, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if how == "flip" {
		data[off] ^= 0x55
	} else {
		data = data[:off]
	}
	if err := be.Put(ctx, name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

// failureLine is a log line of restore naming a path it did not restore.
var failureLine = regexp.MustCompile(`msg="(file not restored|directory contents not restored)" path=("(?:[^"\\]|\\.)*"|\S+)`)

// listedFailures reads the paths restore logged as not restored;
// directories end in "/".
func listedFailures(stderr string) map[string]bool {
	out := map[string]bool{}
	for _, m := range failureLine.FindAllStringSubmatch(stderr, -1) {
		p := m[2]
		if uq, err := strconv.Unquote(p); err == nil {
			p = uq
		}
		if strings.HasPrefix(m[1], "directory") {
			p += "/"
		}
		out[p] = true
	}
	return out
}

// isLost reports whether rel was lost, or is inside a lost directory.
func isLost(rel string, lost map[string]bool) bool {
	if lost[rel] || lost["./"] {
		return true
	}
	for d := range lost {
		if strings.HasSuffix(d, "/") && strings.HasPrefix(rel, d) {
			return true
		}
	}
	return false
}

// checkNothingPartial fails for any temporary file left in target and for
// a lost file found under its real name.
func checkNothingPartial(t *testing.T, target string, lost map[string]bool) {
	t.Helper()
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, p)
		if strings.HasPrefix(d.Name(), partialPrefix) {
			t.Errorf("partial file left: %s", rel)
		}
		if lost[filepath.ToSlash(rel)] {
			t.Errorf("%s was not restored, yet something is under its name", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
