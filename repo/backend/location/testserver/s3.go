package testserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Credentials of the throwaway S3 server.
const (
	S3AccessKey = "cairntestkey"
	S3SecretKey = "cairntestsecret0123456789"
)

// S3 is a versitygw process serving a temp directory on loopback.
type S3 struct {
	// Endpoint is host:port.
	Endpoint string
	// Dir holds one directory per bucket.
	Dir string
}

// StartS3 starts versitygw (found in $CAIRN_VERSITYGW, PATH or GOPATH/bin,
// where scripts/s3-server.sh --install-only puts it) for the test.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin, ok := lookBin("CAIRN_VERSITYGW", "versitygw", goBinDirs()...)
	if !ok {
		missing(t, "versitygw not found (CAIRN_VERSITYGW, PATH, GOPATH/bin); run scripts/s3-server.sh --install-only")
	}
	dir := t.TempDir()
	a := addr(FreePort(t))
	cmd := exec.Command(bin, "--port", a, "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+S3AccessKey, "ROOT_SECRET_KEY="+S3SecretKey)
	process(t, "versitygw", cmd, a)
	return &S3{Endpoint: a, Dir: dir}
}

// Bucket creates a bucket (a directory for versitygw's posix backend).
func (s *S3) Bucket(t testing.TB, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.Dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
}

// Env returns the environment a client needs: credentials, region and
// path-style addressing.
func (s *S3) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + S3AccessKey, "AWS_SECRET_ACCESS_KEY=" + S3SecretKey,
		"AWS_DEFAULT_REGION=us-east-1", "CAIRN_S3_PATH_STYLE=1",
	}
}

// URL returns the repository URL of bucket/prefix through endpoint (the
// server's own, or a proxy's host:port in front of it).
func URL(endpoint, bucket, prefix string) string {
	return "s3:http://" + endpoint + "/" + bucket + "/" + prefix
}
