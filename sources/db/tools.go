package db

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func withBinDir(c Conn, dir string) Conn {
	c.binDir = dir
	return c
}

// tool finds the first of names in c's bin directory, in PATH, or in
// Debian's versioned PostgreSQL directories (newest first), which are not
// in PATH.
func tool(c Conn, names ...string) (string, error) {
	for _, n := range names {
		if c.binDir != "" {
			p := filepath.Join(c.binDir, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: %s (install the %s client tools, or pass --bin-dir)", ErrToolMissing, strings.Join(names, " or "), c.Engine)
}

// envWith returns the current environment without the variables in drop
// and with set added. Dropping matters: a stale PGPASSWORD in the caller's
// environment would override the password file.
func envWith(drop []string, set ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		skip := false
		for _, d := range drop {
			if k == d {
				skip = true
			}
		}
		if !skip {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// run runs argv with env and stdin, returning standard output; on failure
// the error carries the end of standard error.
func run(ctx context.Context, argv, env []string, stdin io.Reader, stderr io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(&errb, stderr)
	} else {
		cmd.Stderr = &errb
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 1000 {
			msg = "…" + msg[len(msg)-1000:]
		}
		if msg != "" {
			return out.String(), fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, msg)
		}
		return out.String(), fmt.Errorf("%s: %w", filepath.Base(argv[0]), err)
	}
	return out.String(), nil
}
