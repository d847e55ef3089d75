package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/backend/cache"
	"cairn/repo/backend/location"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "repo", Aliases: []string{"r"}, EnvVars: []string{"CAIRN_REPOSITORY"}, Usage: "repository `URL` (a local path, local:/path)"},
		&cli.StringFlag{Name: "password-file", EnvVars: []string{"CAIRN_PASSWORD_FILE"}, Usage: "read the password from `FILE`"},
		&cli.StringFlag{Name: "password-command", EnvVars: []string{"CAIRN_PASSWORD_COMMAND"}, Usage: "run `COMMAND` (with sh -c) and use its first output line as password"},
		&cli.StringSliceFlag{Name: "option", Aliases: []string{"o"}, Usage: "backend option `KEY=VALUE` (e.g. s3.region=eu-west-1, s3.storage-class=STANDARD_IA)"},
		&cli.IntFlag{Name: "connections", Value: 5, Usage: "concurrent backend requests"},
		&cli.StringFlag{Name: "cache-dir", EnvVars: []string{"CAIRN_CACHE_DIR"}, Usage: "local cache `DIR` (default: XDG cache dir/cairn)"},
		&cli.BoolFlag{Name: "no-cache", Usage: "use a private temporary index cache"},
		&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors"},
		&cli.StringFlag{Name: "log-file", EnvVars: []string{"CAIRN_LOG_FILE"}, Usage: "append the log to `FILE` (run, schedule)"},
		&cli.StringFlag{Name: "log-format", EnvVars: []string{"CAIRN_LOG_FORMAT"}, Usage: "log `FORMAT`: text or json"},
		&cli.StringFlag{Name: "log-level", EnvVars: []string{"CAIRN_LOG_LEVEL"}, Usage: "log `LEVEL`: debug, info, warn, error"},
	}
}

// env bundles what commands need from the global flags and process.
type env struct {
	c      *cli.Context
	stdout io.Writer
	stderr io.Writer
	json   bool
	quiet  bool
}

func newEnv(c *cli.Context) *env {
	return &env{c: c, stdout: c.App.Writer, stderr: c.App.ErrWriter, json: c.Bool("json"), quiet: c.Bool("quiet")}
}

// printf prints human output unless --quiet or --json.
func (e *env) printf(format string, args ...any) {
	if e.quiet || e.json {
		return
	}
	fmt.Fprintf(e.stdout, format, args...)
}

// warnf prints a warning to stderr unless --quiet.
func (e *env) warnf(format string, args ...any) {
	if e.quiet {
		return
	}
	fmt.Fprintf(e.stderr, format, args...)
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	return enc.Encode(v)
}

// isTTY reports whether stderr is a terminal: progress is drawn only then.
func (e *env) isTTY() bool {
	f, ok := e.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && !e.quiet && !e.json
}

func (e *env) repoOptions() repo.Options {
	kind, _ := location.Kind(e.c.String("repo"))
	return repo.Options{CacheDir: e.c.String("cache-dir"), NoCache: e.c.Bool("no-cache"), PackWindows: kind != "local"}
}

// openBackend opens the repository location; create makes it (for init).
func (e *env) openBackend(create bool) (backend.Backend, error) {
	loc := e.c.String("repo")
	if loc == "" {
		return nil, errors.New("no repository given: use -r/--repo or CAIRN_REPOSITORY")
	}
	return e.openBackendAt(loc, create)
}

// openBackendAt opens the repository at loc with the global options (also
// for a second repository, such as copy's source).
func (e *env) openBackendAt(loc string, create bool) (backend.Backend, error) {
	ext, err := parseOptions(e.c.StringSlice("option"))
	if err != nil {
		return nil, err
	}
	if kind, _ := location.Kind(loc); loc != e.c.String("repo") {
		// A second repository takes the -o options of its own kind.
		for k := range ext {
			if !strings.HasPrefix(k, kind+".") {
				delete(ext, k)
			}
		}
	}
	be, counting, err := openCounted(e.c.Context, loc, create, ext, e.c.Int("connections"))
	if err != nil {
		return nil, err
	}
	// Snapshots and tree packs kept locally make listing and unchanged
	// backups cheap on remote storage (repo/backend/cache). check reads
	// what is stored, never a local copy.
	if kind, _ := location.Kind(loc); kind != "local" && !e.c.Bool("no-cache") && e.c.Command.Name != "check" {
		dir := e.repoOptions().CacheDir
		if d, err := os.UserCacheDir(); dir == "" && err == nil {
			dir = filepath.Join(d, "cairn")
		}
		if cached, err := cache.New(be, dir); err == nil && dir != "" {
			be = cached
		}
	}
	if os.Getenv("CAIRN_REQUEST_STATS") == "1" {
		be = &statsOnClose{Backend: be, counting: counting, w: e.stderr}
	}
	return be, nil
}

