package s3

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test credentials for the throwaway server.
const (
	testAccessKey = "cairntestkey"
	testSecretKey = "cairntestsecret0123456789"
)

// versitygwPath finds the versitygw binary: $CAIRN_VERSITYGW, then PATH,
// then $(go env GOPATH)/bin, where scripts/s3-server.sh installs it.
func versitygwPath() (string, bool) {
	if p := os.Getenv("CAIRN_VERSITYGW"); p != "" {
		return p, true
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, true
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// server is a versitygw process serving a temp directory on loopback.
type server struct {
	endpoint string // host:port
	dir      string // each bucket is a directory here
}

// startServer starts versitygw for the test and stops it afterwards. With
// no binary the test fails if CAIRN_REQUIRE_S3=1 (CI) and is skipped
// otherwise.
func startServer(t *testing.T) *server {
	t.Helper()
	bin, ok := versitygwPath()
	if !ok {
		msg := "versitygw not found (CAIRN_VERSITYGW, PATH, GOPATH/bin); run scripts/s3-server.sh once to install it"
		if os.Getenv("CAIRN_REQUIRE_S3") == "1" {
			t.Fatal(msg + "; CAIRN_REQUIRE_S3=1 makes this a failure")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--port", addr, "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+testAccessKey, "ROOT_SECRET_KEY="+testSecretKey)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("versitygw output:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("versitygw exited before listening: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s within 20s:\n%s", addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &server{endpoint: addr, dir: dir}
}

// bucket creates a bucket directory and returns its name.
func (s *server) bucket(t *testing.T, name string) string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(s.dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	return name
}

// config returns a Config for bucket/prefix on s with the test keys.
func (s *server) config(bucket, prefix string) Config {
	return Config{
		Endpoint: s.endpoint, HTTP: true, Bucket: bucket, Prefix: prefix,
		AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey,
		BucketLookup: LookupPath,
	}
}

// freePort asks the kernel for an unused loopback port. Another process
// could take it before versitygw binds; startServer then fails loudly.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects process output written from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
