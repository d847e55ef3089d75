package db

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cairn/sources/stream"
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
INSERT INTO orders SELECT seq, CONCAT('customer-', seq % 997), seq * 1.25, REPEAT(CHAR(65 + seq % 26), 60) FROM seq_1_to_300000;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('name-', seq) FROM seq_1_to_997;`)
}

func (s *myServer) change(t *testing.T, db string) {
	s.sql(t, db, "UPDATE orders SET amount = amount + 1, note = 'changed' WHERE id BETWEEN 150001 AND 153000;")
}

func (s *myServer) checksums(t *testing.T, db string) map[string]string {
	out := map[string]string{}
	for _, tbl := range []string{"orders", "customers"} {
		out[tbl] = strings.TrimSpace(s.sql(t, db, "SELECT COUNT(*) FROM "+tbl+"; CHECKSUM TABLE "+tbl+" EXTENDED;"))
		out[tbl] = strings.ReplaceAll(out[tbl], db+".", "")
	}
	return out
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	s := startMariaDB(t)
	t.Run("incremental and restore", func(t *testing.T) { incrementalAndRestore(t, s, "shop_restored") })
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
		r := testRepo(t)
		tmp := t.TempDir()
		wrong := s.conn("shop")
		wrong.Password = "nope"
		for name, c := range map[string]Conn{"wrong password": wrong, "missing database": s.conn("no_such_db")} {
			_, err := backup(t, r, c, Options{TempDir: tmp})
			if err == nil {
				t.Fatalf("%s: backup succeeded", name)
			}
			t.Logf("%s: %v", name, err)
		}
		_, err := backup(t, r, s.conn("shop"), Options{TempDir: tmp, onStart: func(pid int, _ string) {
			go func() { time.Sleep(20 * time.Millisecond); syscall.Kill(pid, syscall.SIGKILL) }()
		}})
		var ee *stream.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("killed dump: %v", err)
		}
		if n := snapshotCount(t, r); n != 0 {
			t.Fatalf("%d snapshots after failed dumps", n)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
			t.Fatalf("credential files left behind: %v", left)
		}
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
