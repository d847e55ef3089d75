// Package testserver starts real storage servers on loopback for tests —
// versitygw for S3, OpenSSH's sshd for sftp, `rclone serve restic` for the
// REST backend — and stops them when the test ends. A missing binary skips
// the test with a message saying how to install it, or fails it when
// CAIRN_REQUIRE_S3=1 (CI sets it), so a CI run cannot pass by skipping.
package testserver

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

// missing skips or fails t for a server binary that is not installed.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CAIRN_REQUIRE_S3") == "1" {
		t.Fatal(msg + "; CAIRN_REQUIRE_S3=1 makes this a failure")
	}
	t.Skip(msg)
}

// lookBin finds a binary: the environment variable env, PATH, then the
// extra directories.
func lookBin(env, name string, extra ...string) (string, bool) {
	if p := os.Getenv(env); p != "" {
		return p, true
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range extra {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// goBinDirs returns GOPATH/bin directories, where `go install` puts tools.
func goBinDirs() []string {
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	var dirs []string
	for _, d := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	return dirs
}

// FreePort asks the kernel for an unused loopback port. Another process
// could take it before the server binds; the start then fails loudly.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process runs cmd until the test ends, waits until addr accepts TCP
// connections, and on cleanup stops it with SIGTERM (SIGKILL after 5 s),
// logging its output if the test failed.
func process(t testing.TB, name string, cmd *exec.Cmd, addr string) {
	t.Helper()
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
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
			t.Logf("%s output:\n%s", name, log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited before listening: %v\n%s", name, err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 30s:\n%s", name, addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// addr formats a loopback address.
func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
