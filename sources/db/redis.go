package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// redis takes an RDB snapshot with `redis-cli --rdb -`. The password goes
// through REDISCLI_AUTH.
type redis struct{}

func redisArgs(c Conn) []string {
	var a []string
	switch {
	case strings.HasPrefix(c.Host, "/"):
		a = append(a, "-s", c.Host)
	case c.Host != "":
		a = append(a, "-h", c.Host)
	}
	if c.Port != 0 {
		a = append(a, "-p", strconv.Itoa(c.Port))
	}
	if c.User != "" {
		a = append(a, "--user", c.User)
	}
	return a
}

func redisEnv(c Conn) []string {
	if c.Password == "" {
		return envWith([]string{"REDISCLI_AUTH"})
	}
	return envWith([]string{"REDISCLI_AUTH"}, "REDISCLI_AUTH="+c.Password)
}

func (redis) prepare(ctx context.Context, c Conn, s *secrets) (*plan, error) {
	if c.Format != "" && c.Format != "rdb" {
		return nil, fmt.Errorf("%w: redis dumps are RDB only", ErrInvalid)
	}
	bin, err := tool(c, "redis-cli")
	if err != nil {
		return nil, err
	}
	argv := append([]string{bin, "--no-auth-warning"}, redisArgs(c)...)
	argv = append(argv, "--rdb", "-")
	return &plan{argv: argv, env: redisEnv(c), name: "dump.rdb", format: "rdb", sortRDB: !c.rawDump}, nil
}

// redisCmd runs one command and fails on an error reply, which redis-cli
// prints with exit status 0 in some versions.
func redisCmd(ctx context.Context, c Conn, args ...string) (string, error) {
	bin, err := tool(c, "redis-cli")
	if err != nil {
		return "", err
	}
	argv := append([]string{bin, "--no-auth-warning"}, redisArgs(c)...)
	out, err := run(ctx, append(argv, args...), redisEnv(c), nil, nil)
	if err != nil {
		return out, err
	}
	t := strings.TrimSpace(out)
	for _, p := range []string{"ERR", "NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "Could not connect", "AUTH failed"} {
		if strings.HasPrefix(t, p) || strings.HasPrefix(t, "(error) "+p) {
			return out, fmt.Errorf("redis %s: %s", args[0], t)
		}
	}
	return out, nil
}

func (redis) version(ctx context.Context, c Conn, s *secrets) (string, error) {
	out, err := redisCmd(ctx, c, "INFO", "server")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("redis INFO: no redis_version in the reply: %.200s", out)
}

// restore puts the RDB where the server loads it from and reloads it:
// Redis cannot receive an RDB over the protocol. With a target file the
// RDB is only written there (for a server that is stopped or elsewhere).
// Otherwise the server's dir/dbfilename (CONFIG GET) must be on this
// machine; the file is replaced atomically and `DEBUG RELOAD NOSAVE` loads
// it (needs enable-debug-command; else restart the server).
func (redis) restore(ctx context.Context, c Conn, src Source, target string, rd io.Reader, s *secrets, opts RestoreOptions) error {
	path := opts.Target
	live := path == ""
	if live {
		dir, err := redisConfig(ctx, c, "dir")
		if err != nil {
			return err
		}
		name, err := redisConfig(ctx, c, "dbfilename")
		if err != nil {
			return err
		}
		path = filepath.Join(dir, name)
	}
	if err := writeAtomic(path, rd); err != nil {
		return err
	}
	if !live {
		return nil
	}
	if _, err := redisCmd(ctx, c, "DEBUG", "RELOAD", "NOSAVE"); err != nil {
		return fmt.Errorf("RDB written to %s but not loaded (%w); restart the server to load it", path, err)
	}
	return nil
}

func redisConfig(ctx context.Context, c Conn, key string) (string, error) {
	out, err := redisCmd(ctx, c, "CONFIG", "GET", key)
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != key || lines[1] == "" {
		return "", fmt.Errorf("redis CONFIG GET %s: unexpected reply %q", key, out)
	}
	return lines[1], nil
}

// writeAtomic writes rd to path through a temporary file and a rename.
func writeAtomic(path string, rd io.Reader) error {
	tmp := path + ".cairn-tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, rd)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return errors.Join(fmt.Errorf("write %s", path), err)
	}
	return nil
}
