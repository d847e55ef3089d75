// Package sftp stores a repository on an sftp server (github.com/pkg/sftp
// over an OpenSSH `ssh` process). Saves write a dot-named temp file in the
// destination directory, fsync it (fsync@openssh.com) and rename it over
// the final name with posix-rename@openssh.com, so a file is complete or
// absent. A dropped connection is re-established on the next call, so the
// Retry wrapper can cure it.
package sftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"

	"cairn/repo/backend"
)

// Backend is an sftp repository. Safe for concurrent use: calls share one
// ssh connection, which pkg/sftp multiplexes.
type Backend struct {
	cfg Config

	mu     sync.Mutex
	conn   *conn
	closed bool
}

var _ backend.Backend = (*Backend)(nil)

// conn is one ssh process and the sftp client speaking through it.
type conn struct {
	cmd    *exec.Cmd
	client *sftp.Client
	stderr *tailBuffer
	gone   chan struct{} // closed when the ssh process exited
}

// Create makes the repository directory and its type subdirectories
// (packs' data/xx directories are made on the first save into them) and
// refuses a directory that already holds a config.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b := &Backend{cfg: cfg}
	c, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.client.Stat(b.filename(backend.Handle{Type: backend.ConfigFile})); err == nil {
		b.Close()
		return nil, fmt.Errorf("sftp: create %s: %w", b.Location(), fs.ErrExist)
	}
	for _, t := range backend.AllFileTypes {
		if t == backend.ConfigFile {
			continue
		}
		if err := c.client.MkdirAll(path.Join(cfg.Path, string(t))); err != nil {
			b.Close()
			return nil, b.wrap(c, "create", backend.Handle{Type: t}, err)
		}
	}
	return b, nil
}

// Open opens an existing repository: its config must exist.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b := &Backend{cfg: cfg}
	if _, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err != nil {
		b.Close()
		return nil, fmt.Errorf("sftp: open %s: %w", b.Location(), err)
	}
	return b, nil
}

// Location returns "sftp:[user@]host[:port]:path".
func (b *Backend) Location() string { return b.cfg.location() }

// filename returns the server path of h.
func (b *Backend) filename(h backend.Handle) string {
	switch h.Type {
	case backend.ConfigFile:
		return path.Join(b.cfg.Path, "config")
	case backend.PackFile:
		return path.Join(b.cfg.Path, "data", h.Name[:2], h.Name)
	}
	return path.Join(b.cfg.Path, string(h.Type), h.Name)
}

// get returns the live connection, starting ssh if there is none.
func (b *Backend) get(ctx context.Context) (*conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("sftp: backend closed")
	}
	if c := b.conn; c != nil {
		select {
		case <-c.gone:
			b.conn = nil
			go c.close()
		default:
			return c, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := dial(b.cfg)
	if err != nil {
		return nil, err
	}
	b.conn = c
	return c, nil
}

// dial starts ssh and an sftp client over its stdin and stdout.
func dial(cfg Config) (*conn, error) {
	argv := cfg.sshCommand()
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its own process group: a Ctrl-C meant for cairn must not kill ssh
	// before cairn has removed its lock.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c := &conn{cmd: cmd, stderr: &tailBuffer{}, gone: make(chan struct{})}
	cmd.Stderr = c.stderr
	wr, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	rd, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, backend.Permanent(fmt.Errorf("sftp: start %s: %w", argv[0], err))
	}
	go func() { _ = cmd.Wait(); close(c.gone) }()
	c.client, err = sftp.NewClientPipe(rd, wr, sftp.UseConcurrentWrites(true), sftp.UseFstat(true))
	if err != nil {
		_ = cmd.Process.Kill()
		<-c.gone
		err = fmt.Errorf("sftp: connect with %q: %w: %s", argv, err, c.stderr.String())
		if c.stderr.authFailed() {
			err = backend.Permanent(err)
		}
		return nil, err
	}
	return c, nil
}

// close ends the session and the ssh process.
func (c *conn) close() error {
	err := c.client.Close()
	select {
	case <-c.gone:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.gone
	}
	return err
}

// Close ends the connection.
func (b *Backend) Close() error {
	b.mu.Lock()
	c := b.conn
	b.conn, b.closed = nil, true
	b.mu.Unlock()
	if c != nil {
		_ = c.close() // the session's end is not an error of the repository
	}
	return nil
}
