package dbgen

// schema creates the tables, without their indexes (added after the load).
const schema = `
CREATE TABLE project (id int NOT NULL, project_key varchar(128) NOT NULL, name varchar(255) NOT NULL,
  description text, project_type int NOT NULL, is_public boolean NOT NULL);
CREATE TABLE repository (id int NOT NULL, slug varchar(128) NOT NULL, name varchar(128) NOT NULL,
  project_id int NOT NULL, scm_id varchar(255) NOT NULL, state int NOT NULL, status_message varchar(255),
  forkable boolean NOT NULL, is_public boolean NOT NULL, origin_id int, hierarchy_id varchar(20) NOT NULL);
CREATE TABLE cwd_user (id bigint NOT NULL, user_name varchar(255) NOT NULL, lower_user_name varchar(255) NOT NULL,
  active char(1) NOT NULL, created_date timestamp NOT NULL, updated_date timestamp NOT NULL,
  display_name varchar(255), email_address varchar(255), credential varchar(255), directory_id bigint NOT NULL);
CREATE TABLE sta_pull_request (id bigint NOT NULL, entity_version int NOT NULL, scoped_id bigint NOT NULL,
  to_repository_id int NOT NULL, from_repository_id int NOT NULL, pr_state int NOT NULL,
  created_timestamp timestamp NOT NULL, updated_timestamp timestamp NOT NULL,
  from_branch_fqn varchar(1024) NOT NULL, to_branch_fqn varchar(1024) NOT NULL,
  from_hash varchar(40) NOT NULL, to_hash varchar(40) NOT NULL, title varchar(255) NOT NULL, description text);
CREATE TABLE sta_activity (id bigint NOT NULL, activity_type int NOT NULL, created_timestamp timestamp NOT NULL,
  user_id int NOT NULL);
CREATE TABLE sta_pr_activity (activity_id bigint NOT NULL, pr_id bigint NOT NULL, pr_action int NOT NULL);
CREATE TABLE sta_comment (id bigint NOT NULL, entity_version int NOT NULL, author_id int NOT NULL,
  thread_id bigint NOT NULL, comment_text text NOT NULL, created_timestamp timestamp NOT NULL,
  updated_timestamp timestamp NOT NULL);
CREATE TABLE changeset (id varchar(40) NOT NULL, author_timestamp timestamp NOT NULL,
  author_name varchar(255) NOT NULL, message text);
CREATE TABLE cs_repo_membership (cs_id varchar(40) NOT NULL, repository_id int NOT NULL);
CREATE TABLE sta_repo_push_ref (push_activity_id bigint NOT NULL, ref_id varchar(1024) NOT NULL,
  from_hash varchar(40) NOT NULL, to_hash varchar(40) NOT NULL, ref_update_type int NOT NULL);
`

// indexes are created after the load, as a restore creates them too.
const indexes = `
ALTER TABLE project ADD PRIMARY KEY (id);
ALTER TABLE repository ADD PRIMARY KEY (id);
ALTER TABLE cwd_user ADD PRIMARY KEY (id);
ALTER TABLE sta_pull_request ADD PRIMARY KEY (id);
ALTER TABLE sta_activity ADD PRIMARY KEY (id);
ALTER TABLE sta_pr_activity ADD PRIMARY KEY (activity_id);
ALTER TABLE sta_comment ADD PRIMARY KEY (id);
ALTER TABLE changeset ADD PRIMARY KEY (id);
ALTER TABLE cs_repo_membership ADD PRIMARY KEY (cs_id, repository_id);
CREATE INDEX idx_sta_pull_request_repo ON sta_pull_request (to_repository_id, pr_state);
CREATE INDEX idx_sta_comment_thread ON sta_comment (thread_id);
CREATE INDEX idx_sta_pr_activity_pr ON sta_pr_activity (pr_id);
CREATE UNIQUE INDEX idx_cwd_user_name ON cwd_user (directory_id, lower_user_name);
`

// table is one table's bulk load: rows per MiB of database, and the SELECT
// list that makes row i (columns in table order) from generate_series as i.
// "$name" in it stands for the row count of table name, so a column that
// refers to another table spreads over the rows that exist.
type table struct {
	name   string
	perMiB float64
	min    int64
	sel    string
}

// comment is the text expression of a comment or description of row i.
const comment = `substr(repeat('Please have another look at ' || md5(i::text) || ' before merging, it touches ' ||
  (i % 977)::text || ' files. ', 8), 1, 40 + ((i * 7919) % 700)::int)`

// hash is a 40-character hexadecimal commit hash derived from row i.
const hash = `md5(i::text) || substr(md5((i + 1)::text), 1, 8)`

// tables are loaded in this order; counts scale with the database size.
var tables = []table{
	{"project", 0.05, 5, `i, 'PRJ' || i, 'Project ' || i, 'The project number ' || i, 0, i % 7 = 0`},
	{"repository", 0.5, 20, `i, 'repo-' || i, 'Repository ' || i, 1 + i % $project, 'git', 1, 'Available', true,
	  i % 5 = 0, CASE WHEN i % 10 = 0 THEN i - 1 ELSE NULL END, substr(md5(i::text), 1, 20)`},
	{"cwd_user", 2, 50, `i, 'user' || i, 'user' || i, 'T', timestamp '2018-01-01' + i * interval '1 hour',
	  timestamp '2018-01-01' + i * interval '1 hour', 'User Number ' || i, 'user' || i || '@example.com',
	  '{PKCS5S2}' || md5(i::text) || md5((i * 3)::text), 1`},
	{"sta_pull_request", 350, 100, `i, 1 + i % 4, i, 1 + i % $repository, 1 + i % $repository, i % 3,
	  timestamp '2018-01-01' + i * interval '7 minutes', timestamp '2018-01-01' + i * interval '9 minutes',
	  'refs/heads/feature/' || md5(i::text), 'refs/heads/master', ` + hash + `, md5((i * 13)::text) || '00000000',
	  'Pull request ' || i || ': ' || substr(md5(i::text), 1, 12), ` + comment},
	{"sta_activity", 1000, 200, `i, i % 9, timestamp '2018-01-01' + i * interval '61 seconds', 1 + i % $cwd_user`},
	{"sta_pr_activity", 700, 100, `i, 1 + i % $sta_pull_request, i % 11`},
	{"sta_comment", 900, 200, `i, 1 + i % 3, 1 + i % $cwd_user, i / 4, ` + comment + `,
	  timestamp '2018-01-01' + i * interval '53 seconds', timestamp '2018-01-01' + i * interval '59 seconds'`},
	{"changeset", 1000, 200, hash + `, timestamp '2018-01-01' + i * interval '47 seconds', 'Author ' || (i % 500),
	  'Commit message ' || i || ' ' || substr(md5((i * 31)::text), 1, 24 + (i % 40)::int)`},
	{"cs_repo_membership", 800, 100, `md5(i::text) || substr(md5((i + 1)::text), 1, 8), 1 + i % $repository`},
	{"sta_repo_push_ref", 350, 100, `i, 'refs/heads/feature/' || md5((i * 3)::text), ` + hash + `,
	  md5((i * 17)::text) || '00000000', i % 3`},
}
