package docker

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cairn/sources/db"
)

// Prefixes are the label schemes understood: cairn's own and baktainer's,
// whose users label containers `baktainer.backup=true`,
// `baktainer.db.engine=postgres`, ….
var Prefixes = []string{"cairn", "baktainer"}

// ErrInvalidLabels is wrapped by every ValidationError.
var ErrInvalidLabels = errors.New("invalid backup labels")

// ValidationError names a container and the label that makes its label
// set unusable.
type ValidationError struct {
	Container string // container name
	Label     string // full label key, e.g. "cairn.db.engine"
	Reason    string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("container %s: label %s: %s", e.Container, e.Label, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidLabels) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidLabels }

// PasswordSource says where a container's database password comes from.
type PasswordSource struct {
	// Literal is a password written in a label (baktainer's
	// `baktainer.db.password`): used, never logged or stored, discouraged
	// because anyone who can inspect the container reads it.
	Literal string
	// File is a path inside the container (a Docker secret such as
	// /run/secrets/db_password) whose first line is the password; it is
	// read with an exec of `cat`.
	File string
	// Env names a variable of the container's own environment (e.g.
	// POSTGRES_PASSWORD) holding the password.
	Env string
}

// Kind describes the source without revealing a literal password.
func (p PasswordSource) Kind() string {
	switch {
	case p.Literal != "":
		return "label (literal)"
	case p.File != "":
		return "file " + p.File
	case p.Env != "":
		return "env " + p.Env
	}
	return "none"
}

// Target is one container to back up, from its validated labels.
type Target struct {
	// ID, Name and Image identify the container.
	ID, Name, Image string
	// Prefix is the label scheme used ("cairn" or "baktainer").
	Prefix string
	// Engine is a normalized db engine name.
	Engine string
	// Database is the database name (sqlite: the file inside the
	// container; redis: empty); All dumps every database.
	Database string
	All      bool
	// User is the database user; Host and Port, if set, where the dump
	// tool connects inside the container (default: the tool's own).
	User, Host string
	Port       int
	// Password is where the password comes from.
	Password PasswordSource
	// SnapshotName, from the `name` label, replaces the container name in
	// the snapshot's file name and tag.
	SnapshotName string
	// ExecUser is the user the dump runs as inside the container.
	ExecUser string
}

// label keys below a prefix.
const (
	lBackup       = "backup"
	lEngine       = "db.engine"
	lName         = "db.name"
	lDatabase     = "db.database" // alias of db.name
	lAll          = "db.all"
	lUser         = "db.user"
	lPassword     = "db.password"
	lPasswordFile = "db.password_file"
	lPasswordEnv  = "db.password_env"
	lHost         = "db.host"
	lPort         = "db.port"
	lSnapName     = "name"
	lExecUser     = "exec.user"
)

var knownKeys = map[string]bool{
	lBackup: true, lEngine: true, lName: true, lDatabase: true, lAll: true, lUser: true,
	lPassword: true, lPasswordFile: true, lPasswordEnv: true, lHost: true, lPort: true,
	lSnapName: true, lExecUser: true,
}

