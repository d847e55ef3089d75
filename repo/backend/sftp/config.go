package sftp

import (
	"fmt"
	"net/url"
	"strings"
)

// Config says where a repository lives on an sftp server and how to reach
// it. The connection is an `ssh` process (OpenSSH's client), so
// ~/.ssh/config, the agent, known_hosts and ProxyJump all apply as for a
// shell login.
type Config struct {
	User string // empty: ssh's default (config file, then the local user)
	Host string
	Port string // empty: ssh's default
	// Path is the repository directory: absolute, or relative to the
	// login directory.
	Path string
	// Command, if set, replaces the whole ssh invocation; it must start
	// the sftp subsystem and speak sftp on stdin/stdout (option
	// sftp.command, split on spaces).
	Command []string
	// Args are extra ssh arguments (option sftp.args, split on spaces),
	// e.g. "-i KEY -o UserKnownHostsFile=FILE".
	Args []string
}

// ParseURL reads "sftp:[user@]host:path" (scp-like; path relative to the
// login directory unless it starts with /) or
// "sftp://[user@]host[:port]/path" (relative to the login directory) and
// "sftp://[user@]host[:port]//abs/path" (absolute), as restic does.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "sftp:")
	if !ok {
		return Config{}, fmt.Errorf("sftp: %q does not start with sftp:", s)
	}
	var cfg Config
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse("sftp:" + rest)
		if err != nil {
			return Config{}, fmt.Errorf("sftp: parse %q: %w", s, err)
		}
		if _, hasPw := u.User.Password(); hasPw {
			return Config{}, fmt.Errorf("sftp: passwords in the URL are not accepted (use keys or the agent)")
		}
		cfg.User, cfg.Host, cfg.Port = u.User.Username(), u.Hostname(), u.Port()
		cfg.Path = strings.TrimPrefix(u.Path, "/")
	} else {
		hostPart, p, ok := strings.Cut(rest, ":")
		if !ok {
			return Config{}, fmt.Errorf("sftp: %q: want sftp:[user@]host:path", s)
		}
		if u, h, ok := strings.Cut(hostPart, "@"); ok {
			cfg.User, cfg.Host = u, h
		} else {
			cfg.Host = hostPart
		}
		cfg.Path = p
	}
	if cfg.Host == "" || cfg.Path == "" {
		return Config{}, fmt.Errorf("sftp: %q names no host or no path", s)
	}
	return cfg, nil
}

// SetOption sets a -o sftp.<name> option: "command" or "args".
func (c *Config) SetOption(name, value string) error {
	switch name {
	case "command":
		c.Command = strings.Fields(value)
	case "args":
		c.Args = strings.Fields(value)
	default:
		return fmt.Errorf("sftp: unknown option %q (known: command, args)", name)
	}
	return nil
}

// sshCommand returns the command line that starts the sftp subsystem.
func (c Config) sshCommand() []string {
	if len(c.Command) > 0 {
		return c.Command
	}
	args := []string{"ssh"}
	args = append(args, c.Args...)
	if c.Port != "" {
		args = append(args, "-p", c.Port)
	}
	if c.User != "" {
		args = append(args, "-l", c.User)
	}
	return append(args, "-s", c.Host, "sftp")
}

// location names the repository without secrets.
func (c Config) location() string {
	host := c.Host
	if c.User != "" {
		host = c.User + "@" + host
	}
	if c.Port != "" {
		host += ":" + c.Port
	}
	return "sftp:" + host + ":" + c.Path
}
