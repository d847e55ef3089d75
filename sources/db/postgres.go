package db

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// postgres dumps with pg_dump (custom or plain format, one database) or
// pg_dumpall (globals and every database, plain SQL).
type postgres struct{}

// pgEnv is the libpq environment for c connecting to database db. The
// connection goes through environment variables, not argv: PGDATABASE is
// never expanded as a connection string, unlike a dbname argument holding
// '=', so a database name cannot smuggle in connection options.
func pgEnv(c Conn, db string, s *secrets) ([]string, error) {
	set := []string{}
	if c.Host != "" {
		set = append(set, "PGHOST="+c.Host)
	}
	if c.Port != 0 {
		set = append(set, "PGPORT="+strconv.Itoa(c.Port))
	}
	if c.User != "" {
		set = append(set, "PGUSER="+c.User)
	}
	if db != "" {
		set = append(set, "PGDATABASE="+db)
	}
	drop := []string{"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"}
	if c.Password != "" {
		esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(c.Password)
		p, err := s.write("pgpass", "*:*:*:*:"+esc+"\n")
		if err != nil {
			return nil, err
		}
		set = append(set, "PGPASSFILE="+p)
		drop = append(drop, "PGPASSWORD", "PGPASSFILE")
	}
	return envWith(drop, set...), nil
}

func (postgres) prepare(ctx context.Context, c Conn, s *secrets) (*plan, error) {
	if c.All {
		if c.Format != "" && c.Format != "plain" && c.Format != "dumpall" {
			return nil, fmt.Errorf("%w: --all (pg_dumpall) writes plain SQL only", ErrInvalid)
		}
		bin, err := tool(c, "pg_dumpall")
		if err != nil {
			return nil, err
		}
		env, err := pgEnv(c, "", s)
		if err != nil {
			return nil, err
		}
		return &plan{argv: []string{bin, "--no-password"}, env: env, name: "all.sql", format: "dumpall"}, nil
	}
	format := c.Format
	if format == "" {
		format = "custom"
	}
	if format != "custom" && format != "plain" {
		return nil, fmt.Errorf("%w: postgres format %q (want custom or plain)", ErrInvalid, format)
	}
	bin, err := tool(c, "pg_dump")
	if err != nil {
		return nil, err
	}
	env, err := pgEnv(c, c.Database, s)
	if err != nil {
		return nil, err
	}
	// Compression is left to the repository: pg_dump's own gzip would
	// defeat deduplication between dumps.
	argv := []string{bin, "--no-password", "--format=" + format}
	name := c.Database + ".sql"
	if format == "custom" {
		argv = append(argv, "--compress=0")
		name = c.Database + ".pgdump"
	}
	return &plan{argv: argv, env: env, name: safeName(name), format: format}, nil
}

func (postgres) version(ctx context.Context, c Conn, s *secrets) (string, error) {
	bin, err := tool(c, "psql")
	if err != nil {
		return "", err
	}
	db := c.Database
	if c.All {
		db = "postgres"
	}
	env, err := pgEnv(c, db, s)
	if err != nil {
		return "", err
	}
	out, err := run(ctx, []string{bin, "-X", "-w", "-A", "-t", "-c", "SHOW server_version"}, env, nil, nil)
	return strings.TrimSpace(out), err
}

func (postgres) restore(ctx context.Context, c Conn, src Source, target string, rd io.Reader, s *secrets, opts RestoreOptions) error {
	psql, err := tool(c, "psql")
	if err != nil {
		return err
	}
	if src.Format == "dumpall" {
		// pg_dumpall output recreates roles and databases itself; errors
		// such as "role already exists" are expected, as with psql -f.
		env, err := pgEnv(c, "postgres", s)
		if err != nil {
			return err
		}
		_, err = run(ctx, []string{psql, "-X", "-w", "-q"}, env, rd, opts.Stderr)
		return err
	}
	if target == "" {
		return fmt.Errorf("%w: no target database", ErrInvalid)
	}
	// Create the target if missing; its name travels as a psql variable
	// and is quoted by format(%I), never spliced into SQL text here.
	env, err := pgEnv(c, "postgres", s)
	if err != nil {
		return err
	}
	create := "SELECT format('CREATE DATABASE %I', :'name') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \\gexec\n"
	if _, err := run(ctx, []string{psql, "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-v", "name=" + target}, env, strings.NewReader(create), opts.Stderr); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	env, err = pgEnv(c, target, s)
	if err != nil {
		return err
	}
	if src.Format == "custom" {
		bin, err := tool(c, "pg_restore")
		if err != nil {
			return err
		}
		conninfo := "dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(target) + "'"
		_, err = run(ctx, []string{bin, "--no-password", "--exit-on-error", "--dbname=" + conninfo}, env, rd, opts.Stderr)
		return err
	}
	_, err = run(ctx, []string{psql, "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1"}, env, rd, opts.Stderr)
	return err
}

// safeName turns a database name into a single path element.
func safeName(name string) string {
	r := strings.NewReplacer("/", "_", "\x00", "_")
	name = r.Replace(name)
	if name == "" || name == "." || name == ".." {
		return "dump"
	}
	return name
}
