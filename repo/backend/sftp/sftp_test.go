package sftp

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"cairn/repo/backend"
	"cairn/repo/backend/location/testserver"
	"cairn/repo/backend/test"
)

// TestSuite runs the conformance suite against a real OpenSSH sshd on
// loopback.
func TestSuite(t *testing.T) {
	srv := testserver.StartSSHD(t)
	var n atomic.Int64
	test.RunSuite(t, func(t *testing.T) backend.Backend {
		cfg, err := ParseURL(srv.URL(fmt.Sprintf("%s/repo%d", srv.Dir, n.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Args = srv.Args
		be, err := Create(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Config
	}{
		{"sftp:user@host:/srv/repo", Config{User: "user", Host: "host", Path: "/srv/repo"}},
		{"sftp:host:repo", Config{Host: "host", Path: "repo"}},
		{"sftp://u@h:2222/rel/repo", Config{User: "u", Host: "h", Port: "2222", Path: "rel/repo"}},
		{"sftp://h//abs/repo", Config{Host: "h", Path: "/abs/repo"}},
	} {
		got, err := ParseURL(c.in)
		if err != nil || got.User != c.want.User || got.Host != c.want.Host || got.Port != c.want.Port || got.Path != c.want.Path {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"sftp:host", "sftp://u:pw@h/x", "sftp:", "sftp://h"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

// TestReconnectAndErrors: a killed ssh process is replaced on the next
// call; a missing repository is IsNotExist; a refused login is permanent.
func TestReconnectAndErrors(t *testing.T) {
	srv := testserver.StartSSHD(t)
	ctx := context.Background()
	cfg, _ := ParseURL(srv.URL(srv.Dir + "/r"))
	cfg.Args = srv.Args
	if _, err := Open(ctx, cfg); !backend.IsNotExist(err) {
		t.Errorf("Open of a missing repository: %v, want IsNotExist", err)
	}
	be, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	h := backend.Handle{Type: backend.SnapshotFile, Name: "abc"}
	if err := be.Save(ctx, h, []byte("x")); err != nil {
		t.Fatal(err)
	}
	be.mu.Lock()
	be.conn.cmd.Process.Kill()
	<-be.conn.gone
	be.mu.Unlock()
	if b, err := backend.LoadAll(ctx, be, h); err != nil || string(b) != "x" {
		t.Errorf("load after the ssh process died: %q, %v", b, err)
	}

	bad := cfg
	bad.Args = append([]string{"-i", "/dev/null"}, srv.Args[2:]...)
	if _, err := Open(ctx, bad); err == nil || !backend.IsPermanent(err) {
		t.Errorf("login with a wrong key: %v, want a permanent error", err)
	}
}
