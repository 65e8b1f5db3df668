package mesh

import (
	"strings"
	"testing"
)

func TestParseNode(t *testing.T) {
	cases := map[string]Node{
		"mesh1.example.com:/var/atlassian/application-data/mesh": {Name: "mesh1", Host: "mesh1.example.com", Home: "/var/atlassian/application-data/mesh"},
		"east=backup@mesh2.example.com:/srv/mesh":                {Name: "east", Host: "backup@mesh2.example.com", Home: "/srv/mesh"},
		"10.0.0.7:/srv/mesh":                                     {Name: "10.0.0.7", Host: "10.0.0.7", Home: "/srv/mesh"},
		"ssh://backup@mesh3.example.com:2222/srv/mesh":           {Name: "mesh3", Host: "backup@mesh3.example.com", Port: 2222, Home: "/srv/mesh"},
		"m4=ssh://mesh4/srv/mesh":                                {Name: "m4", Host: "mesh4", Home: "/srv/mesh"},
	}
	for spec, want := range cases {
		got, err := ParseNode(spec)
		if err != nil || got != want {
			t.Errorf("ParseNode(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"mesh1", "mesh1:relative/path", ":/srv", "ssh://u:pw@mesh1/srv", "a b=mesh1:/srv"} {
		if _, err := ParseNode(bad); err == nil || !strings.Contains(err.Error(), "--mesh-node") {
			t.Errorf("ParseNode(%q) = %v, want an error naming --mesh-node", bad, err)
		}
	}
}

func TestParseNodesRefusesTwoOfOneName(t *testing.T) {
	_, err := ParseNodes([]string{"mesh1.a.example.com:/srv", "mesh1.b.example.com:/srv"})
	if err == nil || !strings.Contains(err.Error(), `named "mesh1"`) || !strings.Contains(err.Error(), "NAME=HOST:/PATH") {
		t.Fatalf("err = %v, want a duplicate-name error saying how to name them", err)
	}
}

func TestSSHCommandLineQuotesTheRemoteCommand(t *testing.T) {
	argv := SSH{Command: []string{"ssh", "-F", "/etc/bbvault/ssh_config"}, Bbvault: "/opt/bbvault/bin/bbvault"}.
		argv(Node{Host: "backup@mesh1", Port: 2222, Home: "/srv/it's here"}, []string{"--home", "/srv/it's here"})
	got := strings.Join(argv, " ")
	for _, want := range []string{"ssh -F /etc/bbvault/ssh_config -T -o BatchMode=yes", "-p 2222 backup@mesh1 --",
		`'/opt/bbvault/bin/bbvault' node serve '--home' '/srv/it'\''s here'`} {
		if !strings.Contains(got, want) {
			t.Errorf("ssh command line %q lacks %q", got, want)
		}
	}
}