// ParseTarget reads the label set of ct under prefix. It returns
// (nil, nil) when the container is not selected (no `PREFIX.backup`
// label, or `PREFIX.backup=false`) and a *ValidationError naming the
// container and the label when the set is unusable.
func ParseTarget(ct Container, prefix string) (*Target, error) {
	name := ct.Name()
	get := func(k string) (string, bool) {
		v, ok := ct.Labels[prefix+"."+k]
		return strings.TrimSpace(v), ok
	}
	bad := func(k, format string, args ...any) error {
		return &ValidationError{Container: name, Label: prefix + "." + k, Reason: fmt.Sprintf(format, args...)}
	}
	sel, ok := get(lBackup)
	if !ok {
		return nil, nil
	}
	on, err := strconv.ParseBool(sel)
	if err != nil {
		return nil, bad(lBackup, "%q is not true or false", sel)
	}
	if !on {
		return nil, nil
	}
	// Unknown keys under PREFIX.db. are most likely typos that would
	// silently change what is dumped.
	var unknown []string
	for k := range ct.Labels {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok && strings.HasPrefix(rest, "db.") && !knownKeys[rest] {
			unknown = append(unknown, rest)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, bad(unknown[0], "unknown label (known: db.engine, db.name, db.all, db.user, db.password_file, db.password_env, db.password, db.host, db.port)")
	}
	t := &Target{ID: ct.ID, Name: name, Image: ct.Image, Prefix: prefix}
	engine, ok := get(lEngine)
	if !ok || engine == "" {
		return nil, bad(lEngine, "missing (want one of %s)", strings.Join(db.Engines, ", "))
	}
	if t.Engine, err = db.NormalizeEngine(engine); err != nil {
		return nil, bad(lEngine, "unknown engine %q (want one of %s)", engine, strings.Join(db.Engines, ", "))
	}
	t.Database, _ = get(lName)
	if alias, ok := get(lDatabase); ok {
		if t.Database != "" && alias != t.Database {
			return nil, bad(lDatabase, "conflicts with %s.%s", prefix, lName)
		}
		t.Database = alias
	}
	if v, ok := get(lAll); ok {
		if t.All, err = strconv.ParseBool(v); err != nil {
			return nil, bad(lAll, "%q is not true or false", v)
		}
	}
	t.User, _ = get(lUser)
	t.Host, _ = get(lHost)
	if v, ok := get(lPort); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return nil, bad(lPort, "%q is not a port number", v)
		}
		t.Port = p
	}
	t.SnapshotName, _ = get(lSnapName)
	t.ExecUser, _ = get(lExecUser)
	// The literal password is not trimmed: spaces may be part of it.
	pwCount := 0
	if v, ok := ct.Labels[prefix+"."+lPassword]; ok && v != "" {
		t.Password.Literal = v
		pwCount++
	}
	if v, ok := get(lPasswordFile); ok && v != "" {
		if !strings.HasPrefix(v, "/") {
			return nil, bad(lPasswordFile, "%q is not an absolute path inside the container", v)
		}
		t.Password.File = v
		pwCount++
	}
	if v, ok := get(lPasswordEnv); ok && v != "" {
		if !validEnvName(v) {
			return nil, bad(lPasswordEnv, "%q is not an environment variable name", v)
		}
		t.Password.Env = v
		pwCount++
	}
	if pwCount > 1 {
		return nil, bad(lPassword, "set only one of db.password_file, db.password_env and db.password")
	}
	for k, v := range map[string]string{lName: t.Database, lUser: t.User, lHost: t.Host, lSnapName: t.SnapshotName, lExecUser: t.ExecUser} {
		if strings.ContainsAny(v, "\n\r\x00") {
			return nil, bad(k, "must not contain newlines or NUL bytes")
		}
	}
	if strings.ContainsAny(t.Password.Literal, "\n\r\x00") {
		return nil, bad(lPassword, "must not contain newlines or NUL bytes")
	}
	if strings.ContainsAny(t.SnapshotName, "/") || t.SnapshotName == "." || t.SnapshotName == ".." {
		return nil, bad(lSnapName, "%q must be a single name without '/'", t.SnapshotName)
	}
	switch t.Engine {
	case "redis":
		if t.Database != "" {
			return nil, bad(lName, "redis dumps the whole server; leave it unset")
		}
	case "sqlite":
		if t.Database == "" {
			return nil, bad(lName, "missing: the database file's absolute path inside the container")
		}
		if !strings.HasPrefix(t.Database, "/") {
			return nil, bad(lName, "%q: sqlite needs the database file's absolute path inside the container", t.Database)
		}
		if t.All {
			return nil, bad(lAll, "sqlite has no 'all'")
		}
	case "mongodb":
		if t.Password != (PasswordSource{}) {
			return nil, bad(lPassword, "a password for mongodb inside a container is not supported (mongodump takes it only on its command line or from a config file); use an unauthenticated local connection")
		}
		fallthrough
	default:
		if t.Database == "" && !t.All {
			return nil, bad(lName, "missing (or set %s.%s=true)", prefix, lAll)
		}
		if t.Database != "" && t.All {
			return nil, bad(lAll, "excludes %s.%s", prefix, lName)
		}
		if strings.HasPrefix(t.Database, "-") {
			return nil, bad(lName, "%q must not start with '-'", t.Database)
		}
	}
	return t, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
