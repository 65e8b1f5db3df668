package relocate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// original is a bitbucket.properties as admins write them: comments of both
// kinds, blank lines, CRLF line endings, a continued line, odd spacing
// around separators, an escaped key, a duplicated key and cluster settings.
const original = "# Bitbucket settings\r\n" +
	"! managed by hand\r\n" +
	"\r\n" +
	"setup.displayName = Bitbucket \\\r\n" +
	"    of Example Corp\r\n" +
	"setup.baseUrl=https://git.example.com\r\n" +
	"jdbc.driver:org.postgresql.Driver\r\n" +
	"jdbc.url=jdbc:postgresql://olddb:5432/bitbucket-first\r\n" +
	"   jdbc.url   =   jdbc:postgresql://olddb.example.com:5432/bitbucket\r\n" +
	"jdbc.user bitbucket\r\n" +
	"jdbc.password=0ld\\\\secret\r\n" +
	"key\\ with\\=escapes=value\r\n" +
	"hazelcast.network.tcpip=true\r\n" +
	"hazelcast.network.tcpip.members=10.0.0.1:5701,\\\r\n" +
	"   10.0.0.2:5701\r\n" +
	"hazelcast.group.name=bitbucket-prod\r\n" +
	"hazelcast.group.password=cluster-s3cret\r\n" +
	"plugin.search.elasticsearch.baseurl=http://es:9200/"

const reason = "bbvault restore of snapshot 1a2b3c4d"

func TestEditChangesTheDatabaseKeysAndNothingElse(t *testing.T) {
	pw := `new"pä\ss`
	out, res := EditProperties([]byte(original), Edit{Reason: reason,
		JDBC: &JDBC{URL: "jdbc:postgresql://newdb:5433/bitbucket?sslmode=require", User: "bb_new", Password: &pw}})
	want := "# Bitbucket settings\r\n" +
		"! managed by hand\r\n" +
		"\r\n" +
		"setup.displayName = Bitbucket \\\r\n" +
		"    of Example Corp\r\n" +
		"setup.baseUrl=https://git.example.com\r\n" +
		"jdbc.driver:org.postgresql.Driver\r\n" +
		"# " + reason + ": the previous jdbc.url, replaced below\r\n" +
		"#jdbc.url=jdbc:postgresql://olddb:5432/bitbucket-first\r\n" +
		"# " + reason + ": the previous jdbc.url, replaced below\r\n" +
		"#   jdbc.url   =   jdbc:postgresql://olddb.example.com:5432/bitbucket\r\n" +
		"jdbc.url=jdbc:postgresql://newdb:5433/bitbucket?sslmode=require\r\n" +
		"# " + reason + ": the previous jdbc.user, replaced below\r\n" +
		"#jdbc.user bitbucket\r\n" +
		"jdbc.user=bb_new\r\n" +
		"# " + reason + ": the previous jdbc.password, replaced below\r\n" +
		"#jdbc.password=0ld\\\\secret\r\n" +
		"jdbc.password=new\"p\\u00e4\\\\ss\r\n" +
		"key\\ with\\=escapes=value\r\n" +
		"hazelcast.network.tcpip=true\r\n" +
		"hazelcast.network.tcpip.members=10.0.0.1:5701,\\\r\n" +
		"   10.0.0.2:5701\r\n" +
		"hazelcast.group.name=bitbucket-prod\r\n" +
		"hazelcast.group.password=cluster-s3cret\r\n" +
		"plugin.search.elasticsearch.baseurl=http://es:9200/"
	if string(out) != want {
		t.Errorf("edited file:\n%q\nwant:\n%q", out, want)
	}
	if res.JDBCURL != "jdbc:postgresql://olddb.example.com:5432/bitbucket" || res.User != "bitbucket" ||
		res.BaseURL != "https://git.example.com" {
		t.Errorf("found jdbc.url %q, user %q, base URL %q", res.JDBCURL, res.User, res.BaseURL)
	}
	wantChanges := []Change{
		{Key: KeyJDBCURL, Action: "set", Old: "jdbc:postgresql://olddb.example.com:5432/bitbucket", New: "jdbc:postgresql://newdb:5433/bitbucket?sslmode=require"},
		{Key: KeyJDBCUser, Action: "set", Old: "bitbucket", New: "bb_new"},
		{Key: KeyJDBCPassword, Action: "set", Old: masked, New: masked},
	}
	assertChanges(t, res.Changes, wantChanges)
	assertReadsBack(t, out, map[string]string{KeyJDBCPassword: pw, "key with=escapes": "value",
		"setup.displayName": "Bitbucket of Example Corp", "hazelcast.network.tcpip.members": "10.0.0.1:5701,10.0.0.2:5701"})
}

