package sftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/pkg/sftp"

	"cairn/repo/backend"
)

// wrap turns an sftp error into the backend contract's errors, and drops
// the connection when the error says it is broken (the next call dials
// again).
func (b *Backend) wrap(c *conn, op string, h backend.Handle, err error) error {
	if err == nil {
		return nil
	}
	var se *sftp.StatusError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sftp: %s %v: %w", op, h, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sftp: %s %v: %w (%v)", op, h, backend.ErrNotExist, err)
	case errors.Is(err, fs.ErrPermission):
		return backend.Permanent(fmt.Errorf("sftp: %s %v: %w", op, h, err))
	case errors.As(err, &se):
		return fmt.Errorf("sftp: %s %v: %w", op, h, err) // the server answered: the connection is fine
	}
	b.broken(c)
	return fmt.Errorf("sftp: %s %v: %w %s", op, h, err, c.stderr.String())
}

// broken forgets c if it is still the current connection.
func (b *Backend) broken(c *conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == c {
		b.conn = nil
		go c.close()
	}
}

// tailBuffer keeps the last 4 KiB of ssh's stderr for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return "(ssh: " + s + ")"
}

// authFailed reports whether ssh said the login cannot succeed as given.
func (t *tailBuffer) authFailed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Contains(t.buf, []byte("Permission denied")) ||
		bytes.Contains(t.buf, []byte("Host key verification failed"))
}
