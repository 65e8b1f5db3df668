package dbstream

import (
	"strings"
	"testing"
)

func TestChildConninfoDropsSecretsKeepsTheRest(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"", ""},
		{"postgres://bb:s3cret@db.example:5433/bitbucket?sslmode=verify-full&application_name=x",
			"postgres://bb@db.example:5433/bitbucket?sslmode=verify-full"},
		{"postgresql://bb:s3cret@h1:5432,h2:5433/bitbucket?password=s3cret&pool_max_conns=4",
			"postgresql://bb@h1:5432,h2:5433/bitbucket"},
		{"postgres://bb@localhost/bitbucket", "postgres://bb@localhost/bitbucket"},
		{"postgres:///bitbucket?host=/var/run/postgresql", "postgres:///bitbucket?host=%2Fvar%2Frun%2Fpostgresql"},
		{"host=db port=5432 user=bb password=s3cret dbname=bitbucket sslmode=require",
			"host='db' port='5432' user='bb' dbname='bitbucket' sslmode='require'"},
		{`host = db password='it\'s \'quoted\' s3cret' database=bit\ bucket statement_cache_capacity=0`,
			`host='db' dbname='bit bucket'`},
	}
	for _, c := range cases {
		got, err := childConninfo(c.dsn)
		if err != nil {
			t.Errorf("childConninfo(%q): %v", c.dsn, err)
			continue
		}
		if got != c.want {
			t.Errorf("childConninfo(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
}

func TestChildConninfoRefusesWhatCannotBeHidden(t *testing.T) {
	for _, dsn := range []string{
		"host=db sslpassword=keypass",
		"postgres://bb@db/x?sslpassword=keypass",
		"host=db password='hunter2",
	} {
		_, err := childConninfo(dsn)
		if err == nil {
			t.Errorf("childConninfo(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "keypass") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error repeats a secret: %v", err)
		}
	}
}

func TestDumpArgsNeverHoldThePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://bb:s3cret@db:5432/bitbucket?sslmode=disable",
		"host=db user=bb password=s3cret dbname=bitbucket",
		"host=db user=bb dbname=bitbucket password='s3cret'",
	} {
		ep, err := parseEndpoint(dsn)
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Join(dumpArgs("00000003-1", DumpOptions{}, ep.childDBArg()), " ")
		if strings.Contains(args, "s3cret") || !strings.Contains(args, "bitbucket") {
			t.Errorf("pg_dump args for %q: %s", dsn, args)
		}
		env := strings.Join(ep.childEnv("app"), "\n")
		if !strings.Contains(env, "PGPASSWORD=s3cret") {
			t.Errorf("the password for %q does not reach pg_dump's environment", dsn)
		}
	}
}

func TestInvalidDSNErrorDoesNotRepeatIt(t *testing.T) {
	_, err := NewSource(Options{DSN: "postgres://bb:s3cret@db:notaport/x"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "invalid PostgreSQL DSN") {
		t.Fatalf("NewSource with a bad DSN: %v", err)
	}
}
