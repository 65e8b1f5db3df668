package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"bbvault/internal/config"
)

// doc is one decoded YAML document.
type doc = map[string]any

// readDocs decodes every document of the manifests in kubernetes/, by kind.
func readDocs(t *testing.T) map[string]doc {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byKind := map[string]doc{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var d doc
			if err := dec.Decode(&d); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := d["kind"].(string)
			if kind == "" || d["apiVersion"] == nil {
				t.Fatalf("%s: a document without kind or apiVersion", f)
			}
			byKind[kind] = d
		}
	}
	return byKind
}

// at walks a path of map keys and list indexes.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch key := p.(type) {
		case string:
			m, ok := v.(doc)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, key)
			}
			v = m[key]
		case int:
			l, ok := v.([]any)
			if !ok || key >= len(l) {
				t.Fatalf("%v: no item %d", path, key)
			}
			v = l[key]
		}
	}
	return v
}

func TestCronJobForbidsOverlapAndMountsSecretsAsFiles(t *testing.T) {
	docs := readDocs(t)
	cj := docs["CronJob"]
	if cj == nil {
		t.Fatal("no CronJob")
	}
	if got := at(t, cj, "spec", "concurrencyPolicy"); got != "Forbid" {
		t.Errorf("concurrencyPolicy = %v, want Forbid", got)
	}
	pod := at(t, cj, "spec", "jobTemplate", "spec", "template", "spec")
	if at(t, pod, "restartPolicy") != "Never" || at(t, cj, "spec", "jobTemplate", "spec", "backoffLimit") != 0 {
		t.Error("a failed snapshot must not be retried in a loop: restartPolicy Never, backoffLimit 0")
	}
	c := at(t, pod, "containers", 0)
	if env := at(t, c, "env"); strings.Contains(yamlString(t, env), "secretKeyRef") {
		t.Error("a secret reaches the environment: mount it as a file")
	}
	if at(t, c, "securityContext", "allowPrivilegeEscalation") != false || at(t, c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Error("container not hardened: allowPrivilegeEscalation false, readOnlyRootFilesystem true")
	}
	if at(t, c, "resources", "requests", "memory") != "512Mi" || at(t, c, "resources", "limits", "memory") != "1Gi" {
		t.Errorf("memory sized from the benchmarks' peak RSS: %v", at(t, c, "resources"))
	}
	mounts := map[string]doc{}
	for _, m := range at(t, c, "volumeMounts").([]any) {
		mounts[m.(doc)["name"].(string)] = m.(doc)
	}
	if mounts["secrets"]["mountPath"] != "/etc/bbvault/secrets" || mounts["bitbucket-home"]["readOnly"] != true {
		t.Errorf("mounts: %v", mounts)
	}
	for _, v := range at(t, pod, "volumes").([]any) {
		if s, ok := v.(doc)["secret"].(doc); ok && s["defaultMode"] != 0o400 {
			t.Errorf("secret files mode %v, want 0400", s["defaultMode"])
		}
	}
}

func yamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfigMapLoadsAndNamesTheSecretFiles: the embedded config passes
// bbvault's own checks, and every *_file it names is a key of the Secret.
func TestConfigMapLoadsAndNamesTheSecretFiles(t *testing.T) {
	docs := readDocs(t)
	text, _ := at(t, docs["ConfigMap"], "data", "bbvault.yaml").(string)
	path := filepath.Join(t.TempDir(), "bbvault.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.LoadOptions{Path: path, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("the ConfigMap's bbvault.yaml: %v", err)
	}
	settings, err := c.Show("snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretKeys, _ := at(t, docs["Secret"], "stringData").(doc)
	named := 0
	for _, s := range settings {
		v, _ := s.Value.(string)
		file, ok := strings.CutPrefix(v, "/etc/bbvault/secrets/")
		if !ok {
			continue
		}
		named++
		if _, ok := secretKeys[file]; !ok {
			t.Errorf("%s names %s, which the Secret does not hold", s.Key, v)
		}
	}
	if named < 4 {
		t.Errorf("only %d settings name secret files", named)
	}
	claim := at(t, docs["PersistentVolumeClaim"], "metadata", "name")
	found := strings.Contains(yamlString(t, docs["CronJob"]), "claimName: "+claim.(string))
	if !found {
		t.Errorf("the CronJob does not mount the state claim %v", claim)
	}
}
