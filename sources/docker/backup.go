package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"cairn/repo"
	"cairn/sources/db"
	"cairn/sources/stream"
)

// stderrTail is how much of a dump's standard error is kept.
const stderrTail = 4096

// Discover lists the containers labelled `PREFIX.backup` for the given
// prefixes (default: Prefixes) and validates their label sets; a selected
// container that is not running is reported as an ErrNotRunning error. A
// container labelled under several prefixes is read under the first.
// Unlabelled containers are never returned; containers with
// `PREFIX.backup=false` are skipped. Invalid label sets come back as
// *ValidationError values in errs, the valid targets in targets.
func Discover(ctx context.Context, c *Client, prefixes []string) (targets []*Target, errs []error, err error) {
	if len(prefixes) == 0 {
		prefixes = Prefixes
	}
	keys := make([]string, len(prefixes))
	for i, p := range prefixes {
		keys[i] = p + "." + lBackup
	}
	list, err := c.ListContainers(ctx, keys...)
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	for _, ct := range list {
		for _, p := range prefixes {
			if _, ok := ct.Labels[p+"."+lBackup]; !ok {
				continue
			}
			t, err := ParseTarget(ct, p)
			switch {
			case err != nil:
				errs = append(errs, err)
			case t != nil && ct.State != "" && ct.State != "running":
				// A dump needs exec, so a stopped container cannot be
				// backed up; say so rather than skip it silently.
				errs = append(errs, fmt.Errorf("container %s: %w (state %s)", t.Name, ErrNotRunning, ct.State))
			case t != nil:
				targets = append(targets, t)
			}
			break
		}
	}
	return targets, errs, nil
}

// ErrNotRunning is wrapped by Discover's error for a container that is
// labelled for backup but not running.
var ErrNotRunning = errors.New("labelled for backup but not running")

// Options configure Backup.
type Options struct {
	// Host overrides the host name recorded in the snapshot.
	Host string
	// Tags are added to each snapshot, after the container's name.
	Tags []string
	// Save configures chunking and workers.
	Save stream.SaveOptions
	// Stderr receives the dump's standard error as it arrives (nil
	// discards it; the end is kept either way).
	Stderr io.Writer
	// RawDump stores a redis container's RDB as the server wrote it
	// instead of sorted by key (see db.Options.RawDump).
	RawDump bool
}

// Source is the snapshot metadata of a container dump: package db's
// Source (so `restore db` and `dump` read it) plus the container's id. It
// never holds the password.
type Source struct {
	db.Source
	// ContainerID is the full container id.
	ContainerID string `json:"container_id"`
	// Labels is the label scheme the container was selected by.
	Labels string `json:"labels"`
	// PasswordFrom says where the password came from (never the value).
	PasswordFrom string `json:"password_from,omitempty"`
}

// Backup dumps t's database inside its container and stores the dump as a
// snapshot of kind db tagged with the container's name. A dump whose exec
// exits non-zero (or whose stream breaks) leaves no snapshot; the error
// names the container.
func Backup(ctx context.Context, c *Client, r stream.Repo, t *Target, opts Options) (*repo.Snapshot, error) {
	sn, err := backup(ctx, c, r, t, opts)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", t.Name, err)
	}
	return sn, nil
}

func backup(ctx context.Context, c *Client, r stream.Repo, t *Target, opts Options) (*repo.Snapshot, error) {
	password, err := resolvePassword(ctx, c, t)
	if err != nil {
		return nil, err
	}
	p := planDump(t, password)
	rd, err := startExec(ctx, c, t.ID, ExecConfig{Cmd: p.argv, Env: p.env, User: t.ExecUser}, opts.Stderr)
	if err != nil {
		return nil, fmt.Errorf("%s dump: %w", t.Engine, err)
	}
	var body io.ReadCloser = rd
	var sorter *db.RDBSorter
	if t.Engine == "redis" && !opts.RawDump {
		sorter = db.SortRDB(rd)
		body = sorter
	}
	defer body.Close()
	tag := t.SnapshotName
	if tag == "" {
		tag = t.Name
	}
	src := Source{
		Source: db.Source{Engine: t.Engine, Host: t.Host, Port: t.Port, User: t.User,
			Database: t.Database, All: t.All, Format: p.format, Container: t.Name, Image: t.Image},
		ContainerID: t.ID, Labels: t.Prefix, PasswordFrom: t.Password.Kind(),
	}
	req := stream.Request{
		Kind: repo.KindDB, Name: p.name, Host: opts.Host,
		Tags: append([]string{tag}, opts.Tags...), Save: opts.Save,
		Source: func() any {
			src.Dump = rd.Status()
			if sorter != nil {
				info := sorter.Info()
				src.SortedRDB = &info
			}
			return src
		},
	}
	sn, err := stream.Backup(ctx, r, body, req)
	if err != nil {
		return nil, fmt.Errorf("%s dump: %w", t.Engine, err)
	}
	return sn, nil
}