// openLocation opens a repository URL and stacks the backend wrappers
// (retry, connection limit, request counting) once, here.
func openLocation(ctx context.Context, loc string, create bool, ext map[string]string, connections int) (backend.Backend, error) {
	be, _, err := openCounted(ctx, loc, create, ext, connections)
	return be, err
}

// openCounted is openLocation that also returns the request counter.
func openCounted(ctx context.Context, loc string, create bool, ext map[string]string, connections int) (backend.Backend, *backend.Counting, error) {
	raw, err := location.Open(ctx, loc, location.Options{Create: create, Extended: ext})
	if backend.IsNotExist(err) {
		return nil, nil, fmt.Errorf("%s: %w", loc, repo.ErrNoRepository)
	}
	if err != nil {
		return nil, nil, err
	}
	be, counting := backend.Stack(raw, backend.StackOptions{Connections: connections})
	return be, counting, nil
}

// statsOnClose prints the backend requests of the run to w when the
// repository is closed (CAIRN_REQUEST_STATS=1; used by tests that bound
// request counts, and by anyone measuring an object store's bill).
type statsOnClose struct {
	backend.Backend
	counting *backend.Counting
	w        io.Writer
}

func (s *statsOnClose) Close() error {
	b, _ := json.Marshal(s.counting.Counts())
	fmt.Fprintf(s.w, "cairn-request-stats %s %s\n", s.Location(), b)
	return s.Backend.Close()
}

func parseOptions(opts []string) (map[string]string, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("-o %q: want key=value", o)
		}
		m[k] = v
	}
	return m, nil
}

// password finds the password: --password-file, --password-command,
// CAIRN_PASSWORD, else a prompt when stdin is a terminal.
func (e *env) password(prompt string, confirm bool) (string, error) {
	if f := e.c.String("password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		return firstLine(b), nil
	}
	if cmd := e.c.String("password-command"); cmd != "" {
		var out bytes.Buffer
		ex := exec.CommandContext(e.c.Context, "sh", "-c", cmd)
		ex.Stdout = &out
		ex.Stderr = e.stderr
		if err := ex.Run(); err != nil {
			return "", fmt.Errorf("password command failed: %w", err)
		}
		return firstLine(out.Bytes()), nil
	}
	if pw, ok := os.LookupEnv("CAIRN_PASSWORD"); ok {
		return pw, nil
	}
	return e.promptPassword(prompt, confirm)
}

func (e *env) promptPassword(prompt string, confirm bool) (string, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", errors.New("no password given: use --password-file, --password-command or CAIRN_PASSWORD (no terminal to prompt on)")
	}
	fmt.Fprint(e.stderr, prompt)
	pw, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if confirm {
		fmt.Fprint(e.stderr, "enter password again: ")
		again, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(again) != string(pw) {
			return "", errors.New("passwords do not match")
		}
	}
	if len(pw) == 0 {
		return "", errors.New("empty password")
	}
	return string(pw), nil
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, "\r")
}

// openRepo opens the repository for a command.
func (e *env) openRepo(ctx context.Context) (*repo.Repository, error) {
	be, err := e.openBackend(false)
	if err != nil {
		return nil, err
	}
	pw, err := e.password("enter password for repository: ", false)
	if err != nil {
		be.Close()
		return nil, err
	}
	r, err := repo.Open(ctx, be, pw, e.repoOptions())
	if err != nil {
		be.Close()
		return nil, err
	}
	return r, nil
}

// snapshotFilter reads --host, --tag and --path.
func snapshotFilter(c *cli.Context) repo.Filter {
	return repo.Filter{Hosts: c.StringSlice("host"), Tags: c.StringSlice("tag"), Paths: c.StringSlice("path")}
}

func filterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "host", Aliases: []string{"H"}, Usage: "only snapshots of `HOST`"},
		&cli.StringSliceFlag{Name: "tag", Usage: "only snapshots with `TAG[,TAG]`"},
		&cli.StringSliceFlag{Name: "path", Usage: "only snapshots of `PATH`"},
	}
}
