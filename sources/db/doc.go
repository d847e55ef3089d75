// Package db is the database source: it runs an engine's own dump tool
// (pg_dump/pg_dumpall, mariadb-dump/mysqldump, the sqlite3 shell,
// redis-cli --rdb, mongodump --archive) with an argv array, streams its
// standard output into the repository through package stream — no temporary
// copy of the dump on disk — and records the engine, the server version and
// the dump command (without secrets) in the snapshot. Restore streams a
// dump back into a server with the engine's client.
//
// Secrets never reach a command line: PostgreSQL gets a 0600 PGPASSFILE,
// MySQL/MariaDB a 0600 --defaults-extra-file, MongoDB a 0600 --config file,
// Redis the REDISCLI_AUTH environment variable; the files are removed when
// the dump ends, whether it succeeded or not. A dump that fails — non-zero
// exit, a signal, a lost server — leaves no snapshot. docs/source-db.md
// describes each engine.
package db
