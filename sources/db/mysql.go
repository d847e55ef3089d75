package db

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mysql dumps MySQL or MariaDB with mariadb-dump/mysqldump in one
// consistent transaction (--single-transaction; InnoDB).
type mysql struct {
	flavor string // "mysql" or "mariadb": which program names to try first
}

func (m mysql) dumpTool(c Conn) (string, error) {
	if m.flavor == "mysql" {
		return tool(c, "mysqldump", "mariadb-dump")
	}
	return tool(c, "mariadb-dump", "mysqldump")
}

func (m mysql) clientTool(c Conn) (string, error) {
	if m.flavor == "mysql" {
		return tool(c, "mysql", "mariadb")
	}
	return tool(c, "mariadb", "mysql")
}

// optionValue quotes a value for a MySQL option file: inside double quotes
// backslash and quote are escaped (the client unescapes them).
func optionValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// defaultsFile writes the [client] option file holding the connection and
// the password, mode 0600: mysqldump reads it through
// --defaults-extra-file, so the password is never on a command line.
func defaultsFile(c Conn, s *secrets) (string, error) {
	var b strings.Builder
	b.WriteString("[client]\n")
	if c.User != "" {
		b.WriteString("user=" + optionValue(c.User) + "\n")
	}
	if c.Password != "" {
		b.WriteString("password=" + optionValue(c.Password) + "\n")
	}
	switch {
	case strings.HasPrefix(c.Host, "/"):
		b.WriteString("socket=" + optionValue(c.Host) + "\n")
	case c.Host != "":
		b.WriteString("host=" + optionValue(c.Host) + "\n")
		b.WriteString("protocol=tcp\n")
	}
	if c.Port != 0 {
		b.WriteString("port=" + strconv.Itoa(c.Port) + "\n")
	}
	return s.write("my.cnf", b.String())
}

// env drops MYSQL_PWD and MYSQL_HOST so the defaults file decides.
func mysqlEnv() []string {
	return envWith([]string{"MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_UNIX_PORT"})
}

func (m mysql) prepare(ctx context.Context, c Conn, s *secrets) (*plan, error) {
	if c.Format != "" && c.Format != "sql" {
		return nil, fmt.Errorf("%w: %s dumps are SQL only", ErrInvalid, m.flavor)
	}
	bin, err := m.dumpTool(c)
	if err != nil {
		return nil, err
	}
	cnf, err := defaultsFile(c, s)
	if err != nil {
		return nil, err
	}
	// --defaults-extra-file must come first. The database name follows
	// "--" so that a name starting with '-' is not read as an option.
	// Extended inserts break statements at cumulative byte counts, so one
	// changed row would shift every later statement boundary and defeat
	// deduplication (measured: half the dump new after changing 1% of the
	// rows): cairn re-cuts them at row boundaries chosen by content
	// (recut.go). With RawDump the output is stored as is, so it is made
	// with one INSERT per row (--skip-extended-insert), which
	// deduplicates too, at 30% more bytes and a slower restore.
	argv := []string{bin, "--defaults-extra-file=" + cnf, "--single-transaction", "--quick",
		"--routines", "--triggers", "--events", "--hex-blob", "--no-autocommit", "--skip-dump-date"}
	if c.rawDump {
		argv = append(argv, "--skip-extended-insert")
	}
	name := safeName(c.Database) + ".sql"
	if c.All {
		argv = append(argv, "--all-databases")
		name = "all.sql"
	} else {
		argv = append(argv, "--", c.Database)
	}
	return &plan{argv: argv, env: mysqlEnv(), name: name, format: "sql", recut: !c.rawDump}, nil
}

func (m mysql) version(ctx context.Context, c Conn, s *secrets) (string, error) {
	bin, err := m.clientTool(c)
	if err != nil {
		return "", err
	}
	cnf, err := defaultsFile(c, s)
	if err != nil {
		return "", err
	}
	argv := []string{bin, "--defaults-extra-file=" + cnf, "--batch", "--skip-column-names", "-e", "SELECT VERSION()"}
	if !c.All {
		// Connecting to the database checks that it exists and is
		// readable before the dump starts.
		argv = append(argv, "--", c.Database)
	}
	out, err := run(ctx, argv, mysqlEnv(), nil, nil)
	return strings.TrimSpace(out), err
}

// quoteIdent quotes a MySQL identifier with backticks.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (m mysql) restore(ctx context.Context, c Conn, src Source, target string, rd io.Reader, s *secrets, opts RestoreOptions) error {
	bin, err := m.clientTool(c)
	if err != nil {
		return err
	}
	cnf, err := defaultsFile(c, s)
	if err != nil {
		return err
	}
	base := []string{bin, "--defaults-extra-file=" + cnf, "--batch"}
	if src.All {
		_, err := run(ctx, base, mysqlEnv(), rd, opts.Stderr)
		return err
	}
	if target == "" {
		return fmt.Errorf("%w: no target database", ErrInvalid)
	}
	create := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(target) + ";\n"
	if _, err := run(ctx, base, mysqlEnv(), strings.NewReader(create), opts.Stderr); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	_, err = run(ctx, append(base, "--", target), mysqlEnv(), rd, opts.Stderr)
	return err
}
