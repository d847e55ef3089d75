package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxAPIVersion is the newest Engine API version this client speaks; the
// version used is the lower of it and the server's.
const MaxAPIVersion = "1.43"

// minAPIVersion is the oldest Engine API version this client accepts
// (Docker 1.13): label filters and exec inspect's ExitCode exist there.
const minAPIVersion = "1.25"

// DefaultHost is the Docker socket used without DOCKER_HOST.
const DefaultHost = "unix:///var/run/docker.sock"

// Client talks to a Docker Engine API (or podman's compatible one).
type Client struct {
	hc      *http.Client
	base    string // "http://docker/v1.41"
	version string
}

// Container is one entry of the container list.
type Container struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	Image  string            `json:"Image"`
	Labels map[string]string `json:"Labels"`
	State  string            `json:"State"`
}

// Name returns the container's name without the leading slash.
func (c Container) Name() string {
	if len(c.Names) == 0 {
		return shortID(c.ID)
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ContainerDetails is the part of a container inspect used here.
type ContainerDetails struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Config struct {
		Env   []string `json:"Env"`
		Image string   `json:"Image"`
	} `json:"Config"`
	State struct {
		Running bool `json:"Running"`
	} `json:"State"`
}

// ExecState is the part of an exec inspect used here.
type ExecState struct {
	Running  bool `json:"Running"`
	ExitCode int  `json:"ExitCode"`
}

// APIError is a non-2xx answer of the Engine API.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("docker API %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// NewClient connects to host (unix:///path, tcp://host:port or
// http://host:port; empty means DefaultHost) and negotiates the API
// version through GET /version.
func NewClient(ctx context.Context, host string) (*Client, error) {
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	tr := &http.Transport{MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second}
	var base string
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Host
		}
		d := &net.Dialer{Timeout: 10 * time.Second}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
		base = "http://docker"
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("docker host %q: unsupported scheme %q (want unix, tcp or http)", host, u.Scheme)
	}
	c := &Client{hc: &http.Client{Transport: tr}, base: base}
	var v struct {
		APIVersion    string `json:"ApiVersion"`
		MinAPIVersion string `json:"MinAPIVersion"`
		Version       string `json:"Version"`
	}
	if err := c.getJSON(ctx, "/version", &v); err != nil {
		return nil, fmt.Errorf("docker at %s: %w", host, err)
	}
	ver := MaxAPIVersion
	if v.APIVersion != "" && versionLess(v.APIVersion, ver) {
		ver = v.APIVersion
	}
	if versionLess(ver, minAPIVersion) {
		return nil, fmt.Errorf("docker at %s: API version %s is older than %s", host, ver, minAPIVersion)
	}
	if v.MinAPIVersion != "" && versionLess(ver, v.MinAPIVersion) {
		return nil, fmt.Errorf("docker at %s: server needs API %s or newer, this client speaks up to %s", host, v.MinAPIVersion, MaxAPIVersion)
	}
	c.version = ver
	c.base = base + "/v" + ver
	return c, nil
}

// APIVersion returns the negotiated API version.
func (c *Client) APIVersion() string { return c.version }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// versionLess compares dotted API versions numerically ("1.9" < "1.41").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("docker API %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker API %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var m struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &m) == nil && m.Message != "" {
			msg = m.Message
		}
		p, _, _ := strings.Cut(path, "?")
		return nil, &APIError{Method: method, Path: p, Status: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	return c.callJSON(ctx, http.MethodGet, path, nil, out)
}

func (c *Client) callJSON(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("docker API %s %s: decode: %w", method, path, err)
	}
	return nil
}

// ListContainers lists the containers, running or not, that carry at
// least one of the label keys (the API's label filter: an OR over separate calls, as
// the filter itself ANDs its terms). Each container appears once.
func (c *Client) ListContainers(ctx context.Context, labelKeys ...string) ([]Container, error) {
	seen := map[string]bool{}
	var out []Container
	for _, k := range labelKeys {
		f, err := json.Marshal(map[string][]string{"label": {k}})
		if err != nil {
			return nil, fmt.Errorf("encode filter: %w", err)
		}
		var list []Container
		if err := c.getJSON(ctx, "/containers/json?all=1&filters="+url.QueryEscape(string(f)), &list); err != nil {
			return nil, err
		}
		for _, ct := range list {
			if !seen[ct.ID] {
				seen[ct.ID] = true
				out = append(out, ct)
			}
		}
	}
	return out, nil
}

// InspectContainer returns a container's configuration and state.
func (c *Client) InspectContainer(ctx context.Context, id string) (*ContainerDetails, error) {
	var d ContainerDetails
	if err := c.getJSON(ctx, "/containers/"+url.PathEscape(id)+"/json", &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ExecConfig is an exec to create: argv, extra environment, user.
type ExecConfig struct {
	Cmd  []string
	Env  []string
	User string
}

// ExecCreate creates an exec in container id with standard output and
// error attached (no TTY, no stdin) and returns its id.
func (c *Client) ExecCreate(ctx context.Context, id string, cfg ExecConfig) (string, error) {
	body := map[string]any{
		"AttachStdout": true, "AttachStderr": true, "AttachStdin": false, "Tty": false,
		"Cmd": cfg.Cmd,
	}
	if len(cfg.Env) > 0 {
		body["Env"] = cfg.Env
	}
	if cfg.User != "" {
		body["User"] = cfg.User
	}
	var r struct {
		ID string `json:"Id"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/exec", body, &r); err != nil {
		return "", err
	}
	if r.ID == "" {
		return "", fmt.Errorf("docker API exec create in %s: no exec id returned", shortID(id))
	}
	return r.ID, nil
}

// ExecStart starts exec id attached and returns its multiplexed output
// (Docker's stdcopy framing; see Demux). The caller closes it.
func (c *Client) ExecStart(ctx context.Context, id string) (io.ReadCloser, error) {
	b, _ := json.Marshal(map[string]bool{"Detach": false, "Tty": false})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/exec/"+url.PathEscape(id)+"/start", bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("docker API exec start: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	// The daemon takes the connection over and streams until the exec
	// ends; it is not reusable afterwards.
	req.Close = true
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker API exec start: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, &APIError{Method: http.MethodPost, Path: "/exec/" + id + "/start", Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	return resp.Body, nil
}

// ExecInspect returns whether exec id still runs and its exit code.
func (c *Client) ExecInspect(ctx context.Context, id string) (ExecState, error) {
	var s ExecState
	err := c.getJSON(ctx, "/exec/"+url.PathEscape(id)+"/json", &s)
	return s, err
}

// ExecWait polls exec id until it no longer runs (the output stream ends
// a moment before the daemon records the exit code) and returns its exit
// code.
func (c *Client) ExecWait(ctx context.Context, id string) (int, error) {
	delay := 10 * time.Millisecond
	for {
		s, err := c.ExecInspect(ctx, id)
		if err != nil {
			return 0, err
		}
		if !s.Running {
			return s.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
