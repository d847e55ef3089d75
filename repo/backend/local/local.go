// Package local stores a repository in a directory of the local file system.
//
// Layout: config, keys/<name>, data/<first 2 chars>/<name>, index/<name>,
// snapshots/<name>, locks/<name>. Files are written to a ".tmp-" file in
// the destination directory, fsynced, renamed into place and the directory
// fsynced, so a file is complete or absent even across a crash.
package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"cairn/repo/backend"
)

// tempPrefix starts the names of files being written. List skips them; a
// crash can leave one behind, and nothing but a cleanup ever reads them.
const tempPrefix = ".tmp-"

// dirMode and fileMode keep the repository private to its owner: it holds
// key files, and its file names and sizes leak information.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// Backend is a repository in a local directory. It is safe for concurrent
// use; several processes may use the same directory at once.
type Backend struct {
	dir string
}

var _ backend.Backend = (*Backend)(nil)

// Create makes dir (and its parents) if needed and the repository's
// subdirectories in it, all with mode 0700, and returns a Backend for it.
// It fails if dir already holds a config file.
func Create(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local: create %s: %w", dir, err)
	}
	b := &Backend{dir: abs}
	if _, err := os.Lstat(b.Path(backend.Handle{Type: backend.ConfigFile})); err == nil {
		return nil, fmt.Errorf("local: create %s: a repository already exists there: %w", abs, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("local: create %s: %w", abs, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("local: create %s: %w", abs, err)
	}
	for _, t := range backend.AllFileTypes {
		if t == backend.ConfigFile {
			continue
		}
		if err := mkdir(filepath.Join(abs, string(t))); err != nil {
			return nil, fmt.Errorf("local: create %s: %w", abs, err)
		}
	}
	for i := 0; i < 256; i++ {
		if err := mkdir(filepath.Join(abs, string(backend.PackFile), fmt.Sprintf("%02x", i))); err != nil {
			return nil, fmt.Errorf("local: create %s: %w", abs, err)
		}
	}
	// Make the new directory entries durable: a crash right after init
	// must not leave a config file in a directory that lost its subdirs.
	for _, d := range []string{filepath.Join(abs, string(backend.PackFile)), abs, filepath.Dir(abs)} {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("local: create %s: %w", abs, err)
		}
	}
	return b, nil
}

// mkdir creates one directory with dirMode; an existing one is fine.
func mkdir(p string) error {
	err := os.Mkdir(p, dirMode)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// Open returns a Backend for the repository in dir. If dir or its config
// file does not exist, the error wraps backend.ErrNotExist, so that callers
// can tell "no repository here" from other failures.
func Open(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local: open %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("local: open %s: no repository: %w", abs, backend.ErrNotExist)
	case err != nil:
		return nil, fmt.Errorf("local: open %s: %w", abs, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("local: open %s: not a directory", abs)
	}
	b := &Backend{dir: abs}
	if _, err := os.Stat(b.Path(backend.Handle{Type: backend.ConfigFile})); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("local: open %s: no config file, not a repository: %w", abs, backend.ErrNotExist)
	} else if err != nil {
		return nil, fmt.Errorf("local: open %s: %w", abs, err)
	}
	return b, nil
}

// Location returns "local:" and the absolute directory.
func (b *Backend) Location() string { return "local:" + b.dir }

// Path returns the file name h is stored under. h must be valid (see
// backend.Handle.Valid); for an invalid handle Path returns "".
func (b *Backend) Path(h backend.Handle) string {
	if h.Valid() != nil {
		return ""
	}
	switch h.Type {
	case backend.ConfigFile:
		return filepath.Join(b.dir, string(backend.ConfigFile))
	case backend.PackFile:
		return filepath.Join(b.dir, string(backend.PackFile), h.Name[:2], h.Name)
	default:
		return filepath.Join(b.dir, string(h.Type), h.Name)
	}
}

// Close releases nothing: a local backend holds no open resources.
func (b *Backend) Close() error { return nil }

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
