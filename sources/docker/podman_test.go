package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cairn/sources/db"
	"cairn/sources/stream"
)

// The end-to-end test runs podman's Docker-compatible API service
// (docs/source-docker.md, ../shared/TESTING.md) on a unix socket in a temp
// dir, with its own storage under podmanRoot so that the test image is
// built once and reused across runs, and so that containers of other
// podman users on the machine do not interfere.

// podmanRoot is the podman storage used by the test; CAIRN_PODMAN_ROOT
// overrides it.
func podmanRoot() string {
	if d := os.Getenv("CAIRN_PODMAN_ROOT"); d != "" {
		return d
	}
	return "/var/tmp/cairn-podman-test"
}

// Fake dump tools for the busybox image: they check that the password
// arrived in their environment and write a deterministic dump.
const fakePgDump = `#!/bin/sh
if [ "$PGPASSWORD" != "pg-secret" ]; then
  echo "pg_dump: error: connection to server failed: FATAL:  password authentication failed for user \"$PGUSER\"" >&2
  exit 1
fi
echo "PGDMP fake dump of $PGDATABASE as $PGUSER; argv: $*"
i=0
while [ $i -lt 3000 ]; do echo "row $i of $PGDATABASE"; i=$((i+1)); done
echo "pg_dump: dumped $i rows" >&2
`

// fakeRedisCli serves "redis-cli --rdb -" from an RDB a real redis-server
// saved on the host, mounted at /rdb (TestDockerPodmanRedisSorted).
const fakeRedisCli = `#!/bin/sh
exec cat /rdb/dump.rdb
`

const fakeMariaDump = `#!/bin/sh
for a; do db=$a; done
if [ "$MYSQL_PWD" != 'maria"secret' ]; then
  echo "mariadb-dump: Got error: 1045: \"Access denied for user\" when trying to connect" >&2
  exit 2
fi
if [ "$db" = missing ]; then
  echo "mariadb-dump: Got error: 1049: \"Unknown database 'missing'\" when selecting the database" >&2
  exit 2
fi
echo "-- MariaDB dump of $db; argv: $*"
echo "INSERT INTO t VALUES (1);"
`

// requirePodman skips the test when podman cannot run here, or fails it
// when CAIRN_REQUIRE_DOCKER=1.
func requirePodman(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (rootless podman needs subuid/subgid setup this test does not do)")
	}
	for _, p := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p+" (apt-get install podman runc, or scripts/db-deps.sh)")
		}
	}
	if !staticBusybox("/bin/busybox") {
		missing = append(missing, "a statically linked /bin/busybox (apt-get install busybox-static, or scripts/db-deps.sh)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "podman end-to-end test needs " + strings.Join(missing, ", ")
	if os.Getenv("CAIRN_REQUIRE_DOCKER") == "1" {
		t.Fatal(msg + "; CAIRN_REQUIRE_DOCKER=1")
	}
	t.Skip(msg)
}

// staticBusybox reports whether path is an ELF executable without an
// interpreter: it then runs in an image holding nothing else.
func staticBusybox(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// newPodman writes the containers.conf podman needs here: crun refuses
// this machine's hybrid cgroups, and root here cannot raise rlimits
// (../shared/TESTING.md). exit_command_delay: each exec session's conmon
// otherwise lingers 300 s after the exec ends (Docker's exec cleanup
// delay), so a test run left a dozen conmon processes behind; 10 s still
// leaves the client time to inspect the exit code.
func newPodman(t *testing.T) *podman {
	conf := filepath.Join(t.TempDir(), "containers.conf")
	err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n[engine]\nruntime = \"runc\"\nexit_command_delay = 10\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return &podman{t: t, conf: conf, root: podmanRoot()}
}

type podman struct {
	t    *testing.T
	conf string
	root string
}

func (p *podman) cmd(args ...string) *exec.Cmd {
	all := append([]string{"--root", filepath.Join(p.root, "storage"), "--runroot", filepath.Join(p.root, "run")}, args...)
	cmd := exec.Command("podman", all...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	return cmd
}

func (p *podman) run(stdin []byte, args ...string) string {
	p.t.Helper()
	cmd := p.cmd(args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.fail(fmt.Sprintf("podman %s: %v\n%s", strings.Join(args, " "), err, out))
	}
	return strings.TrimSpace(string(out))
}

// fail fails the test, or skips it when podman itself cannot run here
// and CAIRN_REQUIRE_DOCKER is not set.
func (p *podman) fail(msg string) {
	p.t.Helper()
	if os.Getenv("CAIRN_REQUIRE_DOCKER") == "1" {
		p.t.Fatal(msg)
	}
	p.t.Skip("podman cannot run here: " + msg)
}

// image returns the busybox test image, importing it unless a copy with
// the same content is already in the test's podman storage.
func (p *podman) image() string {
	p.t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		p.t.Fatal(err)
	}
	h := sha256.New()
	h.Write(bb)
	h.Write([]byte(fakePgDump + fakeMariaDump + fakeRedisCli))
	name := "localhost/cairn-test-busybox:" + hex.EncodeToString(h.Sum(nil))[:12]
	if p.cmd("image", "exists", name).Run() == nil {
		return name
	}
	rootfs := p.t.TempDir()
	for _, d := range []string{"bin", "etc/cairn-test", "tmp", "data"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			p.t.Fatal(err)
		}
	}
	files := map[string]string{"bin/busybox": string(bb), "bin/pg_dump": fakePgDump, "bin/mariadb-dump": fakeMariaDump, "bin/redis-cli": fakeRedisCli,
		"etc/cairn-test/dbpw": "maria\"secret\n"}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, f), []byte(content), 0o755); err != nil {
			p.t.Fatal(err)
		}
	}
	for _, a := range []string{"sh", "sleep", "cat", "echo", "[", "test", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			p.t.Fatal(err)
		}
	}
	tar := exec.Command("tar", "-C", rootfs, "-c", ".")
	out, err := tar.Output()
	if err != nil {
		p.t.Fatalf("tar rootfs: %v", err)
	}
	p.run(out, "import", "--change", "ENV=PATH=/bin", "-", name)
	return name
}

