package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/sources/db"
	"cairn/sources/docker"
	"cairn/sources/stdin"
	"cairn/sources/stream"
)

// streamFlags are backup's flags for standard input and command output
// (docs/source-stdin.md).
func streamFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "stdin", Usage: "back up standard input as one file"},
		&cli.StringFlag{Name: "stdin-filename", Usage: "name the standard-input stream `NAME` in the snapshot (default \"stdin\")"},
		&cli.BoolFlag{Name: "stdin-from-command", Usage: "back up the standard output of the command given after --; a failing command leaves no snapshot"},
	}
}

// backupSubcommands are `backup db` and `backup docker`.
func backupSubcommands() []*cli.Command {
	return []*cli.Command{cmdBackupDB(), cmdBackupDocker()}
}

// isStreamBackup reports whether backup was asked for --stdin or
// --stdin-from-command.
func isStreamBackup(c *cli.Context) bool {
	return c.Bool("stdin") || c.Bool("stdin-from-command")
}

// openForBackup opens the repository, takes a shared lock and syncs the
// index under it, as every backup does.
func openForBackup(ctx context.Context, e *env) (*repo.Repository, func(), error) {
	r, err := e.openRepo(ctx)
	if err != nil {
		return nil, nil, err
	}
	lock, err := r.Lock(ctx, repo.LockShared, "backup")
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	// Sync again under the lock: a backup either sees prune's deletion
	// records or holds a lock older than them.
	if err := r.SyncIndex(ctx); err != nil {
		lock.Unlock()
		r.Close()
		return nil, nil, err
	}
	return r, func() { lock.Unlock(); r.Close() }, nil
}

// backupStream runs `backup --stdin` and `backup --stdin-from-command -- CMD`.
func backupStream(c *cli.Context, args []string) error {
	e := newEnv(c)
	fromCmd := c.Bool("stdin-from-command")
	if c.Bool("stdin") && fromCmd {
		return errors.New("--stdin and --stdin-from-command exclude each other")
	}
	if fromCmd && len(args) == 0 {
		return errors.New("--stdin-from-command needs a command after --")
	}
	if !fromCmd && len(args) > 0 {
		return fmt.Errorf("--stdin takes no paths (got %q)", args[0])
	}
	r, done, err := openForBackup(c.Context, e)
	if err != nil {
		return err
	}
	defer done()
	opts := stdin.Options{
		Filename: c.String("stdin-filename"), Host: c.String("host"), Tags: c.StringSlice("tag"),
		Save: stream.SaveOptions{Chunker: r.ChunkerParams(), Workers: c.Int("workers")}, Stderr: e.stderr,
	}
	var sn *repo.Snapshot
	if fromCmd {
		sn, err = stdin.BackupCommand(c.Context, stream.Repository{Repository: r}, args, opts)
	} else {
		sn, err = stdin.Backup(c.Context, stream.Repository{Repository: r}, c.App.Reader, opts)
	}
	if err != nil {
		return err
	}
	return reportBackup(e, sn)
}

// dbFlags are the connection flags shared by `backup db` and `restore db`.
func dbFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "engine", Usage: "`ENGINE`: postgres, mysql, mariadb, sqlite, redis or mongodb (default: from --url)"},
		&cli.StringFlag{Name: "url", Usage: "connection `URL` (postgres://user@host:port/db, …); a password in it is moved to a 0600 file"},
		&cli.StringFlag{Name: "host", Usage: "database `HOST`, or a unix socket directory (postgres) / socket path (mysql, redis)"},
		&cli.IntFlag{Name: "port", Usage: "database `PORT`"},
		&cli.StringFlag{Name: "user", Usage: "database `USER`"},
		&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "database `NAME` (sqlite: the database file)"},
		&cli.StringFlag{Name: "db-password-file", EnvVars: []string{"CAIRN_DB_PASSWORD_FILE"}, Usage: "read the database password from `FILE` (or set CAIRN_DB_PASSWORD)"},
		&cli.StringFlag{Name: "db-password-command", EnvVars: []string{"CAIRN_DB_PASSWORD_COMMAND"}, Usage: "run `COMMAND` (sh -c) for the database password"},
		&cli.StringFlag{Name: "bin-dir", Usage: "look for pg_dump, mariadb-dump, … in `DIR` first"},
	}
}

