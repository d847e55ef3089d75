package db

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redisServer is a private redis-server on 127.0.0.1 with persistence off
// and DEBUG allowed locally (restore reloads the RDB with DEBUG RELOAD).
type redisServer struct {
	dir, password string
	port          int
}

func startRedis(t *testing.T, password string) *redisServer {
	t.Helper()
	requireTools(t, "redis-server", "redis-cli")
	s := &redisServer{dir: t.TempDir(), port: freePort(t), password: password}
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--enable-debug-command", "local", "--daemonize", "no"}
	if password != "" {
		args = append(args, "--requirepass", password)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if out, _ := s.cli(password, "PING"); strings.TrimSpace(out) == "PONG" {
			return s
		}
		if i > 200 {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *redisServer) cli(password string, args ...string) (string, error) {
	cmd := exec.Command("redis-cli", append([]string{"--no-auth-warning", "-p", strconv.Itoa(s.port)}, args...)...)
	if password != "" {
		cmd.Env = []string{"REDISCLI_AUTH=" + password}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const redisPassword = "redis pw"

func TestRedis(t *testing.T) {
	t.Parallel()
	src := startRedis(t, redisPassword)
	must := func(s *redisServer, args ...string) string {
		t.Helper()
		out, err := s.cli(s.password, args...)
		if err != nil || strings.HasPrefix(out, "ERR") {
			t.Fatalf("redis-cli %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(out)
	}
	must(src, "DEBUG", "POPULATE", "300000", "key", "100")
	conn := Conn{Engine: "redis", Host: "127.0.0.1", Port: src.port, Password: redisPassword}
	r := testRepo(t)
	sn1, err := backup(t, r, conn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Change 1% of the keys. Keys sit in hash-table order in an RDB, so
	// the changes are scattered over the whole dump: the figure is logged,
	// not held to the 20% bound (docs/source-db.md).
	src.set(t, 0, 300000, 100)
	sn2, err := backup(t, r, conn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("redis: RDB %d bytes; first backup added %d, second added %d raw (%.1f%% of the dump)",
		sn2.Summary.TotalBytes, sn1.Summary.BytesAddedRaw, sn2.Summary.BytesAddedRaw,
		100*float64(sn2.Summary.BytesAddedRaw)/float64(sn2.Summary.TotalBytes))
	want := must(src, "DEBUG", "DIGEST")

	dst := startRedis(t, "")
	restoreSnapshot(t, r, sn2, Conn{Engine: "redis", Host: "127.0.0.1", Port: dst.port}, "")
	if got := must(dst, "DEBUG", "DIGEST"); got != want {
		t.Fatalf("restored digest %s, want %s", got, want)
	}
	if n := must(dst, "DBSIZE"); n != "300000" {
		t.Fatalf("restored %s keys", n)
	}

	t.Run("clustered change", func(t *testing.T) {
		// 1% of the keys with consecutive names: in key order they
		// would sit together, in the RDB's hash-table order they are
		// scattered like the change above.
		src.set(t, 150000, 153000, 1)
		sn3, err := backup(t, r, conn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("redis, keys 150000-152999 changed: second backup added %d raw (%.1f%% of the dump)",
			sn3.Summary.BytesAddedRaw, 100*float64(sn3.Summary.BytesAddedRaw)/float64(sn3.Summary.TotalBytes))
	})
	t.Run("failures", func(t *testing.T) {
		r := testRepo(t)
		wrong := conn
		wrong.Password = "nope"
		down := Conn{Engine: "redis", Host: "127.0.0.1", Port: freePort(t)}
		for name, c := range map[string]Conn{"wrong password": wrong, "no server": down} {
			if _, err := backup(t, r, c, Options{}); err == nil {
				t.Fatalf("%s: backup succeeded", name)
			} else {
				t.Logf("%s: %v", name, err)
			}
		}
		if n := snapshotCount(t, r); n != 0 {
			t.Fatalf("%d snapshots", n)
		}
	})
}

// set changes keys key:from, key:from+step, … below to.
func (s *redisServer) set(t *testing.T, from, to, step int) {
	t.Helper()
	var pipe strings.Builder
	for i := from; i < to; i += step {
		fmt.Fprintf(&pipe, "SET key:%d changed-%d\n", i, i)
	}
	cmd := exec.Command("redis-cli", "--no-auth-warning", "-p", strconv.Itoa(s.port))
	cmd.Env = []string{"REDISCLI_AUTH=" + s.password}
	cmd.Stdin = strings.NewReader(pipe.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
}
