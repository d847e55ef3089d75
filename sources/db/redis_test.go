package db

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cairn/repo"
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
	const keys = 200000
	src.load(t, keys)
	conn := Conn{Engine: "redis", Host: "127.0.0.1", Port: src.port, Password: redisPassword}
	r := testRepo(t)
	sn1, err := backup(t, r, conn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info := sortInfo(t, sn1); info.Keys != keys || info.Fallback != "" || info.Runs != 1 {
		t.Fatalf("RDB sort: %+v, want %d keys in one run", info, keys)
	}
	// 1% of the keys, a range of ids (as the postgres test changes a
	// range of rows). In the server's hash order they are scattered over
	// the whole RDB; sorted by name they sit together, here in the middle
	// of the file, away from the header's chunk (which changes anyway).
	src.set(t, 150000, 152000, 1)
	sn2, err := backup(t, r, conn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	share := float64(sn2.Summary.BytesAddedRaw) / float64(sn2.Summary.TotalBytes)
	t.Logf("redis: RDB %d bytes; first backup added %d, keys 150000-151999 changed: second added %d raw (%.1f%% of the dump)",
		sn2.Summary.TotalBytes, sn1.Summary.BytesAddedRaw, sn2.Summary.BytesAddedRaw, 100*share)
	if share > 0.20 {
		t.Errorf("changing 1%% of the keys added %.1f%% of the dump, want well under 20%%", 100*share)
	}
	want := must(t, src, "DEBUG", "DIGEST")

	dst := startRedis(t, "")
	restoreSnapshot(t, r, sn2, Conn{Engine: "redis", Host: "127.0.0.1", Port: dst.port}, "")
	if got := must(t, dst, "DEBUG", "DIGEST"); got != want {
		t.Fatalf("restored digest %s, want %s", got, want)
	}
	if n := must(t, dst, "DBSIZE"); n != strconv.Itoa(keys) {
		t.Fatalf("restored %s keys", n)
	}

	t.Run("restarted server", func(t *testing.T) {
		// dst holds the same data in another server process, whose
		// hash seed orders the keys differently: unsorted, every byte
		// of its RDB would be new.
		sn, err := backup(t, r, Conn{Engine: "redis", Host: "127.0.0.1", Port: dst.port}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		share := float64(sn.Summary.BytesAddedRaw) / float64(sn.Summary.TotalBytes)
		t.Logf("redis, same data from a restarted server: added %d raw (%.1f%% of the dump) in %d new blobs",
			sn.Summary.BytesAddedRaw, 100*share, sn.Summary.BlobsNew)
		// Only the header (creation time, memory use) differs: one data
		// chunk, up to the chunker's maximum size, and the file's tree.
		if sn.Summary.BlobsNew > 2 {
			t.Errorf("the same data from another server process added %d new blobs (%.1f%% of the dump), want the header's chunk and a tree", sn.Summary.BlobsNew, 100*share)
		}
	})
	t.Run("scattered change", func(t *testing.T) {
		// Every 100th key: 1% of the keys spread evenly over the key
		// space touches nearly every chunk, sorted or not (as 1% of
		// rows changed at random does for every engine). Logged only.
		src.set(t, 0, keys, 100)
		sn, err := backup(t, r, conn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("redis, every 100th key changed: added %d raw (%.1f%% of the dump)",
			sn.Summary.BytesAddedRaw, 100*float64(sn.Summary.BytesAddedRaw)/float64(sn.Summary.TotalBytes))
	})
	t.Run("raw dump", func(t *testing.T) {
		sn, err := backup(t, r, conn, Options{RawDump: true})
		if err != nil {
			t.Fatal(err)
		}
		if sortInfo(t, sn) != nil {
			t.Fatal("--raw-dump RDB was sorted")
		}
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

// TestRedisSortedRDBTypes backs up a server holding every value encoding
// Redis 7 writes (small and large lists, sets, sorted sets, hashes, a
// stream with a consumer group and pending entries, integer and
// LZF-compressed key names, expiries, two databases) and restores it into
// another server: the sorted RDB must load (its checksum is verified on
// load) and hold the same data.
func TestRedisSortedRDBTypes(t *testing.T) {
	t.Parallel()
	requireTools(t, "redis-check-rdb")
	src := startRedis(t, "")
	var cmds strings.Builder
	many := func(prefix string, n int, f func(i int) string) string {
		var b strings.Builder
		b.WriteString(prefix)
		for i := range n {
			b.WriteString(" " + f(i))
		}
		return b.String()
	}
	for _, c := range []string{
		"SET 12345 int-named", "SET -7 negative", "SET 4000000000 large-int-name",
		"SET " + strings.Repeat("session:", 6) + "42 lzf-named", "SET plain value",
		"SET ttl expiring EX 100000", "SET pttl expiring PX 100000000",
		"RPUSH small-list a b c",
		many("RPUSH big-list", 2000, func(i int) string { return fmt.Sprintf("item-%d-%s", i, strings.Repeat("x", i%50)) }),
		"SADD intset 1 2 3 100000", "SADD small-set a b c",
		many("SADD big-set", 1000, func(i int) string { return fmt.Sprintf("m%d", i) }),
		"ZADD small-zset 1 a 2.5 b", many("ZADD big-zset", 500, func(i int) string { return fmt.Sprintf("%d.25 z%d", i, i) }),
		"HSET small-hash f v g w", many("HSET big-hash", 1000, func(i int) string { return fmt.Sprintf("f%d %s", i, strings.Repeat("v", i%80+1)) }),
		"XADD stream 1-1 f v", "XADD stream 2-1 f w", "XADD stream 3-1 g x", "XGROUP CREATE stream grp 0",
		"XREADGROUP GROUP grp alice COUNT 2 STREAMS stream >", "XGROUP CREATE stream grp2 $",
		"SELECT 1", "SET other-db yes", "HSET other-hash a 1",
	} {
		cmds.WriteString(c + "\n")
	}
	src.pipe(t, cmds.String())
	r := testRepo(t)
	sn, err := backup(t, r, Conn{Engine: "redis", Host: "127.0.0.1", Port: src.port}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info := sortInfo(t, sn)
	if info == nil || info.Fallback != "" || info.Keys != 19 || info.Runs != 2 {
		t.Fatalf("RDB sort: %+v, want 19 keys in 2 runs (one per database)", info)
	}
	dst := startRedis(t, "")
	restoreSnapshot(t, r, sn, Conn{Engine: "redis", Host: "127.0.0.1", Port: dst.port}, "")
	for _, q := range [][]string{{"DEBUG", "DIGEST"}, {"XPENDING", "stream", "grp"}, {"XINFO", "GROUPS", "stream"}, {"TTL", "ttl"}, {"-n", "1", "DBSIZE"}} {
		if a, b := must(t, src, q...), must(t, dst, q...); a != b {
			t.Errorf("%v: source %q, restored %q", q, a, b)
		}
	}
	// Redis's own checker reads the stored RDB as a file.
	file := filepath.Join(t.TempDir(), "dump.rdb")
	restoreSnapshot(t, r, sn, Conn{Engine: "redis"}, file)
	if out, err := exec.Command("redis-check-rdb", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "RDB looks OK") {
		t.Fatalf("redis-check-rdb: %v\n%s", err, out)
	}
	t.Logf("RDB of %d bytes, %+v", sn.Summary.TotalBytes, *info)
}

func must(t *testing.T, s *redisServer, args ...string) string {
	t.Helper()
	out, err := s.cli(s.password, args...)
	if err != nil || strings.HasPrefix(out, "ERR") {
		t.Fatalf("redis-cli %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// sortInfo returns what sorting the snapshot's RDB did (nil: unsorted).
func sortInfo(t *testing.T, sn *repo.Snapshot) *RDBSortInfo {
	t.Helper()
	src, err := SourceOf(sn)
	if err != nil {
		t.Fatal(err)
	}
	return src.SortedRDB
}

// load stores n keys key:0 … key:n-1, each with about 250 bytes of text
// that varies from key to key, through redis-cli --pipe.
func (s *redisServer) load(t *testing.T, n int) {
	t.Helper()
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu")
	var b strings.Builder
	x := uint32(7)
	for i := range n {
		var v strings.Builder
		for v.Len() < 250 {
			x = x*1664525 + 1013904223
			v.WriteString(words[x>>27%uint32(len(words))])
			fmt.Fprintf(&v, "%d ", x>>20)
		}
		k := fmt.Sprintf("key:%d", i)
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, v.Len(), v.String())
	}
	cmd := exec.Command("redis-cli", "--no-auth-warning", "-p", strconv.Itoa(s.port), "--pipe")
	cmd.Env = []string{"REDISCLI_AUTH=" + s.password}
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "errors: 0") {
		t.Fatalf("redis-cli --pipe: %v %s", err, out)
	}
}

// pipe sends newline-separated commands through redis-cli.
func (s *redisServer) pipe(t *testing.T, commands string) {
	t.Helper()
	cmd := exec.Command("redis-cli", "--no-auth-warning", "-p", strconv.Itoa(s.port))
	if s.password != "" {
		cmd.Env = []string{"REDISCLI_AUTH=" + s.password}
	}
	cmd.Stdin = strings.NewReader(commands)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "ERR") {
		t.Fatalf("%v %s", err, out)
	}
}

// set changes keys key:from, key:from+step, … below to.
func (s *redisServer) set(t *testing.T, from, to, step int) {
	t.Helper()
	var cmds strings.Builder
	for i := from; i < to; i += step {
		fmt.Fprintf(&cmds, "SET key:%d changed-%d\n", i, i)
	}
	s.pipe(t, cmds.String())
}
