package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"cairn/repo"
	"cairn/sources/db"
	"cairn/sources/stream"
)

func TestDockerDemux(t *testing.T) {
	in := string(frame(streamStdout, "hello ")) + string(frame(streamStderr, "warn1\n")) +
		string(frame(streamStdout, "")) + string(frame(streamStdout, "world")) + string(frame(streamStderr, "warn2\n"))
	for name, rd := range map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(in) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"half":    func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			out, err := io.ReadAll(NewDemux(rd(), &stderr))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != "hello world" {
				t.Errorf("stdout %q", out)
			}
			if stderr.String() != "warn1\nwarn2\n" {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
	bad := map[string]string{
		"truncated header":  string(frame(streamStdout, "ab"))[:5],
		"truncated payload": string(frame(streamStdout, "abcdef"))[:11],
		"nonzero padding":   "\x01\x00\x01\x00\x00\x00\x00\x01x",
		"unknown stream":    string(frame(9, "x")),
		"huge frame":        "\x01\x00\x00\x00\xff\xff\xff\xff",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := io.ReadAll(NewDemux(strings.NewReader(s), nil))
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("err = %v, want ErrBadFrame", err)
			}
		})
	}
	t.Run("system frame", func(t *testing.T) {
		_, err := io.ReadAll(NewDemux(strings.NewReader(string(frame(streamSystem, "OCI runtime exec failed"))), nil))
		if err == nil || !strings.Contains(err.Error(), "OCI runtime exec failed") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDockerVersionNegotiation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ server, want string }{{"1.41", "1.41"}, {"1.47", MaxAPIVersion}, {"1.40", "1.40"}} {
		f := &fakeAPI{APIVersion: tc.server}
		c, err := NewClient(ctx, f.start(t))
		if err != nil {
			t.Fatal(err)
		}
		if c.APIVersion() != tc.want {
			t.Errorf("server %s: negotiated %s, want %s", tc.server, c.APIVersion(), tc.want)
		}
		// The negotiated prefix is used (the fake rejects others).
		if _, err := c.ListContainers(ctx, "cairn.backup"); err != nil {
			t.Errorf("server %s: list: %v", tc.server, err)
		}
		c.Close()
	}
	f := &fakeAPI{APIVersion: "1.20"}
	if _, err := NewClient(ctx, f.start(t)); err == nil || !strings.Contains(err.Error(), "older than") {
		t.Errorf("old server: err = %v", err)
	}
	if _, err := NewClient(ctx, "ftp://x"); err == nil {
		t.Error("ftp scheme accepted")
	}
	if _, err := NewClient(ctx, "unix:///nonexistent/docker.sock"); err == nil {
		t.Error("missing socket accepted")
	}
}

func ct(id, name string, labels map[string]string) Container {
	return Container{ID: id + strings.Repeat("0", 64-len(id)), Names: []string{"/" + name}, Image: "img/" + name + ":1", Labels: labels, State: "running"}
}

func stopped(c Container) Container {
	c.State = "exited"
	return c
}

