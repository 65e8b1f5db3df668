package standin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MeshRepoBase is the ID of the first repository MakeMeshHomes creates:
// Mesh repositories are numbered apart from the primary home's.
const MeshRepoBase = 1001

// MeshNode is a Bitbucket Mesh node of the stand-in: its name (as the
// admin REST API lists it) and its home, whose repositories the stand-in
// pushes to.
type MeshNode struct {
	Name string
	Home string
}

// meshReposDir is where a Mesh node's home keeps its repositories.
func meshReposDir(home string) string { return filepath.Join(home, "repositories") }

func meshRepoDir(home string, id int) string {
	return filepath.Join(meshReposDir(home), strconv.Itoa(id))
}

// MakeMeshHomes creates the homes of Mesh nodes (each may exist but must
// hold no repositories) with repos bare repositories, MeshRepoBase and on,
// each replicated on replicas of the homes: repository k lives on homes k,
// k+1, ... (modulo their number). Every replica holds the same commits.
func MakeMeshHomes(ctx context.Context, homes []string, repos, replicas int) error {
	if len(homes) == 0 || replicas < 1 || replicas > len(homes) || repos < 1 {
		return fmt.Errorf("standin: %d Mesh repositories with %d replicas on %d homes: want at least one repository and 1..%d replicas",
			repos, replicas, len(homes), len(homes))
	}
	bin, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("standin: making Mesh homes needs git: %w", err)
	}
	g := git{bin: bin}
	for _, h := range homes {
		if err := os.MkdirAll(meshReposDir(h), 0o755); err != nil {
			return fmt.Errorf("standin: %w", err)
		}
		if err := writeMeshFiles(h); err != nil {
			return err
		}
	}
	for k := range repos {
		id := MeshRepoBase + k
		var dirs []string
		for j := range replicas {
			dirs = append(dirs, meshRepoDir(homes[(k+j)%len(homes)], id))
		}
		if err := g.initReplicas(ctx, id, dirs); err != nil {
			return err
		}
	}
	return nil
}

// writeMeshFiles writes what a Mesh home holds besides repositories.
func writeMeshFiles(home string) error {
	files := map[string]string{
		"mesh.properties":        "# written by the bbvault stand-in\n",
		"config/node-id":         filepath.Base(home) + "\n",
		"log/atlassian-mesh.log": "INFO stand-in Mesh node started\n",
	}
	for name, content := range files {
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

// initReplicas creates repository id in its first replica and copies it
// into the others, as Mesh replicates it.
func (g git) initReplicas(ctx context.Context, id int, dirs []string) error {
	if err := checkNoRepo(dirs); err != nil {
		return err
	}
	if err := g.initRepo(ctx, dirs[0], id); err != nil {
		return err
	}
	for _, d := range dirs[1:] {
		if _, err := g.run(ctx, d, "", "init", "--bare", "--quiet", "--initial-branch=master"); err != nil {
			return err
		}
		if err := g.replicate(ctx, dirs[0], d); err != nil {
			return err
		}
	}
	return nil
}

func checkNoRepo(dirs []string) error {
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("standin: %s already exists: make Mesh homes in empty directories", d)
		}
	}
	return nil
}

// replicate brings replica's master to source's, with git fetch: the
// replica then holds the same objects and ref.
func (g git) replicate(ctx context.Context, source, replica string) error {
	_, err := g.run(ctx, replica, "", "fetch", "--quiet", "--no-tags", source, "+"+masterRef+":"+masterRef)
	return err
}

// listMeshRepos returns the repositories of the Mesh homes, each with its
// replicas, by id.
func listMeshRepos(homes []MeshNode) ([]repository, error) {
	byID := map[int]*repository{}
	var order []int
	for _, n := range homes {
		entries, err := os.ReadDir(meshReposDir(n.Home))
		if err != nil {
			return nil, fmt.Errorf("standin: listing Mesh node %s's repositories: %w", n.Name, err)
		}
		for _, e := range entries {
			id, err := strconv.Atoi(e.Name())
			if err != nil || !e.IsDir() {
				continue
			}
			dir := meshRepoDir(n.Home, id)
			if r, ok := byID[id]; ok {
				r.replicas = append(r.replicas, dir)
				continue
			}
			byID[id] = &repository{id: id, dir: dir}
			order = append(order, id)
		}
	}
	var repos []repository
	for _, id := range order {
		repos = append(repos, *byID[id])
	}
	return repos, nil
}

// CheckConsistentMesh is CheckConsistent over a primary home and the homes
// of Mesh nodes: every repository with recorded pushes is in the primary
// home or on at least one node, and every copy of it (each replica) points
// at the commit of its last recorded push.
func CheckConsistentMesh(ctx context.Context, home string, nodes []string, dsn string) error {
	return checkPushes(ctx, home, dsn, func(g git, ctx context.Context, home string, p push) error {
		if p.repoID < MeshRepoBase {
			return g.checkPush(ctx, home, p)
		}
		var errs []error
		found := 0
		for _, n := range nodes {
			dir := meshRepoDir(n, p.repoID)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			found++
			errs = append(errs, g.checkRef(ctx, dir, p))
		}
		if found == 0 {
			return fmt.Errorf("Mesh repository %d has recorded pushes but is on none of the nodes", p.repoID)
		}
		return errors.Join(errs...)
	})
}

// MeshListForm is how the stand-in lists Mesh nodes (Options.MeshList).
type MeshListForm string

// The forms of the list.
const (
	MeshListArray MeshListForm = ""     // a JSON array of nodes
	MeshListPage  MeshListForm = "page" // a page: {"values": [...], "isLastPage": true, ...}
)

// meshNodeJSON is a node as the admin REST API describes it (RestMeshNode).
type meshNodeJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	RPCID        string `json:"rpcId"`
	RPCURL       string `json:"rpcUrl"`
	State        string `json:"state"`
	Offline      bool   `json:"offline"`
	LastSeenDate int64  `json:"lastSeenDate"`
}

// meshNodes answers GET /rest/api/latest/admin/git/mesh/nodes: 404 before
// Bitbucket 8.0, which has no Mesh; the registered nodes after.
func (s *Server) meshNodes(*http.Request) reply {
	if major, _, _ := strings.Cut(s.opts.Version, "."); atoi(major) < 8 {
		return errorReply(http.StatusNotFound, "No resource was found at /rest/api/latest/admin/git/mesh/nodes")
	}
	nodes := make([]meshNodeJSON, 0, len(s.opts.Mesh))
	for i, n := range s.opts.Mesh {
		id := strconv.Itoa(i + 1)
		nodes = append(nodes, meshNodeJSON{ID: id, Name: n.Name, RPCID: id, RPCURL: "http://" + rpcHost(n.Name) + ":7777",
			State: "AVAILABLE", LastSeenDate: time.Now().UnixMilli()})
	}
	if s.opts.MeshList == MeshListPage {
		return reply{status: http.StatusOK, body: map[string]any{"size": len(nodes), "limit": 25, "start": 0,
			"isLastPage": true, "values": nodes}}
	}
	return reply{status: http.StatusOK, body: nodes}
}

// rpcHost is the host name of a node's RPC URL: its name, in lower case,
// with dashes for spaces, in the .mesh.invalid domain.
func rpcHost(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", "-") + ".mesh.invalid"
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
