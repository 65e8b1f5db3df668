package standin

import (
	"context"
	"os/exec"
	"testing"

	"bbvault/test/testenv"
)

// BenchmarkPush measures one push of a live stand-in: five git plumbing
// commands, and the database row when there is a database. It bounds how
// fast a demo home can change.
func BenchmarkPush(b *testing.B) {
	for _, withDB := range []bool{false, true} {
		name := "git"
		if withDB {
			name = "git+postgres"
		}
		b.Run(name, func(b *testing.B) {
			p := benchPusher(b, withDB)
			defer p.close(context.Background())
			for b.Loop() {
				if err := p.push(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchPusher(b *testing.B, withDB bool) *pusher {
	testenv.Git(b)
	home := b.TempDir()
	if err := MakeHome(b.Context(), home, 4); err != nil {
		b.Fatal(err)
	}
	bin, _ := exec.LookPath("git")
	repos, err := listRepos(home)
	if err != nil {
		b.Fatal(err)
	}
	p := &pusher{git: git{bin: bin}, repos: repos}
	if withDB {
		pg := testenv.Postgres(b)
		if p.db, err = openPushes(b.Context(), pg.DSN(pg.NewDB(b))); err != nil {
			b.Fatal(err)
		}
	}
	return p
}
