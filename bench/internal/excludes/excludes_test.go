package excludes

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"bbvault/internal/homewalk"
)

// The benchmark is only fair if the peers leave out exactly what bbvault
// leaves out by default.
func TestPatternsAreBbvaultDefaults(t *testing.T) {
	got, want := Patterns(), homewalk.DefaultExcludes()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("bench excludes differ from bbvault's defaults:\n bench:   %q\n bbvault: %q", got, want)
	}
}

func TestExcluded(t *testing.T) {
	cases := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"caches", true, true},
		{"caches/idx/a.bin", false, true},
		{"caches", false, false}, // a file called caches is not the caches directory
		{"shared/caches/x", false, true},
		{".lock", false, true},
		{"shared/.lock", false, true},
		{"shared/data/db.h2.db", false, true},
		{"shared/data/repositories/1/HEAD", false, false},
		{"shared/plugins/.osgi-plugins/felix/cache", false, true},
		{"shared/plugins/installed-plugins/a.jar", false, false},
		{"shared/search/data/index", false, true},
		{"log/atlassian-bitbucket.log", false, true},
		{"shared/data/attachments/1/a.png", false, false},
		{"shared/bitbucket.properties", false, false},
		{"shared/data/repositories/1/caches/x", false, false}, // anchored: only at the root
	}
	for _, c := range cases {
		if got := Excluded(c.rel, c.isDir); got != c.want {
			t.Errorf("Excluded(%q, dir=%v) = %v, want %v", c.rel, c.isDir, got, c.want)
		}
	}
}

func TestResticPatterns(t *testing.T) {
	got := ResticPatterns("/srv/home")
	if !slices.Contains(got, "/srv/home/shared/plugins/.*") || !slices.Contains(got, "/srv/home/caches") {
		t.Fatalf("restic patterns lack the anchored forms: %q", got)
	}
}

// The DIY script carries its own copy of the list (it must run alone);
// it must not drift.
func TestDIYScriptExcludes(t *testing.T) {
	data, err := os.ReadFile("../../diy-backup.sh")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`--exclude=(\S+)`).FindAllStringSubmatch(string(data), -1) {
		got = append(got, m[1])
	}
	want := Patterns()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("diy-backup.sh excludes %q, want %q", got, want)
	}
}
