package damagetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/backend/local"
	"bbvault/internal/backend/s3"
	"bbvault/internal/maintenance"
	"bbvault/test/clitest"
	"bbvault/test/testenv"
)

// A damage matrix: each kind of object (a data pack, a tree pack, an index
// object, a manifest) damaged each way (a byte flipped, truncated,
// deleted), seen from the host that wrote the repository and from a new
// host, on a local and on an S3 repository, driven through the command
// line as an admin would. BBVAULT_LONG_TESTS=1 repeats every cell with
// other damage offsets.

var (
	damagedObjects = []string{"data-pack", "tree-pack", "index", "manifest"}
	damageWays     = []string{"flip", "truncate", "delete"}
)

// matrixTarget makes a repository location for one trial: the CLI's
// location and environment, and a backend on the same objects to damage.
type matrixTarget func(t *testing.T) (location string, env []string, be backend.Backend)

func localTarget(t *testing.T) (string, []string, backend.Backend) {
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	be, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, nil, be
}

func minioTarget(t *testing.T) (string, []string, backend.Backend) {
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t)
	be, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: "bb",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	env := []string{"AWS_ENDPOINT_URL=" + srv.URL(), "AWS_ACCESS_KEY_ID=" + srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=us-east-1"}
	return "s3://" + bucket + "/bb", env, be
}

func TestDamageMatrixLocal(t *testing.T) { runMatrix(t, localTarget, []bool{false, true}) }

// TestDamageMatrixMinIO runs every cell from a new host; the short version
// leaves out the writing host's view, which differs from a local
// repository's in nothing S3 does.
func TestDamageMatrixMinIO(t *testing.T) {
	testenv.MinIO(t) // fails under CI, skips otherwise, when MinIO is missing
	hosts := []bool{true}
	if os.Getenv("BBVAULT_LONG_TESTS") != "" {
		hosts = []bool{false, true}
	}
	runMatrix(t, minioTarget, hosts)
}

func runMatrix(t *testing.T, target matrixTarget, hosts []bool) {
	rounds := 1
	if os.Getenv("BBVAULT_LONG_TESTS") != "" {
		rounds = 10
	}
	bin := testenv.Bbvault(t)
	home := newHome(t, 80)
	trials := map[string]int{}
	for round := range rounds {
		for _, object := range damagedObjects {
			for _, way := range damageWays {
				for _, newHost := range hosts {
					name := fmt.Sprintf("%s/%s/new-host=%v/round%d", object, way, newHost, round)
					t.Run(name, func(t *testing.T) {
						tr := &trial{t: t, bin: bin, home: home, object: object, way: way, newHost: newHost,
							rng: rand.New(rand.NewPCG(uint64(round), 11))}
						tr.run(target)
					})
					trials[object+"/"+way]++
				}
			}
		}
	}
	t.Logf("trials per damage kind: %v", trials)
}

// trial is one cell of the matrix.
type trial struct {
	t       *testing.T
	bin     string
	home    string
	object  string
	way     string
	newHost bool
	rng     *rand.Rand
	c       *clitest.CLI
	be      backend.Backend
}

func (tr *trial) run(target matrixTarget) {
	t := tr.t
	location, env, be := target(t)
	tr.be = be
	tr.c = newCLIAt(t, tr.bin, location, env...)
	initRepo(t, be)
	tr.c.MustRun("snapshot", "--home", tr.home)
	tr.c.MustRun("snapshot", "--home", tr.home)
	want := clitest.Digests(t, tr.home)
	victim := tr.victim()
	tr.damage(victim)
	if tr.newHost {
		tr.c.SetCache(filepath.Join(t.TempDir(), "new-host-cache"))
	}
	tr.everyCommandEnds()
	tr.repair(victim)
	tr.c.MustRun("snapshot", "--home", tr.home)
	tr.mustBeClean("after repair and a snapshot")
	target2, code, errOut := tr.c.Restore("latest")
	if code != 0 {
		t.Fatalf("restore latest after repair: exit code %d\n%s", code, errOut)
	}
	if got := clitest.Digests(t, target2); !clitest.Same(got, want) {
		t.Fatalf("restore latest after repair does not give back the home")
	}
	tr.c.MustRun("prune", "--keep", "1", "--max-unused", "0%")
	tr.mustBeClean("after prune")
}

