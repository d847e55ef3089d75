package db

import (
	"fmt"
	"os"
	"sync"
)

// secrets owns the temporary credential files of one dump or restore.
// Every file is created 0600 inside a private 0700 directory and removed by
// Cleanup, which the caller defers so that it runs on failure as well.
type secrets struct {
	parent string // where the private directory is made; "" = os.TempDir

	mu  sync.Mutex
	dir string
}

func newSecrets(parent string) *secrets { return &secrets{parent: parent} }

// write creates a 0600 file named name holding content and returns its path.
func (s *secrets) write(name, content string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		d, err := os.MkdirTemp(s.parent, "cairn-db-")
		if err != nil {
			return "", fmt.Errorf("credentials directory: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			os.RemoveAll(d)
			return "", fmt.Errorf("credentials directory: %w", err)
		}
		s.dir = d
	}
	// CreateTemp makes the file 0600 with a unique name: one dump may
	// write the same kind of file twice (version query, then dump).
	f, err := os.CreateTemp(s.dir, name+"-*")
	if err != nil {
		return "", fmt.Errorf("credentials file: %w", err)
	}
	p := f.Name()
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return "", fmt.Errorf("credentials file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("credentials file: %w", err)
	}
	return p, nil
}

// Dir returns the private directory, or "" if no file was written.
func (s *secrets) Dir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// Cleanup removes every file written.
func (s *secrets) Cleanup() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.dir = ""
	return err
}
