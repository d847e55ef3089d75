package vmware

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"cairn/chunker"
	"cairn/repo"
	"cairn/repo/backend/mem"

	"cairn/sources/vmware/vmtest"
)

const mib = 1 << 20

// simEnv is a running simulator with the CBT extension.
type simEnv struct {
	*vmtest.Env
	t testing.TB
}

func newSimEnv(t testing.TB) *simEnv {
	t.Helper()
	return &simEnv{Env: vmtest.Start(t), t: t}
}

// config returns connection settings for the simulator.
func (e *simEnv) config() Config {
	return Config{URL: e.URL(), User: e.User(), Password: e.Password(), Insecure: true}
}

// connect opens a client for a backup.
func (e *simEnv) connect() *Client {
	e.t.Helper()
	c, err := Connect(context.Background(), e.config())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c
}

// newTestRepo returns a real repository on the in-memory backend with a
// fixed chunker polynomial, so that measured bounds are reproducible.
func newTestRepo(t testing.TB) *repo.Repository {
	t.Helper()
	opts := repo.Options{CacheDir: t.TempDir(), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}}
	p := chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: chunker.DefaultMinSize,
		AverageBits: chunker.DefaultAverageBits, MaxSize: chunker.DefaultMaxSize}
	r, err := repo.Init(context.Background(), mem.New(), "secret",
		repo.InitOptions{Options: opts, PackSize: 8 << 20, Chunker: &p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// faultyRT wraps the client's HTTP transport: datastore reads can be
// failed or slowed.
type faultyRT struct {
	base  http.RoundTripper
	fail  atomic.Bool
	delay atomic.Int64 // nanoseconds per /folder request
	reqs  atomic.Int64
}

func (f *faultyRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.Path, "/folder/") && req.Header.Get("Range") != "" {
		f.reqs.Add(1)
		if d := time.Duration(f.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
		if f.fail.Load() {
			return &http.Response{StatusCode: 500, Status: "500 injected", Body: http.NoBody, Request: req, Header: http.Header{}}, nil
		}
	}
	return f.base.RoundTrip(req)
}

// injectFaults installs a faultyRT on c's HTTP client.
func injectFaults(c *Client) *faultyRT {
	hc := &c.vim.Client.Client
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	f := &faultyRT{base: base}
	hc.Transport = f
	return f
}

var _ soap.RoundTripper = (*vim25.Client)(nil)