// victim picks the object to damage.
func (tr *trial) victim() string {
	t := tr.t
	r := openRepo(t, tr.be)
	snaps, err := r.Snapshots(context.Background())
	if err != nil || len(snaps) != 2 {
		t.Fatalf("want 2 snapshots: %v, %v", snaps, err)
	}
	switch tr.object {
	case "data-pack":
		node := fileOf(t, r, snaps[0], "shared/big.pack")
		return packObject(locationOf(t, r, node.Content[0]).Pack)
	case "tree-pack":
		return packObject(locationOf(t, r, *snaps[0].Tree).Pack)
	case "index":
		names := objectNames(t, tr.be, "index/")
		return names[tr.rng.IntN(len(names))]
	}
	return "snapshots/" + snaps[0].ID
}

// damage flips a byte, truncates or deletes the object, at a random place.
func (tr *trial) damage(name string) {
	t := tr.t
	ctx := context.Background()
	if tr.way == "delete" {
		if err := tr.be.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
		return
	}
	b := readObject(t, tr.be, name)
	at := 1 + tr.rng.IntN(len(b)-1)
	if tr.way == "flip" {
		b[at] ^= 0xff
	} else {
		b = b[:at]
	}
	putObject(t, tr.be, name, b)
}

// everyCommandEnds runs what an admin would on the damaged repository:
// each must end (no hang, no panic) with success or exit code 9, and check
// --read-data must find the damage (a deleted manifest is a forgotten
// snapshot: nothing to find).
func (tr *trial) everyCommandEnds() {
	t := tr.t
	for _, args := range [][]string{{"snapshots"}, {"ls", "latest"}, {"check"}, {"check", "--read-data"},
		{"restore", "latest", "--target", filepath.Join(t.TempDir(), "r")}, {"prune", "--keep", "5", "--dry-run"},
		{"forget", "--dry-run", "latest"}, {"repair", "--dry-run"}} {
		_, errOut, code := tr.c.Run(args...)
		if code != 0 && code != 9 {
			t.Errorf("bbvault %s on a damaged repository: exit code %d, want 0 or 9\n%s", strings.Join(args, " "), code, errOut)
		}
		if args[0] == "check" && len(args) == 2 && code != 9 && !(tr.object == "manifest" && tr.way == "delete") {
			t.Errorf("check --read-data did not find the damage (exit code %d)", code)
		}
	}
	tr.logAffected()
}

// logAffected logs how many of the home's files check names as damaged,
// in any snapshot, for the figures of the damage matrix.
func (tr *trial) logAffected() {
	out, _, _ := tr.c.Run("check", "--json")
	var res maintenance.CheckResult
	decodeJSON(tr.t, out, &res)
	paths := map[string]bool{}
	kinds := map[string]bool{}
	for _, p := range res.Problems {
		kinds[p.Kind] = true
		for _, a := range p.Affected {
			for _, path := range a.Paths {
				paths[path] = true
			}
		}
	}
	tr.t.Logf("damage found: %v; paths named as lost: %d of %d files", slices.Sorted(maps.Keys(kinds)), len(paths), len(clitest.Digests(tr.t, tr.home)))
}

// repair runs bbvault repair. It may leave two things (exit code 9,
// naming them): a manifest that cannot be read and that this host has not
// cached (then repair --forget removes it), and a snapshot whose root
// directory is lost (the next snapshot of the same home brings it back).
func (tr *trial) repair(victim string) {
	t := tr.t
	_, errOut, code := tr.c.Run("repair")
	unreadable := tr.object == "manifest" && tr.way != "delete" && tr.newHost
	switch {
	case unreadable && (code != 9 || !strings.Contains(errOut, strings.TrimPrefix(victim, "snapshots/")[:8])):
		t.Fatalf("repair beside a manifest that cannot be read: exit code %d, want 9 naming it\n%s", code, errOut)
	case unreadable:
		tr.c.MustRun("repair", "--forget")
	case code == 9 && strings.Contains(errOut, "root directory and every stream are lost"):
		return // nothing to salvage now; the snapshot that follows brings it back
	case code != 0:
		t.Fatalf("repair: exit code %d\n%s", code, errOut)
	}
	if out := tr.c.MustRun("repair"); !strings.Contains(out, "nothing repaired") {
		t.Errorf("a second repair still found work:\n%s", out)
	}
}

func (tr *trial) mustBeClean(when string) {
	tr.t.Helper()
	if out, errOut, code := tr.c.Run("check", "--read-data"); code != 0 {
		tr.t.Fatalf("check --read-data %s: exit code %d\n%s%s", when, code, out, errOut)
	}
}
