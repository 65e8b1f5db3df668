package bitbucket_test

import (
	"errors"
	"testing"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

// The Mesh nodes list: absent before 8.0 (ErrNoMeshAPI), a list or a page
// of nodes after, each with its name and the host of its RPC URL.
func TestMeshNodes(t *testing.T) {
	nodes := []standin.MeshNode{{Name: "mesh1"}, {Name: "mesh2"}, {Name: "mesh3"}}
	cases := []struct {
		version string
		form    standin.MeshListForm
		want    int
	}{
		{"7.21.0", standin.MeshListArray, -1},
		{"8.19.1", standin.MeshListArray, 3},
		{"9.4.0", standin.MeshListPage, 3},
	}
	for _, tc := range cases {
		t.Run(tc.version+"-"+string(tc.form), func(t *testing.T) {
			srv := startStandin(t, standin.Options{Version: tc.version, Mesh: nodes, MeshList: tc.form})
			got, err := newClient(t, srv.URL()).MeshNodes(t.Context())
			if tc.want < 0 {
				if !errors.Is(err, bitbucket.ErrNoMeshAPI) {
					t.Fatalf("err = %v, want ErrNoMeshAPI", err)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("got %+v, %v; want %d nodes", got, err, tc.want)
			}
			if got[1].Name != "mesh2" || got[1].Host() != "mesh2.mesh.invalid" || got[1].State != "AVAILABLE" {
				t.Fatalf("node 2 = %+v (host %q)", got[1], got[1].Host())
			}
		})
	}
	srv := startStandin(t, standin.Options{Mesh: nodes, NonAdmins: map[string]string{"dev": "pw"}})
	_, err := newClient(t, srv.URL(), func(o *bitbucket.Options) { o.User, o.Password = "dev", "pw" }).MeshNodes(t.Context())
	if !bitbucket.IsForbidden(err) {
		t.Fatalf("a user without SYSADMIN: err = %v, want 403", err)
	}
}
