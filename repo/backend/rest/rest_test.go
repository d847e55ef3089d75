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
// loopback, one repository path per subtest.
func TestSuite(t *testing.T) {
	srv := testserver.StartRclone(t)
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
