package db

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"cairn/repo"
	"cairn/sources/stream"
)

// Options configure a database backup.
type Options struct {
	// Host overrides the host name recorded in the snapshot (not the
	// database host, which is Conn.Host).
	Host string
	// Tags are added to the snapshot.
	Tags []string
	// Name overrides the stream's file name in the snapshot.
	Name string
	// Save configures chunking and workers.
	Save stream.SaveOptions
	// Stderr receives the dump tool's standard error (pass-through).
	Stderr io.Writer
	// TempDir is where the private credentials directory is made
	// (default os.TempDir()).
	TempDir string
	// BinDir, if set, is searched first for the engine's programs.
	BinDir string
	// RawDump stores the dump tool's output unchanged. By default cairn
	// re-cuts mysql/mariadb extended INSERTs at row boundaries chosen by
	// content, so that a changed row does not move every later statement
	// boundary (see recut.go); with RawDump the dump is made with one
	// INSERT per row instead, which deduplicates too but is larger and
	// slower to restore. For redis, cairn sorts the RDB's keys by name
	// (rdbsort.go); with RawDump the RDB is stored in the server's hash
	// order, which deduplicates poorly.
	RawDump bool
	// onStart, for tests, is called with the dump process's pid and the
	// credentials directory once the dump runs.
	onStart func(pid int, secretsDir string)
}

