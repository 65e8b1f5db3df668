package homegen

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// writeFile writes content to home/rel, creating directories.
func writeFile(home, rel string, content []byte) error {
	path := filepath.Join(home, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("homegen: %w", err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return fmt.Errorf("homegen: %w", err)
	}
	return nil
}

// randomFile writes size random bytes derived from seed to home/rel.
func randomFile(home, rel string, seed uint64, size int) error {
	var buf bytes.Buffer
	randomBytes(&buf, seed, size)
	return writeFile(home, rel, buf.Bytes())
}

// textFile writes about size bytes of generated source-like text.
func textBlob(seed uint64, size int) []byte {
	var buf bytes.Buffer
	for i := uint64(0); buf.Len() < size; i++ {
		textBlock(&buf, mix(seed, i))
	}
	return buf.Bytes()[:size]
}

// writeConfig writes the small configuration files of shared/.
func writeConfig(home string) error {
	files := map[string]string{
		"shared/bitbucket.properties": "setup.displayName=Bench\nsetup.baseUrl=http://127.0.0.1:7990\n" +
			"jdbc.driver=org.postgresql.Driver\njdbc.url=jdbc:postgresql://127.0.0.1:5432/bitbucket\njdbc.user=bitbucket\n",
		"shared/config/ssh-server-keys.pem": "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n",
		"shared/config/ssh-server-keys.pub": "ssh-rsa AAAAnotarealkey bench\n",
		".lock":                             "12345@bench\n",
	}
	for rel, content := range files {
		if err := writeFile(home, rel, []byte(content)); err != nil {
			return err
		}
	}
	return nil
}

// writeAttachments writes random binary attachments (images, archives) of
// about budget bytes, filed by repository as Bitbucket files them.
func writeAttachments(home string, budget int64, repos int, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, 0xa77ac4))
	n := 0
	for written := int64(0); written < budget || n < 3; n++ {
		size := attachmentSize(rng)
		rel := fmt.Sprintf("shared/data/attachments/%d/%02x/%d-%s.%s", 1+rng.IntN(repos), rng.IntN(256), n,
			pick(rng, words), [...]string{"png", "jpg", "zip", "pdf", "log"}[rng.IntN(5)])
		if err := randomFile(home, rel, rng.Uint64(), size); err != nil {
			return n, err
		}
		written += int64(size)
	}
	return n, nil
}

// attachmentSize draws a size between 1 KiB and 2 MiB, most of them small.
func attachmentSize(rng *rand.Rand) int {
	f := rng.Float64()
	return 1<<10 + int(f*f*f*float64(2<<20))
}

// writePlugins writes plugin jars (zip files of class-like entries) of about
// budget bytes into shared/plugins/installed-plugins.
func writePlugins(home string, budget int64, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, 0x91a6))
	n := 0
	for written := int64(0); written < budget || n < 2; n++ {
		jar, err := pluginJar(rng, int(min(max(budget/12, 64<<10), 6<<20)))
		if err != nil {
			return n, err
		}
		rel := fmt.Sprintf("shared/plugins/installed-plugins/plugin_%d_com.example.%s.jar", 1000+n, pick(rng, words))
		if err := writeFile(home, rel, jar); err != nil {
			return n, err
		}
		written += int64(len(jar))
	}
	return n, nil
}

// pluginJar builds one jar of about size bytes: class-like entries, half
// compressible, half not.
func pluginJar(rng *rand.Rand, size int) ([]byte, error) {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	entries := map[string][]byte{"META-INF/MANIFEST.MF": []byte("Manifest-Version: 1.0\n"),
		"atlassian-plugin.xml": []byte("<atlassian-plugin key=\"com.example\"/>\n")}
	for i := 0; out.Len() < size/2 && i < 2000; i++ {
		var b bytes.Buffer
		b.Write(textBlob(rng.Uint64(), 4<<10))
		randomBytes(&b, rng.Uint64(), 4<<10)
		entries[fmt.Sprintf("com/example/%s/%s%d.class", pick(rng, words), title(pick(rng, words)), i)] = b.Bytes()
		if len(entries)%64 == 0 {
			if err := flushEntries(zw, entries); err != nil {
				return nil, err
			}
		}
	}
	if err := flushEntries(zw, entries); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("homegen: jar: %w", err)
	}
	return out.Bytes(), nil
}

// flushEntries writes the pending entries to the zip and forgets them.
func flushEntries(zw *zip.Writer, entries map[string][]byte) error {
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			return fmt.Errorf("homegen: jar: %w", err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("homegen: jar: %w", err)
		}
		delete(entries, name)
	}
	return zw.Flush()
}

// excludedFiles are what a backup leaves out, with their share of the
// excluded bytes and whether they are text (logs) or binary.
var excludedFiles = []struct {
	dir   string
	share float64
	text  bool
}{
	{"caches/indexes", 0.30, false},
	{"log", 0.25, true},
	{"shared/search/data/nodes/0/indices", 0.15, false},
	{"tmp", 0.10, false},
	{"export", 0.10, false},
	{"shared/plugins/.osgi-plugins/felix/felix-cache", 0.05, false},
	{"shared/caches/bundles", 0.05, false},
}

// writeExcluded fills the directories backups leave out with about budget
// bytes.
func writeExcluded(home string, budget int64, seed uint64) error {
	for i, e := range excludedFiles {
		size := int64(float64(budget) * e.share)
		files := int(max(1, min(size/(256<<10), 40)))
		for f := range files {
			rel := fmt.Sprintf("%s/file-%d.dat", e.dir, f)
			if e.text {
				rel = fmt.Sprintf("%s/atlassian-bitbucket-%d.log", e.dir, f)
			}
			if err := excludedFile(home, rel, e.text, mix(seed, uint64(i), uint64(f)), int(size)/files); err != nil {
				return err
			}
		}
	}
	return nil
}

func excludedFile(home, rel string, text bool, seed uint64, size int) error {
	if text {
		return writeFile(home, rel, textBlob(seed, max(size, 1)))
	}
	return randomFile(home, rel, seed, max(size, 1))
}
