package db

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Conn says how to reach a database server and what to dump.
type Conn struct {
	// Engine is one of Engines ("postgres", "mysql", "mariadb", "sqlite",
	// "redis", "mongodb").
	Engine string `json:"engine"`
	// Host is a host name or address; for postgres also a unix socket
	// directory, for mysql/mariadb a socket path (anything starting with
	// '/').
	Host string `json:"host,omitempty"`
	// Port is the TCP port; 0 means the engine's default.
	Port int `json:"port,omitempty"`
	// User is the login name.
	User string `json:"user,omitempty"`
	// Password is the login password. It is passed to the tools through a
	// 0600 file or the environment, never argv, and never stored.
	Password string `json:"-"`
	// Database is the database to dump (sqlite: the database file; redis:
	// unused).
	Database string `json:"database,omitempty"`
	// All dumps every database (postgres: pg_dumpall; mysql:
	// --all-databases; mongodb: the whole server).
	All bool `json:"all,omitempty"`
	// Format selects the dump format where an engine has several:
	// postgres "custom" (default) or "plain"; sqlite "sql" (default) or
	// "db".
	Format string `json:"format,omitempty"`

	// binDir is searched first for the engine's programs.
	binDir string
	// rawDump asks for the tool's output unchanged (Options.RawDump).
	rawDump bool
}

// Engines lists the supported engine names.
var Engines = []string{"postgres", "mysql", "mariadb", "sqlite", "redis", "mongodb"}

// NormalizeEngine maps aliases (postgresql, mongo, sqlite3) to engine names.
func NormalizeEngine(name string) (string, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pg":
		return "postgres", nil
	case "mysql":
		return "mysql", nil
	case "mariadb":
		return "mariadb", nil
	case "sqlite", "sqlite3":
		return "sqlite", nil
	case "redis":
		return "redis", nil
	case "mongodb", "mongo":
		return "mongodb", nil
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownEngine, name, strings.Join(Engines, ", "))
}

// ParseURL fills a Conn from a URL such as
// postgres://user:pw@host:5432/db, mysql://user@host/db, redis://:pw@host:6379,
// mongodb://user:pw@host/db or sqlite:///path/to/file.db. The password,
// if the URL holds one, moves into Conn.Password; base fields already set
// win over the URL's.
func ParseURL(raw string, base Conn) (Conn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the URL in its error: do not leak a password.
		return Conn{}, fmt.Errorf("%w: database URL does not parse", ErrInvalid)
	}
	c := base
	eng, err := NormalizeEngine(strings.TrimSuffix(u.Scheme, "+srv"))
	if err != nil {
		return Conn{}, err
	}
	if c.Engine == "" {
		c.Engine = eng
	} else if c.Engine != eng && !(isMySQL(c.Engine) && isMySQL(eng)) {
		return Conn{}, fmt.Errorf("%w: --engine %s but URL scheme %s", ErrInvalid, c.Engine, u.Scheme)
	}
	if c.Engine == "sqlite" {
		if c.Database == "" {
			c.Database = u.Path
		}
		return c, nil
	}
	if c.Host == "" {
		c.Host = u.Hostname()
	}
	if c.Port == 0 && u.Port() != "" {
		p, err := strconv.Atoi(u.Port())
		if err != nil {
			return Conn{}, fmt.Errorf("%w: port %q", ErrInvalid, u.Port())
		}
		c.Port = p
	}
	if u.User != nil {
		if c.User == "" {
			c.User = u.User.Username()
		}
		if pw, ok := u.User.Password(); ok && c.Password == "" {
			c.Password = pw
		}
	}
	if c.Database == "" {
		c.Database = strings.TrimPrefix(u.Path, "/")
	}
	// Socket paths for postgres ride in the query: ?host=/run/postgresql.
	if h := u.Query().Get("host"); h != "" && c.Host == "" {
		c.Host = h
	}
	return c, nil
}

func isMySQL(engine string) bool { return engine == "mysql" || engine == "mariadb" }

// Validate checks that c names an engine and a database (or All).
func (c Conn) Validate() error {
	eng, err := NormalizeEngine(c.Engine)
	if err != nil {
		return err
	}
	for _, v := range []string{c.Host, c.User, c.Password, c.Database} {
		if strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("%w: settings must not contain newlines or NUL bytes", ErrInvalid)
		}
	}
	switch eng {
	case "redis":
		if c.Database != "" {
			return fmt.Errorf("%w: redis dumps the whole server; --database is not used", ErrInvalid)
		}
	case "sqlite":
		if c.Database == "" {
			return fmt.Errorf("%w: sqlite needs --database FILE", ErrInvalid)
		}
		if c.All {
			return fmt.Errorf("%w: sqlite has no --all", ErrInvalid)
		}
	default:
		if c.Database == "" && !c.All {
			return fmt.Errorf("%w: %s needs --database NAME or --all", ErrInvalid, eng)
		}
		if c.Database != "" && c.All {
			return fmt.Errorf("%w: --database and --all exclude each other", ErrInvalid)
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("%w: port %d", ErrInvalid, c.Port)
	}
	return nil
}
