package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cairn/repo/backend"
	"cairn/repo/backend/location/testserver"
	"cairn/sources/fs/fstest"
)

// End-to-end tests of the CLI against a real S3 server (versitygw on
// loopback) reached through an HTTP proxy the test controls: it counts
// every request, and injects faults when asked.

// newS3Repo starts versitygw and a proxy in front of it, and inits a
// repository at s3:http://proxy/bucket/repo with its own cache dir.
func newS3Repo(t *testing.T) (*testRepo, *faultProxy) {
	t.Helper()
	return newS3RepoWith(t, nil)
}

// newS3RepoWith is newS3Repo with extra environment for init.
func newS3RepoWith(t *testing.T, initEnv []string, initArgs ...string) (*testRepo, *faultProxy) {
	t.Helper()
	srv := testserver.StartS3(t)
	srv.Bucket(t, "cairn")
	proxy := startProxy(t, srv.Endpoint)
	dir := t.TempDir()
	tr := &testRepo{t: t, dir: dir, repo: testserver.URL(proxy.addr, "cairn", "repo"),
		cache: filepath.Join(dir, "cache"), password: "correct horse battery staple"}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(tr.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.env = append(srv.Env(), "CAIRN_REPOSITORY="+tr.repo, "CAIRN_CACHE_DIR="+tr.cache, "CAIRN_PASSWORD_FILE="+pwFile)
	if r := tr.runEnv(initEnv, append([]string{"init"}, initArgs...)...); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	return tr, proxy
}

// counted runs a command with CAIRN_REQUEST_STATS=1 and returns its result,
// the HTTP requests the proxy saw, and the backend calls cairn reported.
func (tr *testRepo) counted(p *faultProxy, args ...string) (result, int64, backend.Counts) {
	tr.t.Helper()
	before := p.requests.Load()
	r := tr.runEnv([]string{"CAIRN_REQUEST_STATS=1"}, args...)
	if r.code != 0 {
		tr.t.Fatalf("cairn %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r, p.requests.Load() - before, requestStats(tr.t, r.stderr)
}

// requestStats parses the "cairn-request-stats LOCATION {json}" line.
func requestStats(t *testing.T, stderr string) backend.Counts {
	t.Helper()
	var c backend.Counts
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) == 3 && f[0] == "cairn-request-stats" {
			if err := json.Unmarshal([]byte(f[2]), &c); err != nil {
				t.Fatalf("bad request stats %q: %v", sc.Text(), err)
			}
			return c
		}
	}
	t.Fatalf("no request stats in stderr:\n%s", stderr)
	return c
}

// TestS3RoundTripAndRequestCounts backs the core fixture up to S3,
// restores it, checks the data, and bounds what repeated commands cost:
// an unchanged second backup sends fewer than 20 requests plus one per new
// pack, index and snapshot, and listing and browsing are cheap because
// snapshots and tree packs are cached locally.
func TestS3RoundTripAndRequestCounts(t *testing.T) {
	tr, proxy := newS3Repo(t)
	// Outside tr.dir, whose metadata the restore changes: ancestors are
	// part of the snapshot's trees.
	src := filepath.Join(t.TempDir(), "src")
	fstest.MakeFixture(t, src)

	r, n, _ := tr.counted(proxy, "backup", "--json", src)
	first := parseSummary(t, r.stdout)
	t.Logf("first backup: %d HTTP requests, %d bytes added", n, first.BytesAdded)

	target := filepath.Join(tr.dir, "restore")
	tr.mustRun("restore", "latest", "--target", target)
	fstest.CompareTrees(t, src, filepath.Join(target, src))

	// The first backup's reads move the fixture's old directory atimes
	// (relatime), which trees record: the second backup stores new trees.
	r, n, _ = tr.counted(proxy, "backup", "--json", src)
	t.Logf("second backup: %d HTTP requests, %d bytes added", n, parseSummary(t, r.stdout).BytesAdded)
	r, n, c := tr.counted(proxy, "backup", "--json", src)
	second := parseSummary(t, r.stdout)
	// Ancestors outside the test's control (/tmp, changed by parallel
	// tests) can give a new root tree: a few hundred bytes in one tree pack
	// and its index file, allowed for below.
	if second.BytesAdded > 4096 || second.FilesNew+second.FilesChanged != 0 {
		t.Fatalf("unchanged backup added data: %+v", second)
	}
	newFiles := int64(1) // the snapshot
	if second.BytesAdded > 0 {
		newFiles += 2 // a tree pack and its index file
	}
	if limit := 20 + newFiles; n >= limit {
		t.Errorf("unchanged backup sent %d HTTP requests, want < %d (backend calls %+v)", n, limit, c)
	}
	t.Logf("unchanged backup: %d HTTP requests; backend calls %+v", n, c)

	for _, args := range [][]string{{"snapshots"}, {"ls", "latest"}, {"find", "*.bin"}} {
		_, n, c := tr.counted(proxy, args...)
		t.Logf("%s: %d HTTP requests (%d backend calls)", args[0], n, c.Requests())
		if n > 12 {
			t.Errorf("%s sent %d HTTP requests, want at most 12", args[0], n)
		}
	}

	// A host with an empty cache pays once for what it fetches.
	tr.env = append(tr.env, "CAIRN_CACHE_DIR="+filepath.Join(tr.dir, "cache2"))
	_, n, _ = tr.counted(proxy, "ls", "latest")
	t.Logf("ls with an empty cache: %d HTTP requests", n)
	_, n, _ = tr.counted(proxy, "ls", "latest")
	t.Logf("ls again: %d HTTP requests", n)

	tr.mustRun("check", "--read-data")
}

// faultKind is one failure the proxy injects.
type faultKind int

const (
	faultNone     faultKind = iota
	faultDrop               // close the connection without an answer
	faultSlowDown           // 503 SlowDown, as S3 throttles
	faultSlow               // answer after a delay
	faultTruncate           // send half of a GET body, then close
	faultLost               // let the server act, then drop the answer
	numFaultKinds
)

var faultNames = [...]string{"none", "drop", "503", "slow", "truncate", "lost"}

// faultProxy forwards HTTP requests to an S3 server, counting them and
// injecting faults at a configurable rate.
type faultProxy struct {
	addr     string
	target   string
	tr       *http.Transport
	requests atomic.Int64

	mu        sync.Mutex
	rng       *rand.Rand
	rate      float64
	truncNext bool // a truncation was drawn for a request without a body to cut
	faults    [numFaultKinds]int
}

// startProxy listens on loopback and forwards to target until the test ends.
func startProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{addr: l.Addr().String(), target: target, rng: rand.New(rand.NewSource(1)),
		tr: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true}}
	srv := &http.Server{Handler: p, ErrorLog: nil}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); p.tr.CloseIdleConnections() })
	return p
}

