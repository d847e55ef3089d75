package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"cairn/repo/backend"
)

// TestOpenCreateLayout checks Open/Create's answers and that objects land
// under the documented keys, also at the bucket root (empty prefix).
func TestOpenCreateLayout(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	_, err := Open(ctx, srv.config("nobucket", "p"))
	if !backend.IsNotExist(err) {
		t.Errorf("Open(missing bucket) = %v, want ErrNotExist", err)
	}
	for _, prefix := range []string{"", "deep/prefix"} {
		cfg := srv.config("made-"+fmt.Sprint(len(prefix)), prefix)
		be, err := Create(ctx, cfg) // creates the bucket
		if err != nil {
			t.Fatalf("Create(%q): %v", prefix, err)
		}
		if _, err := Open(ctx, cfg); !backend.IsNotExist(err) {
			t.Errorf("Open before a config exists = %v, want ErrNotExist", err)
		}
		files := map[backend.Handle]string{
			{Type: backend.ConfigFile}:               "config",
			{Type: backend.PackFile, Name: "abcd"}:   "data/ab/abcd",
			{Type: backend.KeyFile, Name: "k1"}:      "keys/k1",
			{Type: backend.IndexFile, Name: "i1"}:    "index/i1",
			{Type: backend.SnapshotFile, Name: "s1"}: "snapshots/s1",
			{Type: backend.LockFile, Name: "l1"}:     "locks/l1",
		}
		var want []string
		for h, rel := range files {
			if err := be.Save(ctx, h, []byte(rel)); err != nil {
				t.Fatal(err)
			}
			key := rel
			if prefix != "" {
				key = prefix + "/" + rel
			}
			want = append(want, key)
			// versitygw's posix backend keeps each object as a file.
			if got, err := os.ReadFile(filepath.Join(srv.dir, cfg.Bucket, key)); err != nil || string(got) != rel {
				t.Errorf("object %s on disk = %q, %v", key, got, err)
			}
		}
		var keys []string
		for oi := range be.client.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			keys = append(keys, oi.Key)
		}
		slices.Sort(keys)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("bucket keys = %v, want %v", keys, want)
		}
		if _, err := Open(ctx, cfg); err != nil {
			t.Errorf("Open(repository) = %v", err)
		}
		if _, err := Create(ctx, cfg); !errors.Is(err, fs.ErrExist) {
			t.Errorf("Create over a repository = %v, want fs.ErrExist", err)
		}
	}
}