// dbConn reads the connection flags and the database password.
func dbConn(c *cli.Context) (db.Conn, error) {
	conn := db.Conn{
		Host: c.String("host"), Port: c.Int("port"), User: c.String("user"),
		Database: c.String("database"), All: c.Bool("all"), Format: c.String("format"),
	}
	if c.String("engine") != "" {
		eng, err := db.NormalizeEngine(c.String("engine"))
		if err != nil {
			return conn, err
		}
		conn.Engine = eng
	}
	pw, err := dbPassword(c)
	if err != nil {
		return conn, err
	}
	conn.Password = pw
	if u := c.String("url"); u != "" {
		if conn, err = db.ParseURL(u, conn); err != nil {
			return conn, err
		}
	}
	return conn, nil
}

// dbPassword reads --db-password-file, --db-password-command or
// CAIRN_DB_PASSWORD; none is not an error (peer or trust authentication,
// ~/.pgpass and ~/.my.cnf still work).
func dbPassword(c *cli.Context) (string, error) {
	e := newEnv(c)
	if f := c.String("db-password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("read database password file: %w", err)
		}
		return firstLine(b), nil
	}
	if cmd := c.String("db-password-command"); cmd != "" {
		var out strings.Builder
		ex := exec.CommandContext(c.Context, "sh", "-c", cmd)
		ex.Stdout = &out
		ex.Stderr = e.stderr
		if err := ex.Run(); err != nil {
			return "", fmt.Errorf("database password command failed: %w", err)
		}
		return firstLine([]byte(out.String())), nil
	}
	return os.Getenv("CAIRN_DB_PASSWORD"), nil
}

func cmdBackupDB() *cli.Command {
	return &cli.Command{
		Name:         "db",
		Usage:        "dump a database into the repository (docs/source-db.md)",
		OnUsageError: streamUsageError,
		Flags: append(dbFlags(),
			&cli.BoolFlag{Name: "all", Usage: "dump every database (pg_dumpall, --all-databases)"},
			&cli.StringFlag{Name: "format", Usage: "postgres: custom (default) or plain; sqlite: sql (default) or db"},
			&cli.StringFlag{Name: "name", Usage: "name the dump `NAME` in the snapshot"},
			&cli.StringSliceFlag{Name: "tag", Usage: "add `TAG` to the snapshot"},
			&cli.StringFlag{Name: "snapshot-host", Usage: "record `HOST` in the snapshot instead of this host's name"},
			&cli.IntFlag{Name: "workers", Usage: "concurrent chunk savers"},
			&cli.BoolFlag{Name: "raw-dump", Usage: "store the dump tool's output unchanged: mysql/mariadb one INSERT per row instead of re-cut extended INSERTs; redis the RDB in the server's hash order instead of sorted by key"},
		),
		Action: func(c *cli.Context) error {
			if delegated, err := delegateStream(c); delegated {
				return err
			}
			e := newEnv(c)
			if c.NArg() > 0 {
				return fmt.Errorf("backup db takes no arguments (got %q)", c.Args().First())
			}
			conn, err := dbConn(c)
			if err != nil {
				return err
			}
			if err := conn.Validate(); err != nil {
				return err
			}
			r, done, err := openForBackup(c.Context, e)
			if err != nil {
				return err
			}
			defer done()
			sn, err := db.Backup(c.Context, stream.Repository{Repository: r}, conn, db.Options{
				Host: c.String("snapshot-host"), Tags: c.StringSlice("tag"), Name: c.String("name"),
				Save:   stream.SaveOptions{Chunker: r.ChunkerParams(), Workers: c.Int("workers")},
				Stderr: e.stderr, BinDir: c.String("bin-dir"), RawDump: c.Bool("raw-dump"),
			})
			if err != nil {
				return err
			}
			return reportBackup(e, sn)
		},
	}
}

