package db

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cairn/repo"
)

const myPassword = `my "secret" \ pw`

// myServer is a private MariaDB instance on a unix socket and 127.0.0.1.
type myServer struct {
	dir  string
	port int
}

func startMariaDB(t *testing.T) *myServer {
	t.Helper()
	requireTools(t, "mariadbd", "mariadb-install-db", "mariadb", "mariadb-dump")
	if os.Getuid() != 0 {
		t.Skip("the private MariaDB instance runs as root (--user=root)")
	}
	s := &myServer{dir: t.TempDir(), port: freePort(t)}
	sh(t, nil, "", "mariadb-install-db", "--datadir="+s.dir+"/data", "--auth-root-authentication-method=normal", "--user=root", "--skip-test-db")
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		mariadbd = "/usr/sbin/mariadbd"
	}
	cmd := exec.Command(mariadbd, "--no-defaults", "--datadir="+s.dir+"/data", "--socket="+s.sock(), "--port="+strconv.Itoa(s.port),
		"--bind-address=127.0.0.1", "--user=root", "--pid-file="+s.dir+"/pid", "--log-error="+s.dir+"/err",
		"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--skip-log-bin")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(s.sock()); err == nil {
			break
		}
		if i > 300 {
			b, _ := os.ReadFile(s.dir + "/err")
			t.Fatalf("mariadbd did not start: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pw := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(myPassword)
	s.sql(t, "", "CREATE USER 'backup'@'%' IDENTIFIED BY '"+pw+"'; GRANT ALL ON *.* TO 'backup'@'%'; CREATE USER 'backup'@'localhost' IDENTIFIED BY '"+pw+"'; GRANT ALL ON *.* TO 'backup'@'localhost';")
	return s
}

func (s *myServer) sock() string { return s.dir + "/sock" }

func (s *myServer) sql(t *testing.T, db, sql string) string {
	t.Helper()
	argv := []string{"mariadb", "--no-defaults", "--socket=" + s.sock(), "-u", "root", "--batch", "--skip-column-names"}
	if db != "" {
		argv = append(argv, db)
	}
	return sh(t, nil, sql, argv...)
}

// conn uses TCP with the password (through the defaults file).
func (s *myServer) conn(db string) Conn {
	return Conn{Engine: "mariadb", Host: "127.0.0.1", Port: s.port, User: "backup", Password: myPassword, Database: db}
}

func (s *myServer) seed(t *testing.T, db string) {
	s.sql(t, "", "CREATE DATABASE "+db)
	s.sql(t, db, `CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2), note VARCHAR(100)) ENGINE=InnoDB;
INSERT INTO orders SELECT seq, CONCAT('customer-', seq % 997), seq * 1.25, REPEAT(CHAR(65 + seq % 26), 60) FROM seq_1_to_600000;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('name-', seq) FROM seq_1_to_997;
CREATE TABLE tricky (id INT PRIMARY KEY, s VARCHAR(200), b BLOB, f DOUBLE, n INT NULL, bits BIT(8), d DATETIME, j JSON) ENGINE=InnoDB;
INSERT INTO tricky SELECT seq,
  CONCAT('it''s "', seq, '"),(\\', CHAR(10), 'INSERT INTO `+"`x`"+` VALUES (1);', CHAR(0), CHAR(26), CHAR(13), 'é€'),
  IF(seq % 5 = 0, NULL, UNHEX(SHA2(seq, 256))), seq / 7, IF(seq % 3 = 0, NULL, -seq), seq % 256,
  '2024-01-01' + INTERVAL seq MINUTE, JSON_OBJECT('k', CONCAT('v),(', seq), 'q', '\'";')
  FROM seq_1_to_2000;`)
}

func (s *myServer) change(t *testing.T, db string) {
	s.sql(t, db, "UPDATE orders SET amount = amount + 1, note = 'changed' WHERE id BETWEEN 300001 AND 306000;")
}

func (s *myServer) checksums(t *testing.T, db string) map[string]string {
	out := map[string]string{}
	for _, tbl := range []string{"orders", "customers", "tricky"} {
		out[tbl] = strings.TrimSpace(s.sql(t, db, "SELECT COUNT(*) FROM "+tbl+"; CHECKSUM TABLE "+tbl+" EXTENDED;"))
		out[tbl] = strings.ReplaceAll(out[tbl], db+".", "")
	}
	return out
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	s := startMariaDB(t)
	t.Run("incremental and restore", func(t *testing.T) { incrementalAndRestore(t, s, "shop_restored") })
	t.Run("scattered and resized rows", func(t *testing.T) {
		r := testRepo(t)
		if _, err := backup(t, r, s.conn("shop"), Options{}); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []struct {
			name   string
			places int
			sql    string
		}{
			{"1% in three places", 3, "UPDATE orders SET amount = amount + 1 WHERE id BETWEEN 20001 AND 21000 OR id BETWEEN 140001 AND 141000 OR id BETWEEN 260001 AND 261000"},
			{"1% longer, 100 rows shorter", 2, "UPDATE orders SET note = CONCAT(note, '-a-longer-note') WHERE id BETWEEN 90001 AND 93000; UPDATE orders SET note = 'x' WHERE id BETWEEN 200001 AND 200100"},
			{"3 single rows", 3, "UPDATE orders SET customer = 'someone else' WHERE id IN (50000, 150000, 250000)"},
		} {
			s.sql(t, "shop", ch.sql)
			sn, err := backup(t, r, s.conn("shop"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			src, _ := SourceOf(sn)
			if src.Recut == nil || src.Recut.Rows < 300000 {
				t.Fatalf("source details do not record the re-cut: %+v", src.Recut)
			}
			checkAdded(t, ch.name, sn, ch.places)
		}
	})
	t.Run("raw dump", func(t *testing.T) {
		r := testRepo(t)
		if _, err := backup(t, r, s.conn("shop"), Options{RawDump: true}); err != nil {
			t.Fatal(err)
		}
		s.sql(t, "shop", "UPDATE orders SET amount = amount + 1 WHERE id BETWEEN 100001 AND 103000")
		sn2, err := backup(t, r, s.conn("shop"), Options{RawDump: true})
		if err != nil {
			t.Fatal(err)
		}
		src, _ := SourceOf(sn2)
		if src.Recut != nil || !strings.Contains(strings.Join(src.Dump.Command, " "), "--skip-extended-insert") {
			t.Fatalf("raw dump: %+v", src)
		}
		checkAdded(t, "raw dump, 1% contiguous", sn2, 1)
		want := s.checksums(t, "shop")
		restoreSnapshot(t, r, sn2, s.conn("shop_raw"), "shop_raw")
		if got := s.checksums(t, "shop_raw"); fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("restored raw dump differs:\nwant %v\n got %v", want, got)
		}
	})
	t.Run("socket, no password, all databases", func(t *testing.T) {
		r := testRepo(t)
		sn, err := backup(t, r, Conn{Engine: "mysql", Host: s.sock(), User: "root", All: true}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sn.Paths[0] != "/all.sql" {
			t.Fatalf("paths %v", sn.Paths)
		}
	})
	t.Run("password never on a command line; defaults file removed", func(t *testing.T) {
		r := testRepo(t)
		var seen []string
		var secretDir string
		stop := make(chan struct{})
		scanned := make(chan struct{})
		_, err := backup(t, r, s.conn("shop"), Options{TempDir: t.TempDir(), onStart: func(pid int, dir string) {
			secretDir = dir
			go func() {
				defer close(scanned)
				for {
					seen = append(seen, scanCmdlines(t, myPassword)...)
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}()
		}})
		close(stop)
		<-scanned
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) > 0 {
			t.Fatalf("password found in /proc/*/cmdline: %v", seen)
		}
		if secretDir == "" {
			t.Fatal("no credentials directory was used")
		}
		if _, err := os.Stat(secretDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("credentials directory %s still exists: %v", secretDir, err)
		}
	})
	t.Run("failures", func(t *testing.T) {
		wrong := s.conn("shop")
		wrong.Password = "nope"
		checkFailures(t, s.conn("shop"), map[string]Conn{"wrong password": wrong, "missing database": s.conn("no_such_db")}, 20*time.Millisecond)
	})
}

// scanCmdlines returns the pids whose command line contains secret.
func scanCmdlines(t *testing.T, secret string) []string {
	var hits []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			hits = append(hits, p+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return hits
}

func (s *myServer) target(db string) string { return db }

// checkAdded logs what the second of two backups added and fails if it
// stored more than three new chunks per changed place: a change costs the
// chunk holding it and, where it moves a cut, one or two more. The share of
// the dump is chunk granularity (about 1.5 MiB a chunk) over the dump size.
func checkAdded(t *testing.T, what string, sn *repo.Snapshot, places int) {
	t.Helper()
	pct := 100 * float64(sn.Summary.BytesAddedRaw) / float64(sn.Summary.TotalBytes)
	chunks := sn.Summary.BlobsNew // data chunks only
	t.Logf("%s: dump %d bytes, second backup added %d raw (%.1f%%) in %d new chunks", what,
		sn.Summary.TotalBytes, sn.Summary.BytesAddedRaw, pct, chunks)
	if chunks > int64(3*places) {
		t.Errorf("%s: %d new chunks for %d changed places", what, chunks, places)
	}
}
