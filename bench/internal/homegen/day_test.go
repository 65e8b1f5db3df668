package homegen

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDayOfWorkPushesAndOpensPullRequests(t *testing.T) {
	o := smallOptions(t)
	o.Bytes, o.Repos = 6<<20, 8
	ctx := context.Background()
	if _, err := Generate(ctx, o); err != nil {
		t.Fatal(err)
	}
	heads := map[int]string{}
	for id := 1; id <= o.Repos; id++ {
		heads[id] = revParse(t, o, id)
	}
	d, err := DayOfWork(ctx, o, DayOptions{Day: 1, RepoPercent: 25, PullRequests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Repos) != 2 || d.Commits < 2*2 {
		t.Fatalf("day pushed %d commits to %v; want 2 repositories (25%% of 8) with at least 2 commits each", d.Commits, d.Repos)
	}
	for _, id := range d.Repos {
		if revParse(t, o, id) == heads[id] {
			t.Errorf("repository %d was pushed to but its master did not move", id)
		}
		fsck(t, o, id)
	}
	if d.BytesAfter <= d.BytesBefore || d.FilesAfter <= d.FilesBefore {
		t.Errorf("backed-up home went from %d files/%d bytes to %d/%d; a day of work adds some",
			d.FilesBefore, d.BytesBefore, d.FilesAfter, d.BytesAfter)
	}
	refs := filepath.Join(o.Dir, reposDir, itoa(refsRepo(t, o)), "refs", "pull-requests", itoa(o.PullRequests+5), "from")
	if _, err := os.Stat(refs); err != nil {
		t.Errorf("the day's last pull request ref %s is missing", refs)
	}
}

func TestSmallPushLandsAsLooseObjects(t *testing.T) {
	o := smallOptions(t)
	o.Bytes, o.Repos = 4<<20, 5
	ctx := context.Background()
	if _, err := Generate(ctx, o); err != nil {
		t.Fatal(err)
	}
	before, err := Summarize(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// A tiny push writes fewer than receive.unpackLimit objects.
	if _, err := DayOfWork(ctx, o, DayOptions{Day: 2, RepoPercent: 1, PushBytes: 8 << 10, PullRequests: 1}); err != nil {
		t.Fatal(err)
	}
	after, err := Summarize(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if after.LooseObjects <= before.LooseObjects || after.Packs != before.Packs {
		t.Fatalf("loose objects %d -> %d, packs %d -> %d; a small push should add loose objects only",
			before.LooseObjects, after.LooseObjects, before.Packs, after.Packs)
	}
}

func revParse(t *testing.T, o Options, id int) string {
	t.Helper()
	out, err := exec.Command(o.Git, "--git-dir="+filepath.Join(o.Dir, reposDir, itoa(id)), "rev-parse", "refs/heads/master").Output()
	if err != nil {
		t.Fatalf("rev-parse in repository %d: %v", id, err)
	}
	return strings.TrimSpace(string(out))
}

func fsck(t *testing.T, o Options, id int) {
	t.Helper()
	out, err := exec.Command(o.Git, "--git-dir="+filepath.Join(o.Dir, reposDir, itoa(id)), "fsck", "--no-progress").CombinedOutput()
	if err != nil {
		t.Errorf("git fsck of repository %d: %v\n%s", id, err, out)
	}
}

func refsRepo(t *testing.T, o Options) int {
	for _, s := range plan(o.withDefaults()) {
		if s.Kind == kindRefs {
			return s.ID
		}
	}
	t.Fatal("no refs repository in the plan")
	return 0
}
