package docker

import (
	"path"
	"strconv"
)

// dumpPlan is the dump to run inside a container.
type dumpPlan struct {
	argv   []string // never holds a secret
	env    []string // the exec's extra environment; may hold the password
	name   string   // the dump's file name
	format string   // recorded for restore db (as package db records it)
}

// planDump builds the engine's dump command for t. The command is an argv
// array run by the container runtime without a shell, so label values
// cannot inject commands; option values are passed as --opt=value or after
// "--" so that they cannot become options either. password goes only into
// the exec's environment (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH).
func planDump(t *Target, password string) dumpPlan {
	var p dumpPlan
	switch t.Engine {
	case "postgres":
		// The connection goes through libpq's environment: PGDATABASE is
		// never expanded as a connection string.
		if t.Host != "" {
			p.env = append(p.env, "PGHOST="+t.Host)
		}
		if t.Port != 0 {
			p.env = append(p.env, "PGPORT="+strconv.Itoa(t.Port))
		}
		if t.User != "" {
			p.env = append(p.env, "PGUSER="+t.User)
		}
		if password != "" {
			p.env = append(p.env, "PGPASSWORD="+password)
		}
		if t.All {
			p.argv = []string{"pg_dumpall", "--no-password"}
			p.name, p.format = "all.sql", "dumpall"
		} else {
			p.env = append(p.env, "PGDATABASE="+t.Database)
			// Compression is left to the repository (deduplication).
			p.argv = []string{"pg_dump", "--no-password", "--format=custom", "--compress=0"}
			p.name, p.format = t.Database+".pgdump", "custom"
		}
	case "mysql", "mariadb":
		bin := "mariadb-dump"
		if t.Engine == "mysql" {
			bin = "mysqldump"
		}
		p.argv = []string{bin}
		if t.User != "" {
			p.argv = append(p.argv, "--user="+t.User)
		}
		if t.Host != "" {
			p.argv = append(p.argv, "--host="+t.Host, "--protocol=tcp")
		}
		if t.Port != 0 {
			p.argv = append(p.argv, "--port="+strconv.Itoa(t.Port))
		}
		if password != "" {
			p.env = append(p.env, "MYSQL_PWD="+password)
		}
		// The same options as package db, for the same reasons (one
		// INSERT per row deduplicates; a consistent InnoDB snapshot).
		p.argv = append(p.argv, "--single-transaction", "--quick", "--routines", "--triggers", "--events",
			"--hex-blob", "--skip-extended-insert", "--no-autocommit", "--skip-dump-date")
		if t.All {
			p.argv = append(p.argv, "--all-databases")
			p.name = "all.sql"
		} else {
			p.argv = append(p.argv, "--", t.Database)
			p.name = t.Database + ".sql"
		}
		p.format = "sql"
	case "sqlite":
		p.argv = []string{"sqlite3", "-batch", "-bail", t.Database, ".dump"}
		p.name, p.format = path.Base(t.Database)+".sql", "sql"
	case "redis":
		p.argv = []string{"redis-cli", "--no-auth-warning"}
		if t.Host != "" {
			p.argv = append(p.argv, "-h", t.Host)
		}
		if t.Port != 0 {
			p.argv = append(p.argv, "-p", strconv.Itoa(t.Port))
		}
		if t.User != "" {
			p.argv = append(p.argv, "--user", t.User)
		}
		if password != "" {
			p.env = append(p.env, "REDISCLI_AUTH="+password)
		}
		p.argv = append(p.argv, "--rdb", "-")
		p.name, p.format = "dump.rdb", "rdb"
	case "mongodb":
		p.argv = []string{"mongodump", "--archive", "--quiet"}
		if t.Host != "" {
			p.argv = append(p.argv, "--host="+t.Host)
		}
		if t.Port != 0 {
			p.argv = append(p.argv, "--port="+strconv.Itoa(t.Port))
		}
		if t.User != "" {
			p.argv = append(p.argv, "--username="+t.User)
		}
		p.name = "all.archive"
		if !t.All {
			p.argv = append(p.argv, "--db="+t.Database)
			p.name = t.Database + ".archive"
		}
		p.format = "archive"
	}
	base := t.SnapshotName
	if base == "" {
		base = t.Name
	}
	p.name = safeName(base + "-" + p.name)
	return p
}

// safeName makes s one path element.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '/' || c == 0 {
			b[i] = '_'
		}
	}
	if s := string(b); s != "" && s != "." && s != ".." {
		return s
	}
	return "dump"
}

// DumpCommand returns the argv the dump of t runs inside its container
// (it holds no secret) and the dump's file name in the snapshot.
func (t *Target) DumpCommand() (argv []string, name string) {
	p := planDump(t, "")
	return p.argv, p.name
}
