package rest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"cairn/repo/backend"
	"cairn/repo/backend/location/testserver"
	"cairn/repo/backend/test"
)

// TestSuite runs the conformance suite against `rclone serve restic` on
// loopback, one repository path per subtest. rclone stores into versitygw:
// its local-directory backend (1.60) rewrites files in place, which fails
// the suite's atomic-replace check (TestLocalDirectory covers the rest).
func TestSuite(t *testing.T) {
	s3 := testserver.StartS3(t)
	s3.Bucket(t, "rest")
	srv := testserver.StartRcloneOnS3(t, s3, "rest")
	var n atomic.Int64
	test.RunSuite(t, func(t *testing.T) backend.Backend {
		cfg, err := ParseURL(fmt.Sprintf("rest:%srepo%d/", srv.URL, n.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		be, err := Create(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestParseURL(t *testing.T) {
	cfg, err := ParseURL("rest:https://alice@backup.example:8000/repo")
	if err != nil || cfg.Username != "alice" || cfg.URL.String() != "https://backup.example:8000/repo/" {
		t.Errorf("ParseURL: %+v, %v", cfg, err)
	}
	for _, bad := range []string{"rest:ftp://x/", "rest:http://u:pw@h/", "rest:", "http://h/"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

func TestOpenMissing(t *testing.T) {
	srv := testserver.StartRclone(t)
	cfg, _ := ParseURL("rest:" + srv.URL + "nothing/")
	if _, err := Open(context.Background(), cfg); !backend.IsNotExist(err) {
		t.Errorf("Open of a missing repository: %v, want IsNotExist", err)
	}
}

// TestLocalDirectory runs the file operations cairn relies on against
// rclone serving a plain directory, including the deletions/ type restic
// does not have.
func TestLocalDirectory(t *testing.T) {
	srv := testserver.StartRclone(t)
	ctx := context.Background()
	cfg, _ := ParseURL("rest:" + srv.URL + "repo/")
	be, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	for _, ft := range backend.AllFileTypes {
		h := backend.Handle{Type: ft, Name: "0123abcd"}
		if err := be.Save(ctx, h, []byte("content of "+string(ft))); err != nil {
			t.Fatalf("Save %v: %v", h, err)
		}
		got, err := backend.LoadRange(ctx, be, h, 11, 3)
		if err != nil || string(got) != string(ft)[:3] {
			t.Errorf("LoadRange %v: %q, %v", h, got, err)
		}
		n := 0
		be.List(ctx, ft, func(fi backend.FileInfo) error { n++; return nil })
		if n != 1 {
			t.Errorf("List(%s) = %d files, want 1", ft, n)
		}
		if ft != backend.ConfigFile {
			if err := be.Remove(ctx, h); err != nil {
				t.Errorf("Remove %v: %v", h, err)
			}
			if _, err := be.Stat(ctx, h); !backend.IsNotExist(err) {
				t.Errorf("Stat after Remove %v: %v", h, err)
			}
		}
	}
}