// service starts `podman system service` on a socket in a temp dir and
// returns its unix:// URL; it is stopped when the test ends.
func (p *podman) service() string {
	p.t.Helper()
	sock := filepath.Join(p.t.TempDir(), "podman.sock")
	url := "unix://" + sock
	cmd := p.cmd("system", "service", "--time=0", url)
	var logb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		p.fail(fmt.Sprintf("start podman system service: %v", err))
	}
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := NewClient(ctx, url)
		cancel()
		if err == nil {
			c.Close()
			return url
		}
		if time.Now().After(deadline) {
			p.fail(fmt.Sprintf("podman system service did not answer on %s: %v\n%s", sock, err, logb.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDockerPodman(t *testing.T) {
	requirePodman(t)
	ctx := context.Background()
	p := newPodman(t)
	img := p.image()

	rb := make([]byte, 4)
	rand.Read(rb)
	run := "cairn-e2e-" + hex.EncodeToString(rb)
	containers := []struct {
		name   string
		args   []string
		labels map[string]string
	}{
		{"pg", []string{"-e", "DBPW=pg-secret"}, map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres",
			"cairn.db.name": "shop", "cairn.db.user": "app", "cairn.db.password_env": "DBPW"}},
		{"maria", nil, map[string]string{"baktainer.backup": "true", "baktainer.db.engine": "mariadb",
			"baktainer.db.name": "wp", "baktainer.db.user": "root", "baktainer.db.password_file": "/etc/cairn-test/dbpw"}},
		{"plain", nil, map[string]string{"com.example.role": "web"}},
		{"invalid", nil, map[string]string{"cairn.backup": "true", "cairn.db.engine": "postgres", "cairn.db.user": "app"}},
	}
	var names []string
	for _, c := range containers {
		name := run + "-" + c.name
		args := []string{"run", "-d", "--name", name, "--network=none", "--label", "cairn-e2e=" + run}
		for k, v := range c.labels {
			args = append(args, "--label", k+"="+v)
		}
		args = append(args, c.args...)
		args = append(args, img, "sleep", "600")
		p.run(nil, args...)
		names = append(names, name)
	}
	t.Cleanup(func() {
		_ = p.cmd(append([]string{"rm", "-f", "-t", "0"}, names...)...).Run()
	})

	url := p.service()
	c, err := NewClient(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("podman serves Engine API %s", c.APIVersion())

	targets, invalid, err := Discover(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Other runs' containers may share the storage: look at ours only.
	mine := map[string]*Target{}
	for _, tg := range targets {
		if strings.HasPrefix(tg.Name, run+"-") {
			mine[strings.TrimPrefix(tg.Name, run+"-")] = tg
		}
	}
	if len(mine) != 2 || mine["pg"] == nil || mine["maria"] == nil {
		t.Fatalf("found %v, want pg and maria", mine)
	}
	if mine["pg"].Prefix != "cairn" || mine["maria"].Prefix != "baktainer" || mine["pg"].Image != img {
		t.Errorf("targets %+v %+v", mine["pg"], mine["maria"])
	}
	var verr []string
	for _, e := range invalid {
		var ve *ValidationError
		if errors.As(e, &ve) && strings.HasPrefix(ve.Container, run+"-") {
			verr = append(verr, e.Error())
		}
	}
	want := "container " + run + "-invalid: label cairn.db.name: missing"
	if len(verr) != 1 || !strings.HasPrefix(verr[0], want) {
		t.Errorf("validation errors %q, want one starting %q", verr, want)
	}

	r := testRepo(t)
	sr := stream.Repository{Repository: r}
	var stderr bytes.Buffer
	opts := Options{Save: stream.SaveOptions{Chunker: r.ChunkerParams()}, Stderr: &stderr}
	for _, which := range []string{"pg", "maria"} {
		tg := mine[which]
		sn, err := Backup(ctx, c, sr, tg, opts)
		if err != nil {
			t.Fatalf("%s: %v", which, err)
		}
		node, err := stream.Find(ctx, sr, sn.Tree)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := stream.Copy(ctx, sr, node, &got); err != nil {
			t.Fatal(err)
		}
		src, err := db.SourceOf(sn)
		if err != nil || src.Container != tg.Name || src.Image != img {
			t.Errorf("%s: source %+v, %v", which, src, err)
		}
		if len(sn.Tags) != 1 || sn.Tags[0] != tg.Name {
			t.Errorf("%s: tags %v", which, sn.Tags)
		}
		switch which {
		case "pg":
			lines := strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")
			if len(lines) != 3001 || lines[0] != "PGDMP fake dump of shop as app; argv: --no-password --format=custom --compress=0" || lines[3000] != "row 2999 of shop" {
				t.Errorf("pg dump: %d lines, first %q", len(lines), lines[0])
			}
		case "maria":
			if !strings.HasPrefix(got.String(), "-- MariaDB dump of wp; argv: --user=root --single-transaction") {
				t.Errorf("maria dump %q", got.String())
			}
		}
	}
	if !strings.Contains(stderr.String(), "pg_dump: dumped 3000 rows") {
		t.Errorf("dump stderr not passed through: %q", stderr.String())
	}

	// Failures leave no snapshot and name the container: a dump exiting
	// non-zero, a wrong password, a dump tool missing in the image.
	missingDB := *mine["maria"]
	missingDB.Database = "missing"
	wrongPW := *mine["pg"]
	wrongPW.Password = PasswordSource{Literal: "wrong"}
	noTool := *mine["pg"]
	noTool.Engine, noTool.Database, noTool.Password = "sqlite", "/data/app.db", PasswordSource{}
	for _, tc := range []struct {
		tg   *Target
		want string
	}{
		{&missingDB, "Unknown database 'missing'"},
		{&wrongPW, "password authentication failed"},
		{&noTool, "sqlite3"},
	} {
		_, err := Backup(ctx, c, sr, tc.tg, opts)
		if err == nil || !strings.Contains(err.Error(), "container "+tc.tg.Name+":") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s/%s: err = %v, want one naming the container and %q", tc.tg.Name, tc.tg.Engine, err, tc.want)
		} else {
			t.Logf("as expected: %v", err)
		}
	}
	if ids, _ := r.SnapshotIDs(ctx); len(ids) != 2 {
		t.Errorf("%d snapshots, want 2", len(ids))
	}
}
