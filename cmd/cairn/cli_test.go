package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// cairnBin is the binary the end-to-end tests run: CAIRN_BIN (set by make
// test), or one built once into a temp dir.
var cairnBin string

func TestMain(m *testing.M) {
	cairnBin = os.Getenv("CAIRN_BIN")
	var tmp string
	if cairnBin == "" {
		var err error
		tmp, err = os.MkdirTemp("", "cairn-bin-")
		if err != nil {
			panic(err)
		}
		cairnBin = filepath.Join(tmp, "cairn")
		out, err := exec.Command("go", "build", "-o", cairnBin, ".").CombinedOutput()
		if err != nil {
			os.Stderr.Write(out)
			panic(err)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// testRepo is a repository in a temp dir with its own cache and password.
type testRepo struct {
	t        *testing.T
	dir      string
	repo     string
	cache    string
	password string
	env      []string
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	tr := &testRepo{t: t, dir: dir, repo: filepath.Join(dir, "repo"), cache: filepath.Join(dir, "cache"), password: "correct horse battery staple"}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(tr.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.env = []string{"CAIRN_REPOSITORY=" + tr.repo, "CAIRN_CACHE_DIR=" + tr.cache, "CAIRN_PASSWORD_FILE=" + pwFile}
	tr.mustRun("init")
	return tr
}

type result struct {
	stdout, stderr string
	code           int
}

func (tr *testRepo) run(args ...string) result {
	tr.t.Helper()
	return tr.runEnv(nil, args...)
}

func (tr *testRepo) runEnv(extra []string, args ...string) result {
	tr.t.Helper()
	cmd := exec.CommandContext(context.Background(), cairnBin, args...)
	cmd.Env = append(append(cleanEnv(), tr.env...), extra...)
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

func (tr *testRepo) mustRun(args ...string) string {
	tr.t.Helper()
	r := tr.run(args...)
	if r.code != 0 {
		tr.t.Fatalf("cairn %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// cleanEnv drops CAIRN_* from the test process's environment.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") {
			out = append(out, kv)
		}
	}
	return out
}

// backupSummary is the tail object of backup --json.
type backupSummary struct {
	MessageType     string  `json:"message_type"`
	SnapshotID      string  `json:"snapshot_id"`
	Partial         bool    `json:"partial"`
	FilesNew        int64   `json:"files_new"`
	FilesChanged    int64   `json:"files_changed"`
	FilesUnmodified int64   `json:"files_unmodified"`
	BytesRead       int64   `json:"bytes_read"`
	BytesAdded      int64   `json:"bytes_added"`
	BytesAddedRaw   int64   `json:"bytes_added_raw"`
	TotalBytes      int64   `json:"total_bytes"`
	DurationSeconds float64 `json:"duration_seconds"`
}

func (tr *testRepo) backup(args ...string) backupSummary {
	tr.t.Helper()
	out := tr.mustRun(append([]string{"backup", "--json"}, args...)...)
	return parseSummary(tr.t, out)
}

func parseSummary(t *testing.T, out string) backupSummary {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var s backupSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.MessageType != "summary" {
		t.Fatalf("no summary in backup output %q: %v", out, err)
	}
	return s
}

// dirDigest lists every file under dir with its size, so a test can assert
// that a command wrote nothing.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		var st syscall.Stat_t
		syscall.Lstat(p, &st)
		b.WriteString(p + " " + fi.Mode().String() + " " + strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(st.Mtim.Nano(), 10) + "\n")
		return nil
	})
	return b.String()
}