// delegateStream handles `backup --stdin-from-command -- db …` (or
// `-- docker …`): urfave/cli dispatches the command's name to the
// subcommand of that name, so the subcommand hands it back.
func delegateStream(c *cli.Context) (bool, error) {
	lin := c.Lineage()
	if len(lin) < 2 || !isStreamBackup(lin[1]) {
		return false, nil
	}
	return true, backupStream(lin[1], lin[1].Args().Slice())
}

// streamUsageError lets a flag-parse error of a subcommand that is really
// a --stdin-from-command argument fall back to the stream backup.
func streamUsageError(c *cli.Context, err error, _ bool) error {
	if delegated, derr := delegateStream(c); delegated {
		return derr
	}
	return err
}

func cmdRestoreDB() *cli.Command {
	return &cli.Command{
		Name:      "db",
		Usage:     "stream a database snapshot back into a server (docs/source-db.md)",
		ArgsUsage: "SNAPSHOT",
		// filterFlags' --host would clash with the database --host.
		Flags: append(dbFlags(),
			&cli.StringSliceFlag{Name: "snapshot-host", Usage: "only snapshots of `HOST` (for latest)"},
			&cli.StringSliceFlag{Name: "tag", Usage: "only snapshots with `TAG[,TAG]` (for latest)"},
			&cli.StringSliceFlag{Name: "path", Usage: "only snapshots of `PATH` (for latest)"},
			&cli.StringFlag{Name: "target-database", Usage: "restore into database `NAME` (created if missing; sqlite: a new file; redis: write the RDB to this file instead of loading it)"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("restore db needs one snapshot")
			}
			conn, err := dbConn(c)
			if err != nil {
				return err
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			f := repo.Filter{Hosts: c.StringSlice("snapshot-host"), Tags: c.StringSlice("tag"), Paths: c.StringSlice("path")}
			sn, err := r.FindSnapshot(c.Context, c.Args().First(), f)
			if err != nil {
				return err
			}
			src, err := db.SourceOf(sn)
			if err != nil {
				return err
			}
			sr := stream.Repository{Repository: r}
			node, err := stream.Find(c.Context, sr, sn.Tree)
			if err != nil {
				return err
			}
			rd := stream.Reader(c.Context, sr, node)
			defer rd.Close()
			e.printf("restoring %s dump %s of snapshot %s (%s)\n", src.Engine, node.Name, sn.ID.Short(), humanBytes(int64(node.Size)))
			err = db.Restore(c.Context, conn, src, rd, db.RestoreOptions{
				Target: c.String("target-database"), Stderr: e.stderr, BinDir: c.String("bin-dir"),
			})
			if err != nil {
				return err
			}
			e.printf("restored snapshot %s\n", sn.ID.Short())
			return nil
		},
	}
}

// dumpStream writes the single stream of a stdin or db snapshot to stdout:
// `dump SNAPSHOT` without a path.
func dumpStream(c *cli.Context, e *env, r *repo.Repository, sn *repo.Snapshot) error {
	sr := stream.Repository{Repository: r}
	node, err := stream.Find(c.Context, sr, sn.Tree)
	if err != nil {
		return fmt.Errorf("dump %s: %w (give a PATH)", sn.ID.Short(), err)
	}
	_, err = stream.Copy(c.Context, sr, node, e.stdout)
	return err
}

func cmdBackupDocker() *cli.Command {
	return &cli.Command{
		Name:         "docker",
		Usage:        "dump the databases of labelled containers (docs/source-docker.md)",
		OnUsageError: streamUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "label-prefix", Usage: "read only `PREFIX`.* labels: cairn or baktainer (default: both, cairn first)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list the containers and dump commands that would be backed up; store nothing"},
			&cli.StringFlag{Name: "host-socket", EnvVars: []string{"DOCKER_HOST"}, Value: docker.DefaultHost, Usage: "Docker Engine API at `URL` (unix:///path or tcp://host:port)"},
			&cli.StringSliceFlag{Name: "tag", Usage: "add `TAG` to every snapshot (the container's name is always a tag)"},
			&cli.StringFlag{Name: "snapshot-host", Usage: "record `HOST` in the snapshots instead of this host's name"},
			&cli.IntFlag{Name: "workers", Usage: "concurrent chunk savers per dump"},
			&cli.IntFlag{Name: "jobs", Value: 1, Usage: "run up to `N` container dumps at once"},
			&cli.BoolFlag{Name: "raw-dump", Usage: "store redis containers' RDBs in the server's hash order instead of sorted by key"},
		},
		Action: func(c *cli.Context) error {
			if delegated, err := delegateStream(c); delegated {
				return err
			}
			if c.NArg() > 0 {
				return fmt.Errorf("backup docker takes no arguments (got %q)", c.Args().First())
			}
			return backupDocker(c)
		},
	}
}

