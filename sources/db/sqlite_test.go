package db

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// liteDB is a directory of sqlite database files.
type liteDB struct{ dir string }

func (l liteDB) path(db string) string { return filepath.Join(l.dir, db+".db") }

func (l liteDB) sql(t *testing.T, db, sql string) string {
	t.Helper()
	return sh(t, nil, sql, "sqlite3", "-batch", "-bail", l.path(db))
}

func (l liteDB) conn(db string) Conn { return Conn{Engine: "sqlite", Database: l.path(db)} }

func (l liteDB) seed(t *testing.T, db string) {
	l.sql(t, db, `PRAGMA journal_mode=WAL;
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500000)
INSERT INTO items SELECT i, 'item-' || i, i % 100, printf('%.60c', char(65 + i % 26)) FROM n;
CREATE TABLE tags (id INTEGER PRIMARY KEY, tag TEXT);
INSERT INTO tags SELECT id, 'tag' || id FROM items WHERE id <= 1000;`)
}

func (l liteDB) change(t *testing.T, db string) {
	l.sql(t, db, "UPDATE items SET qty = qty + 1, note = 'changed' WHERE id BETWEEN 100001 AND 103000;")
}

func (l liteDB) checksums(t *testing.T, db string) map[string]string {
	out := map[string]string{}
	for _, tbl := range []string{"items", "tags"} {
		// No md5 in the sqlite3 shell: compare the ordered rows' text
		// through a hash computed in Go.
		rows := l.sql(t, db, "SELECT * FROM "+tbl+" ORDER BY id;")
		out[tbl] = strings.TrimSpace(l.sql(t, db, "SELECT count(*) FROM "+tbl+";")) + ":" + hashString(rows)
	}
	return out
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	requireTools(t, "sqlite3")
	l := liteDB{dir: t.TempDir()}
	t.Run("incremental and restore", func(t *testing.T) {
		incrementalAndRestore(t, l, "restored")
	})
	t.Run("db format during writes", func(t *testing.T) {
		// A writer keeps changing the database while it is copied with
		// the backup API: the copy is consistent (integrity_check ok).
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// sqlite3 is fed from here, not from a shell loop: killing a shell
		// would leave its sqlite3 running after the test.
		w := exec.CommandContext(ctx, "sqlite3", "-batch", l.path("shop"))
		stdin, err := w.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			defer stdin.Close()
			for ctx.Err() == nil {
				if _, err := io.WriteString(stdin, "UPDATE items SET qty = qty + 1 WHERE id % 97 = 0;\n"); err != nil {
					return
				}
			}
		}()
		defer func() { cancel(); <-fed; w.Wait() }()
		time.Sleep(200 * time.Millisecond)
		r := testRepo(t)
		c := l.conn("shop")
		c.Format = "db"
		sn, err := backup(t, r, c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		restoreSnapshot(t, r, sn, Conn{Engine: "sqlite"}, l.path("copy"))
		if out := strings.TrimSpace(l.sql(t, "copy", "PRAGMA integrity_check;")); out != "ok" {
			t.Fatalf("integrity_check: %s", out)
		}
	})
	t.Run("failures", func(t *testing.T) {
		r := testRepo(t)
		bad := filepath.Join(t.TempDir(), "bad.db")
		os.WriteFile(bad, []byte("this is not a database, just text long enough to look like a file header......"), 0o600)
		for name, c := range map[string]Conn{
			"missing":  {Engine: "sqlite", Database: filepath.Join(t.TempDir(), "none.db")},
			"not a db": {Engine: "sqlite", Database: bad},
		} {
			if _, err := backup(t, r, c, Options{}); err == nil {
				t.Fatalf("%s: backup succeeded", name)
			} else {
				t.Logf("%s: %v", name, err)
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(bad), "none.db")); err == nil {
			t.Fatal("backup created the missing database")
		}
		if n := snapshotCount(t, r); n != 0 {
			t.Fatalf("%d snapshots", n)
		}
	})
}

func (l liteDB) target(db string) string { return l.path(db) }
