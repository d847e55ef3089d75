package docker

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cairn/sources/stream"
)

// pgImage is the PostgreSQL 15 test image: a debootstrap'ed bookworm with
// postgresql-15 from Debian, built once (about two minutes: debootstrap
// ~80 s, podman build ~50 s) and kept in the test's podman storage.
const pgImage = "localhost/cairn-test-postgres:15-v1"

// pgInit starts a private cluster with password (scram) authentication
// on the container's unix socket, seeds a database and stays up.
const pgInit = `set -e
mkdir -p /var/run/postgresql /tmp/pg && chown postgres /var/run/postgresql /tmp/pg
printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pg/pwf && chown postgres /tmp/pg/pwf
su postgres -c 'initdb -D /tmp/pg/data -A scram-sha-256 -U postgres --pwfile=/tmp/pg/pwf --no-sync' >/tmp/pg/initdb.log
rm /tmp/pg/pwf
su postgres -c "pg_ctl -D /tmp/pg/data -o \"-c listen_addresses='' -k /var/run/postgresql\" -l /tmp/pg/log -w start" >/dev/null
export PGPASSWORD="$POSTGRES_PASSWORD"
psql -U postgres -v ON_ERROR_STOP=1 -q -c 'CREATE DATABASE shop'
psql -U postgres -d shop -v ON_ERROR_STOP=1 -q -c "CREATE TABLE items (id int primary key, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g"
unset PGPASSWORD
touch /tmp/pg/ready
exec sleep infinity
`

// pgTestImage builds pgImage unless it is in the storage already; a
// failure to reach the Debian mirror skips (or fails with
// CAIRN_REQUIRE_DOCKER=1).
func (p *podman) pgTestImage() string {
	p.t.Helper()
	if p.cmd("image", "exists", pgImage).Run() == nil {
		return pgImage
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		p.fail("debootstrap not installed (scripts/db-deps.sh)")
	}
	dir := p.t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	out, err := exec.Command("debootstrap", "--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian").CombinedOutput()
	if err != nil {
		p.fail("debootstrap bookworm: " + err.Error() + "\n" + tailString(string(out), 2000))
	}
	tar, err := exec.Command("tar", "-C", rootfs, "-c", ".").Output()
	if err != nil {
		p.t.Fatalf("tar rootfs: %v", err)
	}
	base := pgImage + "-base"
	p.run(tar, "import", "-", base)
	cf := "FROM " + base + "\n" +
		"RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null && rm -rf /var/lib/apt/lists/*\n" +
		"ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(cf), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.run(nil, "build", "--network=host", "-t", pgImage, "-f", filepath.Join(dir, "Containerfile"), dir)
	_ = p.cmd("rmi", base).Run() // the built image keeps the layer
	return pgImage
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestDockerPodmanPostgres dumps a real PostgreSQL 15 running in a
// container with password authentication: the password comes from the
// container's POSTGRES_PASSWORD through the exec's environment.
func TestDockerPodmanPostgres(t *testing.T) {
	requirePodman(t)
	pgRestore := "/usr/lib/postgresql/15/bin/pg_restore"
	if _, err := os.Stat(pgRestore); err != nil {
		if os.Getenv("CAIRN_REQUIRE_DOCKER") == "1" {
			t.Fatal("pg_restore 15 not on the host; CAIRN_REQUIRE_DOCKER=1")
		}
		t.Skip("pg_restore 15 not on the host (checks the dump)")
	}
	ctx := context.Background()
	p := newPodman(t)
	img := p.pgTestImage()
	name := "cairn-e2e-pg-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	pw := "pg S3cret:'x\\"
	p.run(nil, "run", "-d", "--name", name, "--network=none", "-e", "POSTGRES_PASSWORD="+pw,
		"--label", "cairn.backup=true", "--label", "cairn.db.engine=postgres", "--label", "cairn.db.name=shop",
		"--label", "cairn.db.user=postgres", "--label", "cairn.db.password_env=POSTGRES_PASSWORD",
		img, "sh", "-c", pgInit)
	t.Cleanup(func() { _ = p.cmd("rm", "-f", "-t", "0", name).Run() })
	deadline := time.Now().Add(60 * time.Second)
	for p.cmd("exec", name, "test", "-e", "/tmp/pg/ready").Run() != nil {
		if time.Now().After(deadline) {
			logs, _ := p.cmd("logs", name).CombinedOutput()
			t.Fatalf("postgres in %s did not start:\n%s", name, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}

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
		t.Fatalf("container %s not discovered among %d", name, len(targets))
	}
	r := testRepo(t)
	sr := stream.Repository{Repository: r}
	opts := Options{Save: stream.SaveOptions{Chunker: r.ChunkerParams()}}
	sn, err := Backup(ctx, c, sr, tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	node, err := stream.Find(ctx, sr, sn.Tree)
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "shop.pgdump")
	f, err := os.Create(dump)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Copy(ctx, sr, node, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sql, err := exec.Command(pgRestore, "-f", "-", dump).Output()
	if err != nil {
		t.Fatalf("pg_restore of the stored dump: %v", err)
	}
	if n := bytes.Count(sql, []byte("\titem ")); n != 5000 {
		t.Errorf("restored dump holds %d item rows, want 5000", n)
	}
	t.Logf("pg_dump in the container: %d bytes stored as snapshot %s", node.Size, sn.ID.Short())

	// Without the password the server refuses: no snapshot.
	noPW := *tg
	noPW.Password = PasswordSource{}
	_, err = Backup(ctx, c, sr, &noPW, opts)
	if err == nil || !strings.Contains(err.Error(), "container "+name+":") || !strings.Contains(err.Error(), "no password supplied") {
		t.Errorf("dump without password: %v", err)
	}
	if ids, _ := r.SnapshotIDs(ctx); len(ids) != 1 {
		t.Errorf("%d snapshots, want 1", len(ids))
	}
}
