package location

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"cairn/repo/backend"
)

func TestKind(t *testing.T) {
	for loc, want := range map[string]string{
		"/srv/backup":                 "local",
		"relative/dir":                "local",
		"./a:b":                       "local",
		"local:/srv/backup":           "local",
		"s3:http://127.0.0.1:9000/b":  "s3",
		"s3:s3.amazonaws.com/bkt/pfx": "s3",
		"sftp:host:/dir":              "sftp",
		"sftp://u@h:22//dir":          "sftp",
		"rest:http://x/":              "rest",
	} {
		if got, err := Kind(loc); err != nil || got != want {
			t.Errorf("Kind(%q) = %q, %v; want %q", loc, got, err, want)
		}
	}
	for _, loc := range []string{"", "b2:bucket", "gs:bucket"} {
		if _, err := Kind(loc); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Kind(%q) = %v, want ErrUnsupported", loc, err)
		}
	}
}

func TestOpenLocal(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := Open(ctx, dir, Options{}); !backend.IsNotExist(err) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	be, err := Open(ctx, "local:"+dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, []byte("c")); err != nil {
		t.Fatal(err)
	}
	be, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("Open(existing) = %v", err)
	}
	if be.Location() != "local:"+dir {
		t.Errorf("Location() = %q", be.Location())
	}
	if _, err := Open(ctx, dir, Options{Extended: map[string]string{"s3.region": "x"}}); err == nil {
		t.Error("an s3 option was accepted for a local repository")
	}
}

// TestOpenS3Options checks that options and environment reach the S3
// configuration, using a refused connection (no server is needed).
func TestOpenS3Options(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
	_, err := Open(ctx, "s3:http://127.0.0.1:1/bkt/p", Options{
		Getenv:   func(k string) string { return env[k] },
		Extended: map[string]string{"s3.bucket-lookup": "vhost"},
	})
	if err == nil || !strings.Contains(err.Error(), "bucket-lookup") {
		t.Errorf("bad s3 option: %v", err)
	}
	_, err = Open(ctx, "s3:http://127.0.0.1:1/bkt/p", Options{Extended: map[string]string{"s3.max-retries": "1"}})
	if err == nil || !strings.Contains(err.Error(), "s3:http://127.0.0.1:1/bkt/p") {
		t.Errorf("Open of an unreachable s3 endpoint = %v; want an error naming the location", err)
	}
	if _, err := Open(ctx, "s3:http://user:pw@host/bkt", Options{}); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("credentials in URL: %v", err)
	}
}