// backupDocker discovers labelled containers and backs each one up in
// turn; invalid label sets and failed dumps are reported and make the
// command fail after the other containers were backed up.
func backupDocker(c *cli.Context) error {
	e := newEnv(c)
	var prefixes []string
	switch p := c.String("label-prefix"); p {
	case "":
	case "cairn", "baktainer":
		prefixes = []string{p}
	default:
		return fmt.Errorf("--label-prefix %q: want cairn or baktainer", p)
	}
	cl, err := docker.NewClient(c.Context, c.String("host-socket"))
	if err != nil {
		return err
	}
	defer cl.Close()
	targets, invalid, err := docker.Discover(c.Context, cl, prefixes)
	if err != nil {
		return err
	}
	for _, err := range invalid {
		fmt.Fprintf(e.stderr, "error: %v\n", err)
	}
	for _, t := range targets {
		if t.Password.Literal != "" {
			fmt.Fprintf(e.stderr, "warning: container %s: the password in label %s.db.password is readable by anyone who can inspect the container; prefer %s.db.password_file (a Docker secret) or %s.db.password_env\n", t.Name, t.Prefix, t.Prefix, t.Prefix)
		}
	}
	if len(targets) == 0 && len(invalid) == 0 {
		e.printf("no container is labelled for backup (%s.backup=true)\n", strings.Join(labelPrefixes(prefixes), ".backup=true or "))
		return nil
	}
	if c.Bool("dry-run") {
		for _, t := range targets {
			argv, name := t.DumpCommand()
			what := t.Database
			if t.All {
				what = "(all databases)"
			}
			e.printf("%s  %s  image %s  %s %s  user %q  password from %s  labels %s.*\n    would run: %s  ->  %s\n",
				t.Name, t.ID[:min(12, len(t.ID))], t.Image, t.Engine, what, t.User, t.Password.Kind(), t.Prefix, strings.Join(argv, " "), name)
		}
		return dockerFailures(len(invalid), 0)
	}
	r, done, err := openForBackup(c.Context, e)
	if err != nil {
		return err
	}
	defer done()
	failed := 0
	var reportErr error
	e.printf("backing up %d container(s), %d at a time\n", len(targets), max(1, c.Int("jobs")))
	docker.BackupAll(c.Context, cl, stream.Repository{Repository: r}, targets, c.Int("jobs"), docker.Options{
		Host: c.String("snapshot-host"), Tags: c.StringSlice("tag"),
		Save:   stream.SaveOptions{Chunker: r.ChunkerParams(), Workers: c.Int("workers")},
		Stderr: e.stderr, RawDump: c.Bool("raw-dump"),
	}, func(res docker.Result) {
		if res.Err != nil {
			failed++
			fmt.Fprintf(e.stderr, "error: %v\n", res.Err)
			return
		}
		e.printf("container %s: %s dump stored\n", res.Target.Name, res.Target.Engine)
		if err := reportBackup(e, res.Snapshot); err != nil && reportErr == nil {
			reportErr = err
		}
	})
	if reportErr != nil {
		return reportErr
	}
	return dockerFailures(len(invalid), failed)
}

func labelPrefixes(p []string) []string {
	if len(p) == 0 {
		return docker.Prefixes
	}
	return p
}

func dockerFailures(invalid, failed int) error {
	if invalid == 0 && failed == 0 {
		return nil
	}
	return fmt.Errorf("backup docker: %d labelled container(s) skipped (invalid labels or not running), %d dump(s) failed", invalid, failed)
}