func TestDockerParseTarget(t *testing.T) {
	ok := []struct {
		labels map[string]string
		prefix string
		check  func(*Target) bool
	}{
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgresql", "cairn.db.name": "shop", "cairn.db.user": "app", "cairn.db.password_env": "POSTGRES_PASSWORD"}, "cairn",
			func(t *Target) bool {
				return t.Engine == "postgres" && t.Database == "shop" && t.User == "app" && t.Password.Env == "POSTGRES_PASSWORD"
			}},
		{map[string]string{"baktainer.backup": "true", "baktainer.db.engine": "mysql", "baktainer.db.name": "wp", "baktainer.db.user": "root", "baktainer.db.password": " s3cr3t ", "baktainer.name": "blog"}, "baktainer",
			func(t *Target) bool {
				return t.Engine == "mysql" && t.Password.Literal == " s3cr3t " && t.SnapshotName == "blog"
			}},
		{map[string]string{"cairn.backup": "TRUE", "cairn.db.engine": "redis", "cairn.db.password_file": "/run/secrets/redis"}, "cairn",
			func(t *Target) bool { return t.Engine == "redis" && t.Password.File == "/run/secrets/redis" }},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "sqlite3", "cairn.db.name": "/data/app.db"}, "cairn",
			func(t *Target) bool { return t.Engine == "sqlite" && t.Database == "/data/app.db" }},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "mariadb", "cairn.db.all": "true", "cairn.db.port": "3307"}, "cairn",
			func(t *Target) bool { return t.All && t.Port == 3307 }},
	}
	for i, tc := range ok {
		got, err := ParseTarget(ct("a", "db", tc.labels), tc.prefix)
		if err != nil || got == nil || !tc.check(got) {
			t.Errorf("case %d: %+v, %v", i, got, err)
		}
	}
	for _, labels := range []map[string]string{nil, {"cairn.backup": "false", "cairn.db.engine": "nope"}, {"other": "x"}} {
		if got, err := ParseTarget(ct("a", "db", labels), "cairn"); got != nil || err != nil {
			t.Errorf("%v: not skipped: %+v, %v", labels, got, err)
		}
	}
	bad := []struct {
		labels map[string]string
		label  string
	}{
		{map[string]string{"cairn.backup": "yes please"}, "cairn.backup"},
		{map[string]string{"cairn.backup": "true"}, "cairn.db.engine"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "oracle", "cairn.db.name": "x"}, "cairn.db.engine"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres"}, "cairn.db.name"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.db.all": "true"}, "cairn.db.all"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "-h evil"}, "cairn.db.name"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.db.pasword": "x"}, "cairn.db.pasword"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.db.password": "x", "cairn.db.password_env": "P"}, "cairn.db.password"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.db.password_file": "secret.txt"}, "cairn.db.password_file"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.db.password_env": "A-B"}, "cairn.db.password_env"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.db.port": "99999"}, "cairn.db.port"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "sqlite", "cairn.db.name": "rel.db"}, "cairn.db.name"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "redis", "cairn.db.name": "0"}, "cairn.db.name"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "mongodb", "cairn.db.name": "a", "cairn.db.password": "x"}, "cairn.db.password"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a\nb"}, "cairn.db.name"},
		{map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "a", "cairn.name": "x/y"}, "cairn.name"},
	}
	for _, tc := range bad {
		_, err := ParseTarget(ct("a", "shopdb", tc.labels), "cairn")
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Label != tc.label || ve.Container != "shopdb" || !errors.Is(err, ErrInvalidLabels) {
			t.Errorf("%v: err = %v, want a ValidationError for %s", tc.labels, err, tc.label)
			continue
		}
		if !strings.Contains(err.Error(), "container shopdb: label "+tc.label+":") {
			t.Errorf("message %q does not name container and label", err)
		}
	}
}

