package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runStdin runs cairn with data on standard input.
func (tr *testRepo) runStdin(stdin []byte, extra []string, args ...string) result {
	tr.t.Helper()
	cmd := exec.CommandContext(context.Background(), cairnBin, args...)
	cmd.Env = append(append(cleanEnv(), tr.env...), extra...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tr.t.Fatalf("run cairn %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func (tr *testRepo) snapshotCount() int {
	tr.t.Helper()
	var sns []json.RawMessage
	if err := json.Unmarshal([]byte(tr.mustRun("snapshots", "--json")), &sns); err != nil {
		tr.t.Fatal(err)
	}
	return len(sns)
}

func TestBackupStdinAndDump(t *testing.T) {
	tr := newTestRepo(t)
	data := bytes.Repeat([]byte("cairn stdin stream\n"), 200000)
	r := tr.runStdin(data, nil, "backup", "--json", "--stdin", "--stdin-filename", "lines.txt", "--tag", "t1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var sum backupSummary
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &sum); err != nil || sum.BytesRead != int64(len(data)) {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	if out := tr.mustRun("dump", "latest"); out != string(data) {
		t.Fatalf("dump latest: %d bytes, want %d", len(out), len(data))
	}
	if out := tr.mustRun("dump", "latest", "/lines.txt"); out != string(data) {
		t.Fatal("dump latest /lines.txt differs")
	}
	if r := tr.run("backup", "--stdin", "--stdin-filename", "a/b"); r.code != 1 || !strings.Contains(r.stderr, "single name") {
		t.Fatalf("bad filename: exit %d %s", r.code, r.stderr)
	}
}

func TestBackupStdinFromCommand(t *testing.T) {
	tr := newTestRepo(t)
	// A command named like a backup subcommand still runs as a command.
	bin := t.TempDir()
	script := "#!/bin/sh\nprintf 'from %s\\n' \"$*\"\necho note >&2\n"
	if err := os.WriteFile(filepath.Join(bin, "db"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	r := tr.runEnv(path, "backup", "--stdin-from-command", "--stdin-filename", "out.txt", "--", "db", "--host", "x", "$(id)")
	if r.code != 0 || !strings.Contains(r.stderr, "note") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if out := tr.mustRun("dump", "latest"); out != "from --host x $(id)\n" {
		t.Fatalf("dump: %q", out)
	}
	var sn struct {
		Kind   string `json:"kind"`
		Source struct {
			Command    []string `json:"command"`
			ExitCode   int      `json:"exit_code"`
			StderrTail string   `json:"stderr_tail"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(tr.mustRun("cat", "snapshot", "latest")), &sn); err != nil {
		t.Fatal(err)
	}
	if sn.Kind != "stdin" || sn.Source.Command[0] != "db" || sn.Source.StderrTail != "note\n" {
		t.Fatalf("snapshot %+v", sn)
	}

	before := tr.snapshotCount()
	for _, argv := range [][]string{
		{"sh", "-c", "head -c 3000000 /dev/zero; echo 'pg_dump: error: connection lost' >&2; exit 1"},
		{"sh", "-c", "head -c 3000000 /dev/zero; kill -9 $$"},
		{"/nonexistent/dump"},
	} {
		r := tr.run(append([]string{"backup", "--stdin-from-command", "--"}, argv...)...)
		if r.code == 0 {
			t.Fatalf("%v: exit 0", argv)
		}
		if tr.snapshotCount() != before {
			t.Fatalf("%v left a snapshot", argv)
		}
	}
	if r := tr.run("backup", "--stdin-from-command", "--", "sh", "-c", "exit 2"); !strings.Contains(r.stderr, "exit status 2") {
		t.Fatalf("message: %s", r.stderr)
	}
	if r := tr.run("backup", "--stdin-from-command"); r.code != 1 || !strings.Contains(r.stderr, "needs a command") {
		t.Fatalf("no command: %d %s", r.code, r.stderr)
	}
	if r := tr.run("check", "--read-data"); r.code != 0 {
		t.Fatalf("check: %s %s", r.stdout, r.stderr)
	}
}

func TestBackupDBSQLiteCLI(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		if os.Getenv("CAIRN_REQUIRE_DB") == "1" {
			t.Fatal("sqlite3 not installed; CAIRN_REQUIRE_DB=1")
		}
		t.Skip("sqlite3 not installed (scripts/db-deps.sh)")
	}
	tr := newTestRepo(t)
	dir := t.TempDir()
	dbf := filepath.Join(dir, "app.db")
	sql := "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');"
	if out, err := exec.Command("sqlite3", dbf, sql).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	tr.mustRun("backup", "db", "--engine", "sqlite", "--database", dbf, "--tag", "nightly")
	if out := tr.mustRun("dump", "latest"); !strings.Contains(out, "INSERT INTO t VALUES(2,'b');") {
		t.Fatalf("dump: %q", out)
	}
	target := filepath.Join(dir, "restored.db")
	tr.mustRun("restore", "db", "latest", "--target-database", target)
	out, err := exec.Command("sqlite3", target, "SELECT group_concat(v) FROM t").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "a,b" {
		t.Fatalf("restored: %v %q", err, out)
	}
	if r := tr.run("backup", "db", "--engine", "sqlite", "--database", filepath.Join(dir, "missing.db")); r.code != 1 {
		t.Fatalf("missing database: exit %d", r.code)
	}
	if r := tr.run("restore", "latest"); r.code != 1 || !strings.Contains(r.stderr, "--target") {
		t.Fatalf("restore without --target: %d %s", r.code, r.stderr)
	}
}
