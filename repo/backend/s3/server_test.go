package s3

import (
	"testing"

	"cairn/repo/backend/location/testserver"
)

// Test credentials for the throwaway server (testserver's).
const (
	testAccessKey = testserver.S3AccessKey
	testSecretKey = testserver.S3SecretKey
)

// server is a versitygw process serving a temp directory on loopback.
type server struct {
	endpoint string // host:port
	dir      string // each bucket is a directory here
}

// startServer starts versitygw for the test through testserver, which
// stops it afterwards; with no binary the test fails if CAIRN_REQUIRE_S3=1
// (CI) and is skipped otherwise.
func startServer(t *testing.T) *server {
	t.Helper()
	s := testserver.StartS3(t)
	return &server{endpoint: s.Endpoint, dir: s.Dir}
}

// bucket creates a bucket directory and returns its name.
func (s *server) bucket(t *testing.T, name string) string {
	t.Helper()
	(&testserver.S3{Endpoint: s.endpoint, Dir: s.dir}).Bucket(t, name)
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