// TestCredentials resolves keys through the chain (environment, then
// ~/.aws/credentials) and checks that wrong keys are a permanent error,
// not "no repository".
func TestCredentials(t *testing.T) {
	srv := startServer(t)
	bucket := srv.bucket(t, "creds")
	ctx := context.Background()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "no-config"))
	t.Setenv("AWS_PROFILE", "")
	noKeys := srv.config(bucket, "p")
	noKeys.AccessKeyID, noKeys.SecretAccessKey = "", ""
	h := backend.Handle{Type: backend.ConfigFile}

	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	be, err := Create(ctx, noKeys)
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, h, []byte("env")); err != nil {
		t.Fatalf("Save with keys from the environment: %v", err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if err := os.Mkdir(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	ini := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", testAccessKey, testSecretKey)
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	be, err = Open(ctx, noKeys)
	if err != nil {
		t.Fatalf("Open with keys from ~/.aws/credentials: %v", err)
	}
	if got, err := backend.LoadAll(ctx, be, h); err != nil || string(got) != "env" {
		t.Errorf("LoadAll = %q, %v", got, err)
	}

	wrong := srv.config(bucket, "p")
	wrong.SecretAccessKey = "wrong-secret-0123456789"
	_, err = Open(ctx, wrong)
	if err == nil || backend.IsNotExist(err) || !backend.IsPermanent(err) {
		t.Errorf("Open with a wrong secret = %v; want a permanent error that is not ErrNotExist", err)
	}
	if strings.Contains(fmt.Sprint(err), wrong.SecretAccessKey) {
		t.Errorf("error message contains the secret: %v", err)
	}
}

// recorder is an http.RoundTripper that logs each request.
type recorder struct {
	mu   sync.Mutex
	reqs []string
	rt   http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	line := req.Method
	if rg := req.Header.Get("Range"); rg != "" {
		line += " " + rg
	}
	if resp != nil {
		line += fmt.Sprintf(" -> %d", resp.StatusCode)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, line)
	r.mu.Unlock()
	return resp, err
}

// take returns and clears the log.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// TestRequests pins down the HTTP requests each operation costs, which
// is what object stores bill and what latency multiplies.
func TestRequests(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	rec := &recorder{rt: http.DefaultTransport.(*http.Transport).Clone()}
	cfg := srv.config(srv.bucket(t, "reqs"), "p")
	cfg.Transport = rec
	be, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	h := backend.Handle{Type: backend.PackFile, Name: "abcdef"}
	data := bytes.Repeat([]byte("0123456789"), 1000)
	steps := []struct {
		name string
		op   func() error
		want []string
	}{
		{"Save", func() error { return be.Save(ctx, h, data) }, []string{"PUT -> 200"}},
		{"Stat", func() error { _, err := be.Stat(ctx, h); return err }, []string{"HEAD -> 200"}},
		{"LoadAll", func() error { _, err := backend.LoadAll(ctx, be, h); return err }, []string{"GET -> 200"}},
		{"LoadRange", func() error { _, err := backend.LoadRange(ctx, be, h, 10, 20); return err }, []string{"GET bytes=10-29 -> 206"}},
		{"LoadTail", func() error { _, _, err := loadN(ctx, be, h, 0, 9990); return err }, []string{"GET bytes=9990- -> 206"}},
		{"LoadAtEnd", func() error { _, _, err := loadN(ctx, be, h, 0, 10000); return err }, []string{"GET bytes=10000- -> 416", "HEAD -> 200"}},
		{"List", func() error { return be.List(ctx, backend.PackFile, func(backend.FileInfo) error { return nil }) }, []string{"GET -> 200"}},
		{"Remove", func() error { return be.Remove(ctx, h) }, []string{"HEAD -> 200", "DELETE -> 204"}},
	}
	for _, s := range steps {
		if err := s.op(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := rec.take(); !slices.Equal(got, s.want) {
			t.Errorf("%s made requests %q, want %q", s.name, got, s.want)
		}
	}

	// Throughput of one 20 MiB pack, for the record (loopback, one disk).
	big := make([]byte, 20<<20)
	for i := range big {
		big[i] = byte(i * 31)
	}
	bh := backend.Handle{Type: backend.PackFile, Name: "ffee"}
	start := time.Now()
	if err := be.Save(ctx, bh, big); err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)
	puts := len(rec.take())
	start = time.Now()
	got, err := backend.LoadAll(ctx, be, bh)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("20 MiB round trip: %v", err)
	}
	down := time.Since(start)
	t.Logf("20 MiB: save %v (%d requests, %.0f MiB/s), load %v (%.0f MiB/s)",
		up.Round(time.Millisecond), puts, 20/up.Seconds(), down.Round(time.Millisecond), 20/down.Seconds())
	if puts < 3 {
		t.Errorf("20 MiB save took %d requests; expected a multipart upload (initiate, parts, complete)", puts)
	}
}

// loadN loads with an idempotent callback and returns the bytes read.
func loadN(ctx context.Context, be backend.Backend, h backend.Handle, length int, offset int64) ([]byte, int, error) {
	var buf []byte
	calls := 0
	err := be.Load(ctx, h, length, offset, func(rd io.Reader) error {
		calls++
		b, err := io.ReadAll(rd)
		buf = b
		return err
	})
	return buf, calls, err
}

// TestMisbehavingServer checks the guards that a conforming server never
// triggers: a Range ignored (200 with the whole object) must not reach fn,
// and a body cut short must be io.ErrUnexpectedEOF that Retry may retry.
func TestMisbehavingServer(t *testing.T) {
	body := []byte("0123456789abcdefghij")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		switch {
		case strings.HasSuffix(r.URL.Path, "/ignored"):
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		case strings.HasSuffix(r.URL.Path, "/cut"):
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 5-14/%d", len(body)))
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(body[5:9]) // 4 of 10 bytes, then the handler hangs up
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := Config{
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), HTTP: true, Bucket: "bkt",
		AccessKeyID: "k", SecretAccessKey: "s", BucketLookup: LookupPath, MaxRetries: 1,
	}
	be, err := connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, calls, err := loadN(ctx, be, backend.Handle{Type: backend.IndexFile, Name: "ignored"}, 10, 5)
	if err == nil || calls != 0 || !strings.Contains(err.Error(), "did not honour range") {
		t.Errorf("Load from a server ignoring Range = %v after %d callbacks; want an error before fn", err, calls)
	}
	_, _, err = loadN(ctx, be, backend.Handle{Type: backend.IndexFile, Name: "cut"}, 10, 5)
	if !errors.Is(err, io.ErrUnexpectedEOF) || backend.IsPermanent(err) {
		t.Errorf("Load of a cut body = %v; want a retryable io.ErrUnexpectedEOF", err)
	}
}

// TestPutHeaders checks that uploads carry the configured storage class
// and a Content-MD5 for the server to verify.
func TestPutHeaders(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	rec := &headerRecorder{rt: http.DefaultTransport.(*http.Transport).Clone()}
	cfg := srv.config(srv.bucket(t, "storage-class"), "p")
	cfg.StorageClass = "STANDARD_IA"
	cfg.Transport = rec
	be, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.IndexFile, Name: "i"}
	if err := be.Save(ctx, h, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if rec.storageClass != "STANDARD_IA" {
		t.Errorf("PUT sent x-amz-storage-class %q, want STANDARD_IA", rec.storageClass)
	}
	if rec.contentMD5 != "ndTkYSaMgDT1yFZOFVxnpg==" { // base64(md5("x"))
		t.Errorf("PUT sent Content-MD5 %q, want the MD5 of the body", rec.contentMD5)
	}
	oi, err := be.client.StatObject(ctx, cfg.Bucket, be.key(h), minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server reports storage class %q", oi.StorageClass)
}

// headerRecorder keeps headers of the last PUT.
type headerRecorder struct {
	rt                       http.RoundTripper
	mu                       sync.Mutex
	storageClass, contentMD5 string
}

func (r *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		r.mu.Lock()
		r.storageClass = req.Header.Get("X-Amz-Storage-Class")
		r.contentMD5 = req.Header.Get("Content-Md5")
		r.mu.Unlock()
	}
	return r.rt.RoundTrip(req)
}