// Source is the snapshot metadata of a database backup. It holds no secret.
type Source struct {
	// Engine, Host, Port, User, Database, All: the connection, without
	// the password.
	Engine   string `json:"engine"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	User     string `json:"user,omitempty"`
	Database string `json:"database,omitempty"`
	All      bool   `json:"all,omitempty"`
	// Format is the dump format (postgres custom|plain|dumpall, mysql
	// sql, sqlite sql|db, redis rdb, mongodb archive).
	Format string `json:"format"`
	// ServerVersion is what the server reported before the dump.
	ServerVersion string `json:"server_version,omitempty"`
	// Container names the container the dump ran in (docker source).
	Container string `json:"container,omitempty"`
	// Image is the container's image (docker source).
	Image string `json:"image,omitempty"`
	// Dump is how the dump command ran and ended.
	Dump stream.Status `json:"dump"`
	// Recut is set when cairn re-cut the dump's extended INSERT
	// statements (mysql/mariadb without RawDump): the stored stream is
	// then not byte for byte the tool's output, but the same rows.
	Recut *RecutInfo `json:"recut_inserts,omitempty"`
	// SortedRDB is set when cairn sorted a Redis RDB's keys (redis
	// without RawDump): the stored RDB is then not byte for byte the
	// server's, but the same keys and values (rdbsort.go).
	SortedRDB *RDBSortInfo `json:"sorted_rdb,omitempty"`
}

// RecutInfo counts what re-cutting extended INSERTs did.
type RecutInfo struct {
	// Statements is the number of INSERT statements written.
	Statements int64 `json:"statements"`
	// Rows is the number of rows in them.
	Rows int64 `json:"rows"`
}

// SourceOf decodes a snapshot's source details as a db Source.
func SourceOf(sn *repo.Snapshot) (Source, error) {
	var src Source
	if sn.Kind != repo.KindDB || sn.Source == nil {
		return src, fmt.Errorf("snapshot %s: %w (kind %q)", sn.ID.Short(), ErrNotDB, sn.Kind)
	}
	b, err := json.Marshal(sn.Source)
	if err != nil {
		return src, fmt.Errorf("snapshot %s: source details: %w", sn.ID.Short(), err)
	}
	if err := json.Unmarshal(b, &src); err != nil {
		return src, fmt.Errorf("snapshot %s: source details: %w", sn.ID.Short(), err)
	}
	if src.Engine == "" {
		return src, fmt.Errorf("snapshot %s: %w: no engine recorded", sn.ID.Short(), ErrNotDB)
	}
	return src, nil
}

// Backup dumps the database c names and stores the dump as a snapshot of
// kind db. It asks the server for its version first (so a wrong password
// or a missing server fails before anything is stored), then streams the
// dump. Any failure of the dump leaves no snapshot.
func Backup(ctx context.Context, r stream.Repo, c Conn, opts Options) (*repo.Snapshot, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	eng, err := engineFor(c.Engine)
	if err != nil {
		return nil, err
	}
	c.Engine, _ = NormalizeEngine(c.Engine)
	s := newSecrets(opts.TempDir)
	defer s.Cleanup()
	c = withBinDir(c, opts.BinDir)
	c.rawDump = opts.RawDump
	ver, err := eng.version(ctx, c, s)
	if err != nil {
		return nil, fmt.Errorf("%s: connect: %w", c.Engine, err)
	}
	p, err := eng.prepare(ctx, c, s)
	if err != nil {
		return nil, err
	}
	src := Source{Engine: c.Engine, Host: c.Host, Port: c.Port, User: c.User,
		Database: c.Database, All: c.All, Format: p.format, ServerVersion: ver}
	name := opts.Name
	if name == "" {
		name = p.name
	}
	req := stream.Request{Kind: repo.KindDB, Name: name, Host: opts.Host, Tags: opts.Tags, Save: opts.Save}

	var rd io.ReadCloser
	var status func() stream.Status
	if p.open != nil {
		if rd, err = p.open(ctx); err != nil {
			return nil, err
		}
		status = func() stream.Status { return stream.Status{Command: p.argv} }
	} else {
		cmd, err := stream.Command(ctx, p.argv, stream.CommandOptions{Env: p.env, Stderr: opts.Stderr})
		if err != nil {
			return nil, err
		}
		if opts.onStart != nil {
			opts.onStart(cmd.Pid(), s.Dir())
		}
		rd, status = cmd, cmd.Status
	}
	var rr *filterReader[recutStats]
	var sr *filterReader[RDBSortInfo]
	switch {
	case p.recut:
		rr = newFilterReader(rd, recut)
		rd = rr
	case p.sortRDB:
		sr = newFilterReader(rd, rdbSort)
		rd = sr
	}
	defer rd.Close()
	req.Source = func() any {
		src.Dump = status()
		if rr != nil {
			st := rr.Stats()
			src.Recut = &st
		}
		if sr != nil {
			st := sr.Stats()
			src.SortedRDB = &st
		}
		return src
	}
	sn, err := stream.Backup(ctx, r, rd, req)
	if err != nil {
		return nil, fmt.Errorf("%s dump: %w", c.Engine, err)
	}
	return sn, nil
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Target is the database to restore into (created if missing); empty
	// means the database the dump was made of. For sqlite it is the file
	// to create, for redis unused.
	Target string
	// Stderr receives the client's standard error.
	Stderr io.Writer
	// TempDir is where the private credentials directory is made.
	TempDir string
	// BinDir, if set, is searched first for the engine's programs.
	BinDir string
}

// Restore streams the dump in rd, recorded with src, into the server c
// names. c.Engine may be empty (the snapshot's engine is used).
func Restore(ctx context.Context, c Conn, src Source, rd io.Reader, opts RestoreOptions) error {
	if c.Engine == "" {
		c.Engine = src.Engine
	}
	eng, err := engineFor(c.Engine)
	if err != nil {
		return err
	}
	c.Engine, _ = NormalizeEngine(c.Engine)
	if (c.Engine != src.Engine) && !(isMySQL(c.Engine) && isMySQL(src.Engine)) {
		return fmt.Errorf("%w: snapshot holds a %s dump, not %s", ErrInvalid, src.Engine, c.Engine)
	}
	target := opts.Target
	if target == "" {
		target = src.Database
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	s := newSecrets(opts.TempDir)
	defer s.Cleanup()
	c = withBinDir(c, opts.BinDir)
	if err := eng.restore(ctx, c, src, target, rd, s, opts); err != nil {
		return fmt.Errorf("%s restore: %w", c.Engine, err)
	}
	return nil
}
