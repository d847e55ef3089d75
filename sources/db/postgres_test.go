package db

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cairn/sources/stream"
)

const pgPassword = "pg s3cret:with\\odd'chars"

// pgServer is a throwaway PostgreSQL cluster owned by the postgres user,
// listening on a unix socket in its directory and on 127.0.0.1 (password
// required over TCP).
type pgServer struct {
	dir, bin string
	port     int
}

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	requireTools(t, "pg_dump", "pg_restore", "psql", "initdb", "pg_ctl", "pgbench")
	if os.Getuid() != 0 {
		t.Skip("starting a PostgreSQL cluster needs root (to run it as the postgres user)")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres user: %v", err)
	}
	// Resolve symlinks: /usr/local/bin may hold a link to initdb alone.
	pgctl, _ := tool(Conn{}, "pg_ctl")
	pgctl, _ = filepath.EvalSymlinks(pgctl)
	s := &pgServer{bin: filepath.Dir(pgctl), port: freePort(t)}
	// Not t.TempDir: its parent is 0700 root, which postgres cannot enter.
	if s.dir, err = os.MkdirTemp("", "cairn-pg-"); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	if err := os.Chown(s.dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	as := func(argv ...string) string {
		return sh(t, nil, "", append([]string{"runuser", "-u", "postgres", "--"}, argv...)...)
	}
	as(filepath.Join(s.bin, "initdb"), "-D", s.dir+"/data", "-A", "trust", "-U", "postgres", "--no-sync")
	hba := "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(s.dir+"/data/pg_hba.conf", []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(s.dir+"/data/pg_hba.conf", uid, gid)
	as(filepath.Join(s.bin, "pg_ctl"), "-D", s.dir+"/data", "-o",
		"-p "+strconv.Itoa(s.port)+" -k "+s.dir+" -c listen_addresses=127.0.0.1 -c fsync=off", "-l", s.dir+"/log", "-w", "start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(s.bin, "pg_ctl"), "-D", s.dir+"/data", "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(s.dir)
	})
	s.psql(t, "postgres", "ALTER USER postgres PASSWORD '"+strings.ReplaceAll(pgPassword, "'", "''")+"'")
	return s
}

// env is a libpq environment for the socket (trust).
func (s *pgServer) env(db string) []string {
	return append(os.Environ(), "PGHOST="+s.dir, "PGPORT="+strconv.Itoa(s.port), "PGUSER=postgres", "PGDATABASE="+db)
}

func (s *pgServer) psql(t *testing.T, db, sql string) string {
	t.Helper()
	return sh(t, s.env(db), "", filepath.Join(s.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)
}

// conn connects over TCP with the password.
func (s *pgServer) conn(db string) Conn {
	return Conn{Engine: "postgres", Host: "127.0.0.1", Port: s.port, User: "postgres", Password: pgPassword, Database: db}
}

func (s *pgServer) seed(t *testing.T, db string) {
	s.psql(t, "postgres", "CREATE DATABASE "+db)
	sh(t, s.env(db), "", filepath.Join(s.bin, "pgbench"), "-i", "-q", "-s", "6", "--unlogged-tables")
	// pgbench leaves every account's filler blank: rows that differ only
	// in a few digits, on which the fingerprint, for some of the random
	// polynomials a repository gets, finds no cut for megabytes, so that
	// chunks run to MaxSize (8 MiB) and one changed range cost three of
	// them (25.7% of the dump in one CI run). Rows of a real table differ
	// more; fill the filler with per-row text.
	s.psql(t, db, "UPDATE pgbench_accounts SET filler = md5(aid::text) || left(md5((aid * 7)::text), 20)")
	s.psql(t, db, "INSERT INTO pgbench_history SELECT g % 50 + 1, g % 5 + 1, g, g, now() FROM generate_series(1, 20000) g")
}

// change updates 1% of the accounts, a contiguous range (see
// docs/source-db.md for why scattered changes deduplicate worse), and
// appends history rows.
func (s *pgServer) change(t *testing.T, db string) {
	s.psql(t, db, "UPDATE pgbench_accounts SET abalance = abalance + 7, filler = 'changed' WHERE aid <= 6000")
	s.psql(t, db, "INSERT INTO pgbench_history SELECT 1, 1, g, 3, now() FROM generate_series(1, 200) g")
}

func (s *pgServer) checksums(t *testing.T, db string) map[string]string {
	out := map[string]string{}
	for _, tbl := range []string{"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"} {
		out[tbl] = strings.TrimSpace(s.psql(t, db, "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM "+tbl+" t"))
	}
	return out
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	s := startPostgres(t)
	t.Run("custom", func(t *testing.T) { incrementalAndRestore(t, s, "shop_restored") })
	t.Run("plain", func(t *testing.T) {
		r := testRepo(t)
		c := s.conn("shop")
		c.Format = "plain"
		sn, err := backup(t, r, c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sn.Paths[0] != "/shop.sql" {
			t.Fatalf("paths %v", sn.Paths)
		}
		restoreSnapshot(t, r, sn, s.conn("shop_plain"), "shop_plain")
		if a, b := s.checksums(t, "shop"), s.checksums(t, "shop_plain"); len(a) != len(b) || a["pgbench_accounts"] != b["pgbench_accounts"] {
			t.Fatalf("plain restore differs: %v %v", a, b)
		}
	})
	t.Run("dumpall", func(t *testing.T) {
		r := testRepo(t)
		c := Conn{Engine: "postgres", Host: s.dir, Port: s.port, User: "postgres", All: true}
		sn, err := backup(t, r, c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		src, _ := SourceOf(sn)
		if src.Format != "dumpall" || sn.Summary.TotalBytes < 5<<20 {
			t.Fatalf("%+v %+v", src, sn.Summary)
		}
	})
	t.Run("failures", func(t *testing.T) {
		r := testRepo(t)
		wrong := s.conn("shop")
		wrong.Password = "nope"
		missing := s.conn("no_such_db")
		for name, c := range map[string]Conn{"wrong password": wrong, "missing database": missing} {
			_, err := backup(t, r, c, Options{})
			if err == nil {
				t.Fatalf("%s: backup succeeded", name)
			}
			t.Logf("%s: %v", name, err)
		}
		// Killed dump process: the test kills pg_dump once it runs.
		_, err := backup(t, r, s.conn("shop"), Options{onStart: func(pid int, _ string) {
			go func() { time.Sleep(50 * time.Millisecond); exec.Command("kill", "-9", strconv.Itoa(pid)).Run() }()
		}})
		var ee *stream.ExitError
		if !errors.As(err, &ee) || ee.Signal == "" {
			t.Fatalf("killed dump: %v", err)
		}
		if n := snapshotCount(t, r); n != 0 {
			t.Fatalf("%d snapshots after failed dumps", n)
		}
	})
	t.Run("server goes away", func(t *testing.T) {
		r := testRepo(t)
		_, err := backup(t, r, s.conn("shop"), Options{onStart: func(int, string) {
			// Terminate the dump's backend from the server side.
			go func() {
				for i := 0; i < 200; i++ {
					cmd := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-A", "-t", "-c",
						"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_dump'")
					cmd.Env = s.env("postgres")
					if out, _ := cmd.Output(); strings.TrimSpace(string(out)) == "t" {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}})
		if err == nil {
			t.Fatal("dump survived its server connection being terminated")
		}
		t.Logf("terminated: %v", err)
		if n := snapshotCount(t, r); n != 0 {
			t.Fatalf("%d snapshots", n)
		}
	})
}

func (s *pgServer) target(db string) string { return db }