// fixture is a fake daemon with a postgres, a baktainer-labelled mysql,
// an unlabelled container, one with backup=false and one invalid.
func fixture() *fakeAPI {
	return &fakeAPI{
		APIVersion: "1.41",
		Containers: []Container{
			ct("aaa", "pg", map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.name": "shop", "cairn.db.user": "app", "cairn.db.password_env": "POSTGRES_PASSWORD"}),
			ct("bbb", "maria", map[string]string{"baktainer.backup": "true", "baktainer.db.engine": "mariadb", "baktainer.db.name": "wp", "baktainer.db.user": "root", "baktainer.db.password_file": "/run/secrets/db"}),
			ct("ccc", "web", map[string]string{"com.example.role": "frontend"}),
			ct("ddd", "off", map[string]string{"cairn.backup": "false"}),
			ct("eee", "broken", map[string]string{"baktainer.backup": "true", "baktainer.db.engine": "postgres"}),
			stopped(ct("fff", "stopped", map[string]string{"cairn.backup": "true", "cairn.db.engine": "redis"})),
		},
		Env: map[string][]string{"aaa" + strings.Repeat("0", 61): {"PATH=/bin", "POSTGRES_PASSWORD=pg-Secret'1"}},
	}
}

func TestDockerDiscover(t *testing.T) {
	ctx := context.Background()
	f := fixture()
	c, err := NewClient(ctx, f.start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	targets, errs, err := Discover(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range targets {
		names = append(names, tg.Prefix+":"+tg.Name+":"+tg.Engine)
	}
	if strings.Join(names, ",") != "cairn:pg:postgres,baktainer:maria:mariadb" {
		t.Errorf("targets %v", names)
	}
	if len(errs) != 2 || !strings.Contains(errs[1].Error(), "container broken: label baktainer.db.name: missing") ||
		!errors.Is(errs[0], ErrNotRunning) || !strings.Contains(errs[0].Error(), "container stopped: labelled for backup but not running (state exited)") {
		t.Errorf("errs %v", errs)
	}
	// One prefix only.
	targets, errs, err = Discover(ctx, c, []string{"baktainer"})
	if err != nil || len(targets) != 1 || targets[0].Name != "maria" || len(errs) != 1 {
		t.Errorf("baktainer only: %v %v %v", targets, errs, err)
	}
}

func TestDockerBackup(t *testing.T) {
	ctx := context.Background()
	f := fixture()
	dump := strings.Repeat("PGDMP custom dump bytes\n", 50000)
	f.Run = func(id string, cfg ExecConfig) fakeExec {
		switch cfg.Cmd[0] {
		case "cat":
			if cfg.Cmd[1] == "/run/secrets/db" {
				return fakeExec{Stdout: "maria-Pw\"2\nignored\n"}
			}
			return fakeExec{Stderr: "cat: no such file\n", Exit: 1}
		case "pg_dump":
			return fakeExec{Stdout: dump, Stderr: "pg_dump: progress\n"}
		case "mariadb-dump":
			return fakeExec{Stdout: "-- partial\n", Stderr: "mariadb-dump: Got error: 1045: Access denied\n", Exit: 2}
		}
		return fakeExec{Stderr: "exec: not found", Exit: 127}
	}
	c, err := NewClient(ctx, f.start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	targets, _, err := Discover(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := testRepo(t)
	sr := stream.Repository{Repository: r}
	var stderr bytes.Buffer
	opts := Options{Save: stream.SaveOptions{Chunker: r.ChunkerParams()}, Stderr: &stderr, Tags: []string{"nightly"}}

	sn, err := Backup(ctx, c, sr, targets[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	if sn.Kind != repo.KindDB || strings.Join(sn.Tags, ",") != "pg,nightly" || sn.Paths[0] != "/pg-shop.pgdump" {
		t.Errorf("snapshot kind %s tags %v paths %v", sn.Kind, sn.Tags, sn.Paths)
	}
	var got bytes.Buffer
	node, err := stream.Find(ctx, sr, sn.Tree)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Copy(ctx, sr, node, &got); err != nil || got.String() != dump {
		t.Fatalf("restored %d bytes (%v), want %d", got.Len(), err, len(dump))
	}
	if !strings.Contains(stderr.String(), "pg_dump: progress") {
		t.Errorf("stderr not passed through: %q", stderr.String())
	}
	src, err := db.SourceOf(sn)
	if err != nil || src.Engine != "postgres" || src.Format != "custom" || src.Container != "pg" || src.Image != "img/pg:1" || src.Database != "shop" {
		t.Errorf("source %+v %v", src, err)
	}
	meta, _ := json.Marshal(sn.Source)
	if !strings.Contains(string(meta), `"container_id":"aaa0`) || strings.Contains(string(meta), "pg-Secret") {
		t.Errorf("source details %s", meta)
	}
	// The password travelled in the exec's environment only.
	execs := f.execConfigs()
	pg := execs[len(execs)-1]
	if strings.Join(pg.Cmd, " ") != "pg_dump --no-password --format=custom --compress=0" {
		t.Errorf("pg_dump argv %q", pg.Cmd)
	}
	if !contains(pg.Env, "PGPASSWORD=pg-Secret'1") || !contains(pg.Env, "PGDATABASE=shop") || !contains(pg.Env, "PGUSER=app") {
		t.Errorf("pg_dump env %q", pg.Env)
	}

	// A dump exiting non-zero: an error naming the container, no snapshot.
	_, err = Backup(ctx, c, sr, targets[1], opts)
	var ee *stream.ExitError
	if err == nil || !errors.As(err, &ee) || ee.ExitCode != 2 || !strings.Contains(err.Error(), "container maria:") || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("failed dump: err = %v", err)
	}
	execs = f.execConfigs()
	md := execs[len(execs)-1]
	if md.Cmd[0] != "mariadb-dump" || !contains(md.Env, `MYSQL_PWD=maria-Pw"2`) || strings.Contains(strings.Join(md.Cmd, " "), "maria-Pw") {
		t.Errorf("mariadb-dump exec %+v", md)
	}
	if ids, _ := r.SnapshotIDs(ctx); len(ids) != 1 {
		t.Errorf("%d snapshots, want 1 (the failed dump must leave none)", len(ids))
	}

	// Password sources that fail.
	missingEnv := *targets[0]
	missingEnv.Password = PasswordSource{Env: "NOPE"}
	if _, err := Backup(ctx, c, sr, &missingEnv, opts); err == nil || !strings.Contains(err.Error(), "no environment variable NOPE") {
		t.Errorf("missing env: %v", err)
	}
	missingFile := *targets[0]
	missingFile.Password = PasswordSource{File: "/run/secrets/missing"}
	if _, err := Backup(ctx, c, sr, &missingFile, opts); err == nil || !strings.Contains(err.Error(), "cat: no such file") || !strings.Contains(err.Error(), "container pg:") {
		t.Errorf("missing file: %v", err)
	}
	gone := *targets[0]
	gone.ID = "zzz"
	gone.Password = PasswordSource{}
	var ae *APIError
	if _, err := Backup(ctx, c, sr, &gone, opts); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("vanished container: %v", err)
	}
	if ids, _ := r.SnapshotIDs(ctx); len(ids) != 1 {
		t.Errorf("%d snapshots, want 1", len(ids))
	}
}

func TestDockerPlanDump(t *testing.T) {
	for _, tc := range []struct {
		t        Target
		argv     string
		env      string
		name     string
		password string
	}{
		{Target{Name: "p", Engine: "postgres", All: true, Host: "127.0.0.1", Port: 5433}, "pg_dumpall --no-password", "PGHOST=127.0.0.1 PGPORT=5433", "p-all.sql", ""},
		{Target{Name: "m", Engine: "mysql", Database: "shop", User: "u"}, "mysqldump --user=u --single-transaction --quick --routines --triggers --events --hex-blob --skip-extended-insert --no-autocommit --skip-dump-date -- shop", "MYSQL_PWD=pw", "m-shop.sql", "pw"},
		{Target{Name: "s", Engine: "sqlite", Database: "/data/a.db", SnapshotName: "app"}, "sqlite3 -batch -bail /data/a.db .dump", "", "app-a.db.sql", ""},
		{Target{Name: "r", Engine: "redis", Port: 6380}, "redis-cli --no-auth-warning -p 6380 --rdb -", "REDISCLI_AUTH=pw", "r-dump.rdb", "pw"},
		{Target{Name: "g", Engine: "mongodb", Database: "x"}, "mongodump --archive --quiet --db=x", "", "g-x.archive", ""},
	} {
		p := planDump(&tc.t, tc.password)
		if got := strings.Join(p.argv, " "); got != tc.argv {
			t.Errorf("%s argv %q, want %q", tc.t.Engine, got, tc.argv)
		}
		if got := strings.Join(p.env, " "); got != tc.env {
			t.Errorf("%s env %q, want %q", tc.t.Engine, got, tc.env)
		}
		if p.name != tc.name {
			t.Errorf("%s name %q, want %q", tc.t.Engine, p.name, tc.name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestDockerBackupAllConcurrent(t *testing.T) {
	ctx := context.Background()
	f := &fakeAPI{APIVersion: "1.41", Env: map[string][]string{}}
	dumps := map[string]string{}
	for i := range 5 {
		name := string(rune('a'+i)) + "db"
		f.Containers = append(f.Containers, ct(name, name, map[string]string{"cairn.backup": "true", "cairn.db.engine": "sqlite", "cairn.db.name": "/data/" + name}))
		// Distinct, partly shared content: deduplication across streams.
		dumps["/data/"+name] = strings.Repeat("shared line of every dump\n", 40000) + strings.Repeat(name+" own line\n", 30000*(i+1))
	}
	f.Containers = append(f.Containers, ct("bad", "bad", map[string]string{"cairn.backup": "true", "cairn.db.engine": "sqlite", "cairn.db.name": "/data/bad"}))
	f.Run = func(id string, cfg ExecConfig) fakeExec {
		if d, ok := dumps[cfg.Cmd[3]]; ok {
			return fakeExec{Stdout: d}
		}
		return fakeExec{Stdout: "partial", Stderr: "Error: unable to open database\n", Exit: 1}
	}
	c, err := NewClient(ctx, f.start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	targets, _, err := Discover(ctx, c, nil)
	if err != nil || len(targets) != 6 {
		t.Fatalf("%d targets, %v", len(targets), err)
	}
	r := testRepo(t)
	sr := stream.Repository{Repository: r}
	results := map[string]Result{}
	BackupAll(ctx, c, sr, targets, 3, Options{Save: stream.SaveOptions{Chunker: r.ChunkerParams()}}, func(res Result) {
		results[res.Target.Name] = res
	})
	if len(results) != 6 {
		t.Fatalf("%d results", len(results))
	}
	if err := results["bad"].Err; err == nil || !strings.Contains(err.Error(), "container bad:") {
		t.Errorf("bad: %v", err)
	}
	for name, res := range results {
		if name == "bad" {
			continue
		}
		if res.Err != nil {
			t.Fatalf("%s: %v", name, res.Err)
		}
		node, err := stream.Find(ctx, sr, res.Snapshot.Tree)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := stream.Copy(ctx, sr, node, &got); err != nil || got.String() != dumps["/data/"+name] {
			t.Errorf("%s: %d bytes back (%v)", name, got.Len(), err)
		}
	}
	if ids, _ := r.SnapshotIDs(ctx); len(ids) != 5 {
		t.Errorf("%d snapshots, want 5", len(ids))
	}
}
