package standin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sync/errgroup"
)

// sampleFiles are the files of a sample home besides its repositories:
// configuration that a backup keeps, and caches, temporary files and logs
// that it may leave out.
func sampleFiles() map[string]string {
	return map[string]string{
		"shared/bitbucket.properties":                 "# written by the bbvault stand-in\nsetup.displayName=Stand-in\n",
		"shared/data/attachments/README":              "attachments live here\n",
		"shared/config/ssh-server-keys.pem":           "not a real key\n",
		"log/atlassian-bitbucket.log":                 "INFO stand-in started\n",
		"caches/indexes/cache.bin":                    "cache\n",
		"tmp/upload-1.tmp":                            "temporary\n",
		"shared/search/data/index.bin":                "search index\n",
		"shared/plugins/.osgi-plugins/felix/cache.db": "plugin cache\n",
	}
}

// MakeHome creates a sample Bitbucket home in dir with repos bare git
// repositories, shared/data/repositories/1..repos, each with one commit on
// refs/heads/master, plus a few configuration, cache and log files. dir may
// exist but must hold no repositories yet.
func MakeHome(ctx context.Context, dir string, repos int) error {
	if repos < 1 {
		return fmt.Errorf("standin: a sample home needs at least one repository, not %d", repos)
	}
	bin, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("standin: making a sample home needs git: %w", err)
	}
	if err := checkNoRepos(dir); err != nil {
		return err
	}
	if err := writeSampleFiles(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(reposDir(dir), 0o755); err != nil {
		return fmt.Errorf("standin: %w", err)
	}
	g := git{bin: bin}
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(4)
	for id := 1; id <= repos; id++ {
		eg.Go(func() error { return g.initRepo(ctx, repoDir(dir, id), id) })
	}
	return eg.Wait()
}

func checkNoRepos(home string) error {
	entries, err := os.ReadDir(reposDir(home))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("standin: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("standin: %s already holds repositories: make the sample home in an empty directory", reposDir(home))
	}
	return nil
}

func writeSampleFiles(home string) error {
	for name, content := range sampleFiles() {
		path := filepath.Join(home, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("standin: %w", err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("standin: %w", err)
		}
	}
	return nil
}

// initRepo creates a bare repository at dir with a first commit.
func (g git) initRepo(ctx context.Context, dir string, id int) error {
	if _, err := g.run(ctx, dir, "", "init", "--bare", "--quiet", "--initial-branch=master"); err != nil {
		return err
	}
	readme := fmt.Sprintf("# Repository %d\n\nCreated by the bbvault stand-in.\n", id)
	_, err := g.commit(ctx, dir, "", "README.md", readme, "Initial commit")
	return err
}
