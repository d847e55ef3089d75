package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// sqlite copies a live database consistently with the sqlite3 shell:
// format "sql" (default) streams `.dump`, which reads every table inside one
// transaction; format "db" makes a page-exact copy with the online backup
// API (`.backup`). A raw copy of a file being written is never taken.
type sqlite struct{}

// sqlitePath resolves the database file and refuses a missing one: the
// sqlite3 shell would silently create an empty database.
func sqlitePath(c Conn) (string, error) {
	p, err := filepath.Abs(c.Database)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("sqlite database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("sqlite database %s: not a regular file", p)
	}
	return p, nil
}

func (sqlite) prepare(ctx context.Context, c Conn, s *secrets) (*plan, error) {
	bin, err := tool(c, "sqlite3")
	if err != nil {
		return nil, err
	}
	p, err := sqlitePath(c)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(p)
	switch c.Format {
	case "", "sql":
		return &plan{argv: []string{bin, "-batch", "-bail", p, ".dump"}, env: os.Environ(), name: base + ".sql", format: "sql"}, nil
	case "db":
		argv := []string{bin, "-batch", "-bail", p, ".backup <temp file>"}
		return &plan{argv: argv, name: base, format: "db", open: func(ctx context.Context) (io.ReadCloser, error) {
			return sqliteBackupCopy(ctx, bin, p, s)
		}}, nil
	}
	return nil, fmt.Errorf("%w: sqlite format %q (want sql or db)", ErrInvalid, c.Format)
}

// sqliteBackupCopy runs the online backup API into a private temporary
// file and returns it opened and already unlinked: the copy needs random
// access, so it cannot be written to a pipe; the unlinked file vanishes
// when closed, also if cairn dies.
func sqliteBackupCopy(ctx context.Context, bin, p string, s *secrets) (io.ReadCloser, error) {
	tmp, err := s.write("copy.db", "")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(tmp); err != nil {
		return nil, err
	}
	if _, err := run(ctx, []string{bin, "-batch", "-bail", p, ".backup '" + tmp + "'"}, nil, nil, nil); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	f, err := os.Open(tmp)
	os.Remove(tmp)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (sqlite) version(ctx context.Context, c Conn, s *secrets) (string, error) {
	bin, err := tool(c, "sqlite3")
	if err != nil {
		return "", err
	}
	p, err := sqlitePath(c)
	if err != nil {
		return "", err
	}
	// Reading the schema proves the file is a database.
	out, err := run(ctx, []string{bin, "-batch", "-bail", p, "SELECT sqlite_version() FROM (SELECT count(*) FROM sqlite_master)"}, nil, nil, nil)
	return strings.TrimSpace(out), err
}

func (sqlite) restore(ctx context.Context, c Conn, src Source, target string, rd io.Reader, s *secrets, opts RestoreOptions) error {
	if opts.Target == "" {
		return fmt.Errorf("%w: sqlite restore needs --target-database FILE (a new file)", ErrInvalid)
	}
	p, err := filepath.Abs(opts.Target)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("%s: %w", p, os.ErrExist)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp := p + ".cairn-tmp"
	if src.Format == "db" {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, rd)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
	} else {
		bin, err := tool(c, "sqlite3")
		if err != nil {
			return err
		}
		if _, err := run(ctx, []string{bin, "-batch", "-bail", tmp}, nil, rd, opts.Stderr); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	// Renamed into place only when complete: a failed restore leaves no
	// half-loaded database under the target name.
	return os.Rename(tmp, p)
}
