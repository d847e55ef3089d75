// Package rest stores a repository on a server speaking restic's REST
// protocol v2 (rest-server, `rclone serve restic`): GET/HEAD/POST/DELETE
// on /config and /{type}/{name}, listings as JSON with
// `Accept: application/vnd.x.restic.rest.v2`, partial reads with Range,
// and `POST /?create=true` to create a repository.
//
// cairn's own file types beyond restic's (deletions/) are sent to the
// server the same way; servers that accept only restic's types refuse them
// (rclone serves any directory; rest-server does not, see docs/backends.md).
package rest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cairn/repo/backend"
)

// v2 is the media type of REST protocol v2 listings.
const v2 = "application/vnd.x.restic.rest.v2"

// Config locates a REST repository.
type Config struct {
	// URL is the repository's base URL, ending in "/".
	URL *url.URL
	// Username and Password for HTTP basic auth, if the server wants it.
	Username, Password string
}

// ParseURL reads "rest:http(s)://[user@]host[:port]/path/". A password
// in the URL is refused so it never reaches shell history: set
// CAIRN_REST_PASSWORD.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "rest:")
	if !ok {
		return Config{}, fmt.Errorf("rest: %q does not start with rest:", s)
	}
	u, err := url.Parse(rest)
	if err != nil {
		return Config{}, fmt.Errorf("rest: parse %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return Config{}, fmt.Errorf("rest: %q: want rest:http(s)://host[:port]/path", s)
	}
	if _, hasPw := u.User.Password(); hasPw {
		return Config{}, errors.New("rest: passwords in the URL are not accepted (set CAIRN_REST_PASSWORD)")
	}
	cfg := Config{Username: u.User.Username()}
	u.User = nil
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	cfg.URL = u
	return cfg, nil
}

// ApplyEnv fills credentials from CAIRN_REST_USERNAME and
// CAIRN_REST_PASSWORD where the URL gave none.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if c.Username == "" {
		c.Username = getenv("CAIRN_REST_USERNAME")
	}
	if c.Password == "" {
		c.Password = getenv("CAIRN_REST_PASSWORD")
	}
}

// Backend is a REST repository; safe for concurrent use.
type Backend struct {
	cfg    Config
	client *http.Client
}

var _ backend.Backend = (*Backend)(nil)

func newBackend(cfg Config) *Backend {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.ResponseHeaderTimeout = 5 * time.Minute
	return &Backend{cfg: cfg, client: &http.Client{Transport: tr}}
}

// Create makes a new repository (POST /?create=true), refusing one that
// already has a config.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b := newBackend(cfg)
	if _, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err == nil {
		return nil, fmt.Errorf("rest: create %s: %w", b.Location(), fs.ErrExist)
	} else if !backend.IsNotExist(err) {
		return nil, err
	}
	u := *cfg.URL
	u.RawQuery = "create=true"
	resp, err := b.do(ctx, http.MethodPost, u.String(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("rest: create %s: %w", b.Location(), err)
	}
	resp.Body.Close()
	if err := statusError(resp, "create", backend.Handle{Type: backend.ConfigFile}); err != nil {
		return nil, err
	}
	return b, nil
}

// Open opens an existing repository: its config must exist.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b := newBackend(cfg)
	if _, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err != nil {
		return nil, fmt.Errorf("rest: open %s: %w", b.Location(), err)
	}
	return b, nil
}

// Location returns "rest:" and the URL, without credentials.
func (b *Backend) Location() string { return "rest:" + b.cfg.URL.String() }

// Close releases idle connections.
func (b *Backend) Close() error {
	b.client.CloseIdleConnections()
	return nil
}

// url returns the URL of h, or of type t's listing when h.Name is empty.
func (b *Backend) url(h backend.Handle) string {
	u := *b.cfg.URL
	switch {
	case h.Type == backend.ConfigFile:
		u.Path += "config"
	case h.Name == "":
		u.Path += string(h.Type) + "/"
	default:
		u.Path += string(h.Type) + "/" + h.Name
	}
	return u.String()
}