func TestEditListsAndStripsClusterSettings(t *testing.T) {
	same, res := EditProperties([]byte(original), Edit{Reason: reason})
	if string(same) != original || len(res.Changes) != 0 {
		t.Errorf("an edit with nothing to do changed the file (%d changes):\n%q", len(res.Changes), same)
	}
	wantCluster := []Setting{{"hazelcast.network.tcpip", "true"}, {"hazelcast.network.tcpip.members", "10.0.0.1:5701,10.0.0.2:5701"},
		{"hazelcast.group.name", "bitbucket-prod"}, {"hazelcast.group.password", masked}}
	if len(res.Cluster) != len(wantCluster) {
		t.Fatalf("cluster settings %v, want %v", res.Cluster, wantCluster)
	}
	for i := range wantCluster {
		if res.Cluster[i] != wantCluster[i] {
			t.Errorf("cluster setting %d: %v, want %v", i, res.Cluster[i], wantCluster[i])
		}
	}
	out, res := EditProperties([]byte(original), Edit{Reason: reason, StripCluster: true})
	stripped := strings.Replace(original, "hazelcast.network.tcpip=true\r\n",
		"# "+reason+": cluster setting of the old instance, commented out\r\n#hazelcast.network.tcpip=true\r\n", 1)
	stripped = strings.Replace(stripped, "hazelcast.network.tcpip.members=10.0.0.1:5701,\\\r\n   10.0.0.2:5701\r\n",
		"# "+reason+": cluster setting of the old instance, commented out\r\n#hazelcast.network.tcpip.members=10.0.0.1:5701,\\\r\n#   10.0.0.2:5701\r\n", 1)
	for _, l := range []string{"hazelcast.group.name=bitbucket-prod\r\n", "hazelcast.group.password=cluster-s3cret\r\n"} {
		stripped = strings.Replace(stripped, l, "# "+reason+": cluster setting of the old instance, commented out\r\n#"+l, 1)
	}
	if string(out) != stripped {
		t.Errorf("stripped file:\n%q\nwant:\n%q", out, stripped)
	}
	if len(res.Changes) != 4 || res.Changes[3].Old != masked {
		t.Errorf("changes %v, want the four cluster settings, the password masked", res.Changes)
	}
	assertReadsBack(t, out, map[string]string{"hazelcast.group.name": "", "plugin.search.elasticsearch.baseurl": "http://es:9200/"})
}

// TestEditAddsMissingKeysAtTheEnd: a file without jdbc settings (a home
// whose database came from the setup wizard's defaults) gets them
// appended, after a line ending the file lacked.
func TestEditAddsMissingKeysAtTheEnd(t *testing.T) {
	in := "setup.baseUrl=http://bb:7990"
	out, res := EditProperties([]byte(in), Edit{Reason: reason, JDBC: &JDBC{URL: "jdbc:postgresql://db:5432/bb", User: "bb"}})
	want := in + "\n# " + reason + ": jdbc.url added\njdbc.url=jdbc:postgresql://db:5432/bb\n" +
		"# " + reason + ": jdbc.user added\njdbc.user=bb\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	assertChanges(t, res.Changes, []Change{{Key: KeyJDBCURL, Action: "added", New: "jdbc:postgresql://db:5432/bb"},
		{Key: KeyJDBCUser, Action: "added", New: "bb"}})
}

func TestEditFileReplacesOnlyWhenChangedAndKeepsMode(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "shared", "bitbucket.properties")
	if _, err := EditFile(home, Edit{Reason: reason}); err != ErrNoProperties {
		t.Errorf("EditFile without the file: %v, want ErrNoProperties", err)
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(original), 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if _, err := EditFile(home, Edit{Reason: reason}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !os.SameFile(before, after) {
		t.Error("EditFile with nothing to change replaced the file")
	}
	old := time.Date(2021, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := os.Chtimes(filepath.Dir(path), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := EditFile(home, Edit{Reason: reason, StripCluster: true}); err != nil {
		t.Fatal(err)
	}
	if dir, _ := os.Stat(filepath.Dir(path)); !dir.ModTime().Equal(old) {
		t.Errorf("the directory's mtime is %v after the edit, want %v kept", dir.ModTime(), old)
	}
	after, _ := os.Stat(path)
	if after.Mode().Perm() != 0o640 {
		t.Errorf("mode after the edit %v, want 0640", after.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files left beside bitbucket.properties: %v", entries)
	}
}

func assertChanges(t *testing.T, got, want []Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// assertReadsBack parses out again and checks the effective value (the
// last one) of some keys; "" means the key must not be set.
func assertReadsBack(t *testing.T, out []byte, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, l := range parseProperties(out) {
		if l.key != "" {
			got[l.key] = l.value
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s reads back as %q, want %q", k, got[k], v)
		}
	}
}
