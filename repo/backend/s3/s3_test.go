package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"cairn/repo/backend"
	"cairn/repo/backend/test"
)

func randomPrefix(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "repo-" + hex.EncodeToString(b[:])
}

// TestSuite runs the conformance suite against a real S3 server, each
// subtest in its own prefix of one bucket.
func TestSuite(t *testing.T) {
	srv := startServer(t)
	bucket := srv.bucket(t, "suite")
	test.RunSuite(t, func(t *testing.T) backend.Backend {
		be, err := Create(context.Background(), srv.config(bucket, randomPrefix(t)))
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}
