package db

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mongo dumps with `mongodump --archive` (BSON archive on stdout) and
// restores with `mongorestore --archive`. The password goes in a 0600
// YAML --config file. Tested against FerretDB v1 (MongoDB wire protocol),
// not MongoDB itself: Debian 12 ships no MongoDB server (docs/source-db.md).
type mongo struct{}

func mongoArgs(c Conn, s *secrets) ([]string, error) {
	var a []string
	if c.Host != "" {
		a = append(a, "--host="+c.Host)
	}
	if c.Port != 0 {
		a = append(a, "--port="+strconv.Itoa(c.Port))
	}
	if c.User != "" {
		// Users live in admin unless created per database; the tools
		// would otherwise authenticate against --db.
		a = append(a, "--username="+c.User, "--authenticationDatabase=admin")
	}
	if c.Password != "" {
		q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.Password) + `"`
		p, err := s.write("mongo.yaml", "password: "+q+"\n")
		if err != nil {
			return nil, err
		}
		a = append(a, "--config="+p)
	}
	return a, nil
}

func (mongo) prepare(ctx context.Context, c Conn, s *secrets) (*plan, error) {
	bin, err := tool(c, "mongodump")
	if err != nil {
		return nil, err
	}
	a, err := mongoArgs(c, s)
	if err != nil {
		return nil, err
	}
	// One collection at a time: with several, the archive interleaves
	// their blocks in whatever order the reads finish, so two dumps of the
	// same data differ throughout and do not deduplicate.
	argv := append([]string{bin, "--archive", "--numParallelCollections=1"}, a...)
	name := "all.archive"
	if !c.All {
		argv = append(argv, "--db="+c.Database)
		name = safeName(c.Database) + ".archive"
	}
	return &plan{argv: argv, env: envWith(nil), name: name, format: "archive"}, nil
}

// version reports the mongodump tool's version: asking the server needs
// mongosh, which is not always installed.
func (mongo) version(ctx context.Context, c Conn, s *secrets) (string, error) {
	bin, err := tool(c, "mongodump")
	if err != nil {
		return "", err
	}
	out, err := run(ctx, []string{bin, "--version"}, nil, nil, nil)
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return "mongodump " + first, err
}

func (mongo) restore(ctx context.Context, c Conn, src Source, target string, rd io.Reader, s *secrets, opts RestoreOptions) error {
	bin, err := tool(c, "mongorestore")
	if err != nil {
		return err
	}
	a, err := mongoArgs(c, s)
	if err != nil {
		return err
	}
	argv := append([]string{bin, "--archive"}, a...)
	if !src.All && target != "" && target != src.Database {
		argv = append(argv, "--nsFrom="+src.Database+".*", "--nsTo="+target+".*")
	}
	if _, err := run(ctx, argv, envWith(nil), rd, opts.Stderr); err != nil {
		return fmt.Errorf("mongorestore: %w", err)
	}
	return nil
}