// resolvePassword returns t's password from a label, the container's
// environment or a file inside the container ("" if none is configured).
func resolvePassword(ctx context.Context, c *Client, t *Target) (string, error) {
	ps := t.Password
	switch {
	case ps.Literal != "":
		return ps.Literal, nil
	case ps.Env != "":
		d, err := c.InspectContainer(ctx, t.ID)
		if err != nil {
			return "", fmt.Errorf("inspect: %w", err)
		}
		for _, kv := range d.Config.Env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == ps.Env {
				return v, nil
			}
		}
		return "", fmt.Errorf("label %s.%s: the container has no environment variable %s", t.Prefix, lPasswordEnv, ps.Env)
	case ps.File != "":
		var out bytes.Buffer
		rd, err := startExec(ctx, c, t.ID, ExecConfig{Cmd: []string{"cat", ps.File}, User: t.ExecUser}, nil)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		defer rd.Close()
		if _, err := io.Copy(&out, io.LimitReader(rd, 64<<10)); err != nil {
			return "", fmt.Errorf("label %s.%s: read %s inside the container: %w", t.Prefix, lPasswordFile, ps.File, err)
		}
		line, _, _ := strings.Cut(out.String(), "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return "", fmt.Errorf("label %s.%s: %s is empty", t.Prefix, lPasswordFile, ps.File)
		}
		return line, nil
	}
	return "", nil
}

// execReader is a running exec's standard output. Its final Read reports
// the exec's exit code: io.EOF only for 0, else a *stream.ExitError, so a
// failed dump fails stream.Save and leaves no snapshot.
type execReader struct {
	ctx    context.Context
	c      *Client
	id     string
	body   io.ReadCloser
	demux  *Demux
	tail   *tail
	status stream.Status
	final  error
}

func startExec(ctx context.Context, c *Client, container string, cfg ExecConfig, stderr io.Writer) (*execReader, error) {
	id, err := c.ExecCreate(ctx, container, cfg)
	if err != nil {
		return nil, err
	}
	body, err := c.ExecStart(ctx, id)
	if err != nil {
		return nil, err
	}
	t := &tail{max: stderrTail}
	var w io.Writer = t
	if stderr != nil {
		w = io.MultiWriter(t, stderr)
	}
	r := &execReader{ctx: ctx, c: c, id: id, body: body, demux: NewDemux(body, w), tail: t}
	r.status.Command = append([]string(nil), cfg.Cmd...)
	return r, nil
}

// Read returns the exec's standard output.
func (r *execReader) Read(p []byte) (int, error) {
	if r.final != nil {
		return 0, r.final
	}
	n, err := r.demux.Read(p)
	if err == nil {
		return n, nil
	}
	r.final = err
	if errors.Is(err, io.EOF) {
		code, werr := r.c.ExecWait(r.ctx, r.id)
		r.status.StderrTail = r.tail.String()
		switch {
		case werr != nil:
			r.final = fmt.Errorf("exec %s: exit code: %w", r.status.Command[0], werr)
		case code != 0:
			r.status.ExitCode = code
			r.final = &stream.ExitError{Status: r.status}
		}
	} else {
		r.status.ExitCode = -1
		r.status.StderrTail = r.tail.String()
		r.final = fmt.Errorf("exec %s: %w", r.status.Command[0], err)
	}
	return n, r.final
}

// Status is how the exec ended (valid after Read returned an error).
func (r *execReader) Status() stream.Status { return r.status }

// Close closes the connection; an exec still running then fails writing
// to it (Docker has no API to kill an exec).
func (r *execReader) Close() error { return r.body.Close() }

// tail keeps the last max bytes written.
type tail struct {
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
