package db

import (
	"context"
	"io"
)

// plan is one prepared dump: the command to run and what to clean up.
type plan struct {
	// argv is the dump command; it holds no secret.
	argv []string
	// env is the command's environment (may hold REDISCLI_AUTH etc.).
	env []string
	// name is the stream's file name in the snapshot.
	name string
	// format is the dump format recorded for restore.
	format string
	// open, if set, replaces running argv: it returns the stream (sqlite
	// "db" format reads a consistent copy this way).
	open func(ctx context.Context) (io.ReadCloser, error)
	// recut passes the dump through recut (mysqldump extended INSERTs).
	recut bool
	// sortRDB passes the dump through rdbSort (redis RDB keys).
	sortRDB bool
}

// engine is one database engine's dump, version and restore logic.
type engine interface {
	// prepare validates c and returns the dump plan. Secret files it
	// creates are registered with s and removed by the caller.
	prepare(ctx context.Context, c Conn, s *secrets) (*plan, error)
	// version asks the server for its version.
	version(ctx context.Context, c Conn, s *secrets) (string, error)
	// restore streams a dump made by prepare back into the server, into
	// database target (created if missing) where the engine has databases.
	restore(ctx context.Context, c Conn, src Source, target string, rd io.Reader, s *secrets, opts RestoreOptions) error
}

func engineFor(name string) (engine, error) {
	eng, err := NormalizeEngine(name)
	if err != nil {
		return nil, err
	}
	switch eng {
	case "postgres":
		return postgres{}, nil
	case "mysql", "mariadb":
		return mysql{flavor: eng}, nil
	case "sqlite":
		return sqlite{}, nil
	case "redis":
		return redis{}, nil
	default:
		return mongo{}, nil
	}
}