// setFaults sets the probability that a request fails in some way.
func (p *faultProxy) setFaults(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = rate
}

// injected returns how many faults of each kind were injected.
func (p *faultProxy) injected() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for k := faultDrop; k < numFaultKinds; k++ {
		m[faultNames[k]] = p.faults[k]
	}
	return m
}

func (p *faultProxy) pick(r *http.Request) faultKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.truncNext && r.Method == http.MethodGet && p.rate > 0 {
		p.truncNext = false
		p.faults[faultTruncate]++
		return faultTruncate
	}
	if p.rng.Float64() >= p.rate {
		return faultNone
	}
	k := faultKind(1 + p.rng.Intn(int(numFaultKinds)-1))
	if k == faultTruncate && r.Method != http.MethodGet {
		p.truncNext = true // cut the next GET instead
		return faultNone
	}
	p.faults[k]++
	return k
}

// ServeHTTP forwards one request, perhaps failing it.
func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	kind := p.pick(r)
	switch kind {
	case faultDrop:
		hangUp(w)
		return
	case faultSlowDown:
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	case faultSlow:
		time.Sleep(time.Duration(200+rand.Intn(800)) * time.Millisecond)
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.RequestURI = "http", p.target, ""
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if kind == faultLost {
		io.Copy(io.Discard, resp.Body)
		hangUp(w)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if kind == faultTruncate && resp.ContentLength > 1 {
		io.CopyN(w, resp.Body, resp.ContentLength/2)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	io.Copy(w, resp.Body)
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// TestS3Faults runs backups and a restore while the proxy fails about one
// request in eight (dropped connections, 503 SlowDown, slow answers,
// truncated bodies, answers lost after the server acted). Every command
// must succeed through retries or fail cleanly; afterwards, without
// faults, check --read-data is clean and every snapshot restores exactly.
func TestS3Faults(t *testing.T) {
	tr, proxy := newS3Repo(t)
	base := t.TempDir()
	src := filepath.Join(base, "fixture")
	fstest.MakeFixture(t, src)
	proxy.setFaults(0.125)
	var ok []int
	for i := 0; i < 4; i++ {
		genData(t, filepath.Join(base, "gen"), "faulty", i)
		r := tr.run("backup", "--quiet", "--tag", fmt.Sprintf("it%d", i), src, filepath.Join(base, "gen"))
		switch {
		case r.code == 0:
			ok = append(ok, i)
		case r.code == 1 && !strings.Contains(r.stderr, "panic"):
			t.Logf("backup %d failed cleanly: %s", i, strings.TrimSpace(r.stderr))
		default:
			t.Fatalf("backup %d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	target := filepath.Join(tr.dir, "faulty-restore")
	if r := tr.run("restore", "latest", "--target", target); r.code == 0 {
		fstest.CompareTrees(t, src, filepath.Join(target, src))
	} else {
		t.Logf("restore under faults failed cleanly: exit %d: %s", r.code, r.stderr)
	}
	proxy.setFaults(0)
	t.Logf("faults injected: %v over %d requests; backups that succeeded: %v", proxy.injected(), proxy.requests.Load(), ok)
	if len(ok) == 0 {
		t.Error("no backup succeeded through retries")
	}
	if proxy.injected()["drop"] == 0 || proxy.injected()["truncate"] == 0 {
		t.Error("the proxy injected too few faults to mean anything")
	}
	tr.mustRun("check", "--read-data")
	for _, sn := range tr.snapshots() {
		var iter int
		fmt.Sscanf(sn.Tags[0], "it%d", &iter)
		want := filepath.Join(base, "want")
		genData(t, want, "faulty", iter)
		target := filepath.Join(tr.dir, "restore-"+sn.ID[:8])
		tr.mustRun("restore", sn.ID, "--target", target)
		fstest.CompareTrees(t, src, filepath.Join(target, src))
		sameContent(t, sn.ID[:8], want, filepath.Join(target, base, "gen"))
	}
}

// sameContent fails t unless the files genData writes are byte-identical
// in dirs want and got.
func sameContent(t *testing.T, what, want, got string) {
	t.Helper()
	for _, name := range []string{"shared", "own", "iter"} {
		a, _ := os.ReadFile(filepath.Join(want, name))
		b, err := os.ReadFile(filepath.Join(got, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: %s differs after restore: %v", what, name, err)
		}
	}
}

// TestS3ConcurrentHostsAndPrune runs four backup processes with different
// --host (each with its own cache, as on separate machines) while a loop
// forgets and prunes with no grace period, against one S3 repository;
// afterwards everything kept restores byte-identically.
func TestS3ConcurrentHostsAndPrune(t *testing.T) {
	tr, _ := newS3Repo(t)
	hosts := []string{"alpha", "beta", "gamma", "delta"}
	const iterations = 5
	base := t.TempDir()
	errs := make(chan error, 100)
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cache := []string{"CAIRN_CACHE_DIR=" + filepath.Join(tr.dir, "cache-"+h)}
			dir := filepath.Join(base, "src-"+h)
			for i := 0; i < iterations; i++ {
				genData(t, dir, h, i)
				r := tr.runEnv(cache, "backup", "--quiet", "--host", h, "--tag", fmt.Sprintf("it%d", i), dir)
				if r.code != 0 {
					errs <- fmt.Errorf("backup %s/%d: exit %d: %s", h, i, r.code, r.stderr)
				}
			}
		}()
	}
	stop := make(chan struct{})
	var prunes atomic.Int64
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		cache := []string{"CAIRN_CACHE_DIR=" + filepath.Join(tr.dir, "cache-admin")}
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := tr.runEnv(cache, "forget", "--quiet", "--keep-last", "2", "--prune", "--grace", "0s", "--skew-margin", "1ms")
			switch r.code {
			case 0:
				prunes.Add(1)
			case 11: // another maintenance lock
			default:
				errs <- fmt.Errorf("forget --prune: exit %d: %s", r.code, r.stderr)
			}
		}
	}()
	wg.Wait()
	close(stop)
	mwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d prunes ran beside %d backups", prunes.Load(), len(hosts)*iterations)
	if prunes.Load() == 0 {
		t.Error("no prune completed while backups ran")
	}
	tr.mustRun("forget", "--keep-last", "2")
	tr.mustRun("prune", "--grace", "0s")
	tr.mustRun("prune", "--grace", "0s")
	tr.mustRun("check", "--read-data")
	sns := tr.snapshots()
	if len(sns) != 2*len(hosts) {
		t.Errorf("want %d snapshots kept (2 per host), got %d", 2*len(hosts), len(sns))
	}
	for _, sn := range sns {
		var iter int
		fmt.Sscanf(sn.Tags[0], "it%d", &iter)
		want := filepath.Join(base, "want-"+sn.ID[:8])
		genData(t, want, sn.Host, iter)
		target := filepath.Join(tr.dir, "restore-"+sn.ID[:8])
		tr.mustRun("restore", sn.ID, "--target", target)
		sameContent(t, fmt.Sprintf("snapshot %s (%s it%d)", sn.ID[:8], sn.Host, iter), want, filepath.Join(target, sn.Paths[0]))
	}
}

// copyJSON is the summary of copy --json.
type copyJSON struct {
	Copied     map[string]string `json:"copied"`
	Skipped    []string          `json:"skipped"`
	BytesAdded int64             `json:"bytes_added"`
}

// TestCopyLocalToS3 copies a local repository's snapshots into an S3 one
// that shares its chunker parameters and already holds a native backup of
// the same files: the data deduplicates, a second copy copies nothing, and
// the copies restore exactly.
func TestCopyLocalToS3(t *testing.T) {
	local := newTestRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	fstest.MakeFixture(t, src)
	local.backup("--host", "laptop", src)
	os.WriteFile(filepath.Join(src, "added-later"), []byte("second snapshot"), 0o644)
	local.backup("--host", "laptop", src)

	from := []string{"CAIRN_FROM_REPOSITORY=" + local.repo, "CAIRN_FROM_PASSWORD=" + local.password}
	s3, _ := newS3RepoWith(t, from, "--copy-chunker-params-from", local.repo)
	native := s3.backup("--host", "server", src)

	out := s3.runEnv(from, "copy", "--json")
	if out.code != 0 {
		t.Fatalf("copy: exit %d: %s", out.code, out.stderr)
	}
	var res copyJSON
	if err := json.Unmarshal([]byte(out.stdout), &res); err != nil {
		t.Fatalf("copy --json: %v\n%s", err, out.stdout)
	}
	if len(res.Copied) != 2 {
		t.Fatalf("copied %d snapshots, want 2: %s", len(res.Copied), out.stdout)
	}
	if res.BytesAdded*10 > native.BytesAdded {
		t.Errorf("copy added %d bytes although the destination held the same data (%d bytes): no deduplication", res.BytesAdded, native.BytesAdded)
	}
	t.Logf("native backup added %d bytes; copying 2 snapshots of the same files added %d", native.BytesAdded, res.BytesAdded)

	out = s3.runEnv(from, "copy", "--json")
	res = copyJSON{}
	if err := json.Unmarshal([]byte(out.stdout), &res); out.code != 0 || err != nil || len(res.Copied) != 0 || len(res.Skipped) != 2 {
		t.Fatalf("second copy: exit %d, %+v, %v", out.code, res, err)
	}
	target := filepath.Join(s3.dir, "restore")
	s3.mustRun("restore", "latest", "--host", "laptop", "--target", target)
	fstest.CompareTrees(t, src, filepath.Join(target, src))
	var sns []snapJSON
	json.Unmarshal([]byte(s3.mustRun("snapshots", "--json", "--host", "laptop")), &sns)
	if len(sns) != 2 {
		t.Errorf("destination lists %d laptop snapshots, want 2", len(sns))
	}
	s3.mustRun("check", "--read-data")
}

// TestSftpAndRestRoundTrip: init, backup, restore and check --read-data
// through the CLI on an sftp repository (real sshd) and a REST one
// (rclone serve restic on a directory).
func TestSftpAndRestRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	fstest.MakeFixture(t, src)
	t.Run("sftp", func(t *testing.T) {
		ssh := testserver.StartSSHD(t)
		roundTrip(t, src, ssh.URL(ssh.Dir+"/repo"), "-o", "sftp.args="+strings.Join(ssh.Args, " "))
	})
	t.Run("rest", func(t *testing.T) {
		srv := testserver.StartRclone(t)
		roundTrip(t, src, "rest:"+srv.URL+"repo/")
	})
}

// roundTrip inits a repository at loc, backs src up twice, restores and
// checks it.
func roundTrip(t *testing.T, src, loc string, global ...string) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	os.WriteFile(pwFile, []byte("pw\n"), 0o600)
	tr := &testRepo{t: t, dir: dir, repo: loc, cache: filepath.Join(dir, "cache"),
		env: []string{"CAIRN_REPOSITORY=" + loc, "CAIRN_CACHE_DIR=" + filepath.Join(dir, "cache"), "CAIRN_PASSWORD_FILE=" + pwFile}}
	g := func(args ...string) []string { return append(append([]string{}, global...), args...) }
	tr.mustRun(g("init")...)
	tr.mustRun(g("backup", "--quiet", src)...)
	tr.mustRun(g("backup", "--quiet", src)...)
	target := filepath.Join(dir, "restore")
	tr.mustRun(g("restore", "latest", "--target", target)...)
	fstest.CompareTrees(t, src, filepath.Join(target, src))
	tr.mustRun(g("check", "--read-data")...)
}
