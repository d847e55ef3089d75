package docker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cairn/sources/db"
	"cairn/sources/stream"
)

// TestDockerPodmanRedisSorted backs up a redis-labelled container through
// podman's Docker API: the RDB (saved by a real redis-server on the host
// and served by the image's stand-in redis-cli, as no redis image can be
// built here without a registry) is stored with its keys sorted, loadable
// by redis-check-rdb; with RawDump it is stored byte for byte.
func TestDockerPodmanRedisSorted(t *testing.T) {
	requirePodman(t)
	for _, tool := range []string{"redis-server", "redis-cli", "redis-check-rdb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CAIRN_REQUIRE_DOCKER") == "1" {
				t.Fatalf("%s not on the host; CAIRN_REQUIRE_DOCKER=1", tool)
			}
			t.Skipf("%s not on the host (it makes the RDB)", tool)
		}
	}
	rdbDir := t.TempDir()
	original := saveRDB(t, rdbDir, 50)

	ctx := context.Background()
	p := newPodman(t)
	img := p.image()
	name := "cairn-e2e-redis-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	p.run(nil, "run", "-d", "--name", name, "--network=none", "-v", rdbDir+":/rdb:ro",
		"--label", "cairn.backup=true", "--label", "cairn.db.engine=redis", img, "sleep", "600")
	t.Cleanup(func() { _ = p.cmd("rm", "-f", "-t", "0", name).Run() })
	c, err := NewClient(ctx, p.service())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	targets, _, err := Discover(ctx, c, []string{"cairn"})
	if err != nil {
		t.Fatal(err)
	}
	var tg *Target
	for _, x := range targets {
		if x.Name == name {
			tg = x
		}
	}
	if tg == nil {
		t.Fatalf("container %s not discovered", name)
	}
	r := testRepo(t)
	sr := stream.Repository{Repository: r}
	stored := func(opts Options) ([]byte, *db.RDBSortInfo) {
		t.Helper()
		opts.Save = stream.SaveOptions{Chunker: r.ChunkerParams()}
		sn, err := Backup(ctx, c, sr, tg, opts)
		if err != nil {
			t.Fatal(err)
		}
		node, err := stream.Find(ctx, sr, sn.Tree)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := stream.Copy(ctx, sr, node, &buf); err != nil {
			t.Fatal(err)
		}
		src, err := db.SourceOf(sn)
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), src.SortedRDB
	}

	sorted, info := stored(Options{})
	if info == nil || info.Keys != 50 || info.Fallback != "" {
		t.Fatalf("sort info %+v, want 50 keys sorted", info)
	}
	if len(sorted) != len(original) || bytes.Equal(sorted, original) {
		t.Fatalf("stored RDB: %d bytes (original %d), reordered %v", len(sorted), len(original), !bytes.Equal(sorted, original))
	}
	if i, j := bytes.Index(sorted, []byte("key:10")), bytes.Index(sorted, []byte("key:9")); i < 0 || j < 0 || i > j {
		t.Errorf("key:10 at %d, key:9 at %d: not in name order", i, j)
	}
	file := filepath.Join(t.TempDir(), "sorted.rdb")
	if err := os.WriteFile(file, sorted, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("redis-check-rdb", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "RDB looks OK") {
		t.Fatalf("redis-check-rdb on the stored RDB: %v\n%s", err, out)
	}

	raw, info := stored(Options{RawDump: true})
	if info != nil || !bytes.Equal(raw, original) {
		t.Fatalf("RawDump: sort info %+v, stored RDB equal to the server's: %v", info, bytes.Equal(raw, original))
	}
}

// saveRDB runs a redis-server in dir, stores n keys and saves dir/dump.rdb,
// whose content it returns.
func saveRDB(t *testing.T, dir string, n int) []byte {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	srv := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", dir)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	for i := 0; ; i++ {
		if out, _ := exec.Command("redis-cli", "-p", port, "PING").Output(); strings.TrimSpace(string(out)) == "PONG" {
			break
		} else if i > 200 {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(25 * time.Millisecond)
	}
	var cmds strings.Builder
	for i := range n {
		fmt.Fprintf(&cmds, "SET key:%d value-%d\n", i, i)
	}
	cmds.WriteString("SAVE\n")
	cli := exec.Command("redis-cli", "-p", port)
	cli.Stdin = strings.NewReader(cmds.String())
	if out, err := cli.CombinedOutput(); err != nil || strings.Count(string(out), "OK") != n+1 {
		t.Fatalf("redis-cli: %v %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
