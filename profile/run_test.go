package profile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cairn/notify"
)

// fakeCairn answers cairn commands by subcommand and runs nothing.
type fakeCairn struct {
	mu    sync.Mutex
	calls [][]string
	envs  [][]string
	// exit codes by first non-flag argument ("backup", "forget", "check",
	// "sh" for hooks); missing means 0.
	exit map[string]int
}

func (f *fakeCairn) Command(_ context.Context, argv, env []string) Outcome {
	f.mu.Lock()
	f.calls = append(f.calls, argv)
	f.envs = append(f.envs, env)
	f.mu.Unlock()
	sub := argv[0]
	for _, a := range argv[1:] {
		if !strings.HasPrefix(a, "-") {
			sub = a
			break
		}
	}
	if argv[0] == "sh" {
		sub = "sh"
	}
	code := f.exit[sub]
	out := Outcome{ExitCode: code}
	switch {
	case sub == "backup" && (code == 0 || code == 3):
		out.Stdout = []byte(fmt.Sprintf(`{"message_type":"summary","snapshot_id":"%064d","partial":%v,"files_new":2,"bytes_read":100,"bytes_added":40}`+"\n", len(f.calls), code == 3))
	case sub == "forget" && code == 0:
		out.Stdout = []byte(`{"key":{},"keep":[{}],"remove":[{},{}]}` + "\n")
	case sub == "check":
		if code == 0 {
			out.Stdout = []byte(`{"snapshots":3,"problems":[]}`)
		} else {
			out.Stdout = []byte(`{"snapshots":3,"problems":[{"message":"pack 1234 is missing"}]}`)
		}
	case sub == "snapshots":
		out.Stdout = []byte(`[{},{},{}]`)
	}
	if code != 0 && code != 3 {
		out.Stderr = "cairn: something broke\n"
	}
	return out
}

func (f *fakeCairn) subcommands() []string {
	var out []string
	for _, c := range f.calls {
		for _, a := range c[1:] {
			if !strings.HasPrefix(a, "-") {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func testProfile(t *testing.T, extra string) *Profile {
	t.Helper()
	cfg, err := Parse("t.toml", []byte(`[profile.p]
repository = "/srv/repo"
password-file = "/nonexistent/pw"
paths = ["/data"]
[[profile.p.db]]
engine = "postgres"
database = "app"
[profile.p.retention]
keep-last = 2
[profile.p.check]
read-data-subset = "10%"
every = "1d"
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Profile("p")
	return p
}

func newTestRunner(t *testing.T, f *fakeCairn, c *clock) *Runner {
	return &Runner{Binary: "cairn", Cmd: f, Now: c.now, StateDir: t.TempDir(), CacheDir: t.TempDir(), Env: []string{"CAIRN_PASSWORD=leak", "HOME=/root"}}
}

func TestRunCombinesStepsAndRemembersCheck(t *testing.T) {
	f := &fakeCairn{}
	c := &clock{t: time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC)}
	r := newTestRunner(t, f, c)
	p := testProfile(t, "")
	res := r.Run(context.Background(), p)
	if res.ExitCode != 0 || res.Status != "success" || len(res.Snapshots) != 2 || res.SnapshotsRemoved != 2 || res.Check != "ok" || res.BytesAdded != 80 {
		t.Fatalf("%+v", res)
	}
	if got := strings.Join(f.subcommands(), " "); got != "backup backup forget check" {
		t.Fatalf("commands %q", got)
	}
	// The password source replaces an inherited CAIRN_PASSWORD.
	for _, kv := range f.envs[0] {
		if strings.HasPrefix(kv, "CAIRN_PASSWORD=") {
			t.Fatalf("inherited %s", kv)
		}
	}
	// An hour later the check is not due; a day later it is.
	c.t = c.t.Add(time.Hour)
	f.calls = nil
	if res = r.Run(context.Background(), p); res.Check != "skipped" || strings.Contains(strings.Join(f.subcommands(), " "), "check") {
		t.Fatalf("check ran again after an hour: %+v", res.Steps)
	}
	c.t = c.t.Add(25 * time.Hour)
	f.calls = nil
	if res = r.Run(context.Background(), p); res.Check != "ok" {
		t.Fatalf("check not due after a day: %+v", res.Steps)
	}
}

func TestRunExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		exit    map[string]int
		code    int
		status  string
		skipped string // step expected skipped
	}{
		{"partial backup", map[string]int{"backup": 3}, 3, "warning", ""},
		{"wrong password", map[string]int{"backup": 12}, 12, "failure", "forget"},
		{"lock held in forget", map[string]int{"forget": 11}, 11, "failure", ""},
		{"check finds damage", map[string]int{"check": 1}, 1, "failure", ""},
		{"after hook fails", map[string]int{"sh": 1}, 0, "warning", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCairn{exit: tc.exit}
			r := newTestRunner(t, f, &clock{t: time.Now()})
			// The after hook fails only where the fake's "sh" code says so.
			res := r.Run(context.Background(), testProfile(t, "[profile.p.hooks]\nafter = \"false\"\n"))
			if res.ExitCode != tc.code || string(res.Status) != tc.status {
				t.Fatalf("exit %d status %s, want %d %s (%+v)", res.ExitCode, res.Status, tc.code, tc.status, res.Steps)
			}
			if tc.skipped != "" {
				for _, s := range res.Steps {
					if s.Name == tc.skipped && s.Status != StatusSkipped {
						t.Fatalf("%s not skipped: %+v", tc.skipped, s)
					}
				}
			}
		})
	}
}

func TestBeforeHookAborts(t *testing.T) {
	f := &fakeCairn{exit: map[string]int{"sh": 2}}
	r := newTestRunner(t, f, &clock{t: time.Now()})
	res := r.Run(context.Background(), testProfile(t, "[profile.p.hooks]\nbefore = \"exit 2\"\n"))
	if res.ExitCode != 1 || res.Status != "failure" || len(res.Steps) != 0 || !strings.Contains(res.Error, "before hook failed") {
		t.Fatalf("%+v", res)
	}
	for _, sub := range f.subcommands() {
		if sub == "backup" {
			t.Fatal("backup ran after a failed before hook")
		}
	}
}

func TestHookEnv(t *testing.T) {
	res := &Result{Profile: "p", Status: "success", Started: time.Unix(100, 0), BytesAdded: 42, Check: "ok"}
	res.Snapshots = append(res.Snapshots, notify.Snapshot{Source: "fs", SnapshotID: "abc"})
	env := strings.Join(hookEnv(res, "after", time.Unix(112, 0)), "\n")
	for _, want := range []string{"CAIRN_STATUS=success", "CAIRN_SNAPSHOT_ID=abc", "CAIRN_BYTES_ADDED=42", "CAIRN_DURATION=12.0", "CAIRN_CHECK=ok", "CAIRN_ERROR="} {
		if !strings.Contains(env, want) {
			t.Errorf("hook env lacks %s:\n%s", want, env)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := &Redactor{}
	r.Add("hunter2")
	got := r.Redact("password hunter2 and smtp://user:secret@mail.example.org:25")
	if strings.Contains(got, "hunter2") || strings.Contains(got, "secret") || !strings.Contains(got, "user:***@") {
		t.Fatal(got)
	}
}
