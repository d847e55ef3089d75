package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// runSummary is the part of `cairn run --json` the tests read.
type runSummary struct {
	Status           string  `json:"status"`
	ExitCode         int     `json:"exit_code"`
	Error            string  `json:"error"`
	DurationSeconds  float64 `json:"duration_seconds"`
	BytesAdded       int64   `json:"bytes_added"`
	BytesRead        int64   `json:"bytes_read"`
	SnapshotsRemoved int     `json:"snapshots_removed"`
	Check            string  `json:"check"`
	Snapshots        []struct {
		Source     string `json:"source"`
		SnapshotID string `json:"snapshot_id"`
	} `json:"snapshots"`
	Steps []struct {
		Name            string  `json:"name"`
		Status          string  `json:"status"`
		DurationSeconds float64 `json:"duration_seconds"`
		Note            string  `json:"note"`
	} `json:"steps"`
	Notifications []struct {
		Target string `json:"target"`
		Error  string `json:"error"`
	} `json:"notifications"`
}

func (tr *testRepo) runProfile(cfg string, args ...string) (runSummary, result) {
	tr.t.Helper()
	res := tr.runEnv(nil, append([]string{"--json", "run", "--config", cfg}, args...)...)
	var s runSummary
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		tr.t.Fatalf("run output %q (stderr %s): %v", res.stdout, res.stderr, err)
	}
	return s, res
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "cairn.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pgCluster is a throwaway PostgreSQL cluster on a unix socket.
type pgCluster struct{ bin, dir, port string }

func startPG(t *testing.T) *pgCluster {
	t.Helper()
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil || os.Getuid() != 0 {
		t.Skip("needs root and PostgreSQL 15 in " + bin)
	}
	pu, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user")
	}
	// Not t.TempDir: its parent is 0700 root, which postgres cannot enter.
	dir, err := os.MkdirTemp("", "cairn-run-pg-")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pu.Uid)
	gid, _ := strconv.Atoi(pu.Gid)
	os.Chown(dir, uid, gid)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	pg := &pgCluster{bin: bin, dir: dir, port: port}
	as := func(argv ...string) {
		out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, argv...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
	}
	as(bin+"/initdb", "-D", dir+"/data", "-A", "trust", "-U", "postgres", "--no-sync")
	as(bin+"/pg_ctl", "-D", dir+"/data", "-o", "-p "+port+" -k "+dir+" -c listen_addresses= -c fsync=off", "-l", dir+"/log", "-w", "start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", bin+"/pg_ctl", "-D", dir+"/data", "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	})
	pg.psql(t, "postgres", "CREATE DATABASE app")
	pg.psql(t, "app", "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
	return pg
}

func (pg *pgCluster) psql(t *testing.T, db, sql string) {
	t.Helper()
	out, err := exec.Command(pg.bin+"/psql", "-h", pg.dir, "-p", pg.port, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %s: %v\n%s", sql, err, out)
	}
}

// webhookSink is a local HTTP server that records webhook bodies.
type webhookSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newWebhookSink(t *testing.T) *webhookSink {
	s := &webhookSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *webhookSink) got() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

func gauge(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("metric %s missing", name)
	}
	for _, m := range f.Metric {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
			}
			ok = ok && found
		}
		if ok {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s%v missing", name, labels)
	return 0
}

// A profile with a filesystem source, a PostgreSQL database, retention and
// a check runs end to end; metrics, webhook and hooks see its numbers.
func TestRunProfileEndToEnd(t *testing.T) {
	pg := startPG(t)
	tr := newTestRepo(t)
	data := filepath.Join(tr.dir, "data")
	os.MkdirAll(filepath.Join(data, "sub"), 0o755)
	os.WriteFile(filepath.Join(data, "a.txt"), []byte(strings.Repeat("alpha ", 5000)), 0o644)
	os.WriteFile(filepath.Join(data, "sub", "b.tmp"), []byte("excluded"), 0o644)
	hook := newWebhookSink(t)
	metricsFile := filepath.Join(tr.dir, "textfile", "cairn.prom")
	hookLog := filepath.Join(tr.dir, "hooks.log")
	cfg := writeConfig(t, tr.dir, fmt.Sprintf(`
[profile.nightly]
repository = %q
password-file = %q
cache-dir = %q
host = "testhost"
paths = [%q]
exclude = ["*.tmp"]
tags = ["nightly"]

[[profile.nightly.db]]
engine = "postgres"
host = %q
port = %s
user = "postgres"
database = "app"
bin-dir = %q

[profile.nightly.retention]
keep-last = 1

[profile.nightly.check]
read-data = true
every = "1h"

[profile.nightly.hooks]
before = "echo before status=$CAIRN_STATUS >> %s"
after = ["echo after status=$CAIRN_STATUS snapshots=$CAIRN_SNAPSHOT_ID added=$CAIRN_BYTES_ADDED exit=$CAIRN_EXIT_CODE check=$CAIRN_CHECK >> %s"]

[profile.nightly.metrics]
file = %q

[[profile.nightly.notify]]
on = ["success", "failure"]
webhook = "%s/hook"
`, tr.repo, filepath.Join(tr.dir, "password"), tr.cache, data, pg.dir, pg.port, pg.bin, hookLog, hookLog, metricsFile, hook.URL))

	if res := tr.runEnv(nil, "config", "check", "--config", cfg); res.code != 0 {
		t.Fatalf("config check: %d %s", res.code, res.stderr)
	}
	dry := tr.runEnv(nil, "run", "--config", cfg, "--dry-run", "nightly")
	if dry.code != 0 || !strings.Contains(dry.stdout, "backup db postgres app") || !strings.Contains(dry.stdout, "--keep-last 1") {
		t.Fatalf("dry run: %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if _, err := os.Stat(metricsFile); err == nil {
		t.Fatal("dry run wrote metrics")
	}

	s1, r1 := tr.runProfile(cfg, "nightly")
	if s1.ExitCode != 0 || r1.code != 0 || s1.Status != "success" {
		t.Fatalf("first run: %+v\n%s", s1, r1.stderr)
	}
	if len(s1.Snapshots) != 2 || s1.Snapshots[0].Source != "fs" || s1.Snapshots[1].Source != "db postgres app" || s1.Check != "ok" {
		t.Fatalf("first run: %+v", s1)
	}
	// The dump is a real one: it restores into psql-readable SQL or a
	// pg_restore archive; here it is enough that it holds the table.
	dump := tr.mustRun("ls", "-R", s1.Snapshots[1].SnapshotID)
	if strings.TrimSpace(dump) == "" {
		t.Fatal("db snapshot is empty")
	}
	ls := tr.mustRun("ls", "-R", s1.Snapshots[0].SnapshotID)
	if strings.Contains(ls, "b.tmp") || !strings.Contains(ls, "a.txt") {
		t.Fatalf("fs snapshot listing:\n%s", ls)
	}

	// Second run: new data, retention removes the first two snapshots,
	// the check is not due yet (every 1h).
	os.WriteFile(filepath.Join(data, "c.txt"), []byte(strings.Repeat("gamma ", 3000)), 0o644)
	pg.psql(t, "app", "INSERT INTO t SELECT g, 'new' FROM generate_series(5001, 6000) g")
	s2, r2 := tr.runProfile(cfg, "nightly")
	if s2.ExitCode != 0 || s2.SnapshotsRemoved != 2 || s2.Check != "skipped" {
		t.Fatalf("second run: %+v\n%s", s2, r2.stderr)
	}
	snaps := tr.mustRun("--json", "snapshots")
	var list []map[string]any
	json.Unmarshal([]byte(snaps), &list)
	if len(list) != 2 {
		t.Fatalf("%d snapshots after retention, want 2", len(list))
	}
	tr.mustRun("check", "--read-data")

	// Metrics: the second run's numbers.
	f, err := os.Open(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	lb := []string{"profile", "nightly", "host", "testhost"}
	for name, want := range map[string]float64{
		"cairn_run_success": 1, "cairn_run_exit_code": 0, "cairn_backup_bytes_added": float64(s2.BytesAdded),
		"cairn_backup_bytes_read": float64(s2.BytesRead), "cairn_repository_snapshots": 2, "cairn_forget_snapshots_removed": 2,
		"cairn_backup_snapshots_saved": 2, "cairn_check_success": 1, "cairn_backup_errors": 0,
	} {
		if got := gauge(t, fams, name, lb...); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if v := gauge(t, fams, "cairn_backup_files", append(lb, "state", "new")...); v != 1 {
		t.Errorf("files new = %v, want 1 (c.txt)", v)
	}
	if v := gauge(t, fams, "cairn_repository_size_bytes", lb...); v <= 0 {
		t.Errorf("repository size %v", v)
	}
	if v := gauge(t, fams, "cairn_run_last_success_timestamp_seconds", lb...); time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Errorf("last success %v", v)
	}

	// Webhook: one body per run, with the documented fields.
	bodies := hook.got()
	if len(bodies) != 2 {
		t.Fatalf("%d webhook calls, want 2", len(bodies))
	}
	b := bodies[1]
	if b["event"] != "success" || b["profile"] != "nightly" || b["host"] != "testhost" || b["check"] != "skipped" || b["snapshots_removed"] != 2.0 {
		t.Errorf("webhook body %v", b)
	}
	ids := b["snapshots"].([]any)
	if len(ids) != 2 || ids[0].(map[string]any)["snapshot_id"] != s2.Snapshots[0].SnapshotID {
		t.Errorf("webhook snapshots %v", ids)
	}

	// Hooks: before saw "running", after saw the result.
	hl, _ := os.ReadFile(hookLog)
	lines := strings.Split(strings.TrimSpace(string(hl)), "\n")
	if len(lines) != 4 || lines[0] != "before status=running" ||
		!strings.HasPrefix(lines[3], "after status=success snapshots="+s2.Snapshots[0].SnapshotID+" "+s2.Snapshots[1].SnapshotID) ||
		!strings.Contains(lines[3], fmt.Sprintf("added=%d exit=0 check=skipped", s2.BytesAdded)) {
		t.Errorf("hook log:\n%s", hl)
	}
}

// A dead and a hanging webhook delay the run by at most their timeout, and
// the backup succeeds.
func TestRunUnreachableWebhooks(t *testing.T) {
	tr := newTestRepo(t)
	data := filepath.Join(tr.dir, "data")
	os.MkdirAll(data, 0o755)
	os.WriteFile(filepath.Join(data, "f"), []byte("x"), 0o644)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	cfg := writeConfig(t, tr.dir, fmt.Sprintf(`
[profile.p]
repository = %q
password-file = %q
paths = [%q]
[[profile.p.notify]]
on = ["success"]
webhook = "%s/hang"
timeout = "1s"
retries = 5
[[profile.p.notify]]
on = ["success"]
webhook = "http://%s/dead"
timeout = "1s"
`, tr.repo, filepath.Join(tr.dir, "password"), data, hang.URL, dead))
	start := time.Now()
	s, r := tr.runProfile(cfg, "p")
	elapsed := time.Since(start)
	if s.ExitCode != 0 || r.code != 0 || s.Status != "success" {
		t.Fatalf("%+v\n%s", s, r.stderr)
	}
	if len(s.Notifications) != 2 || s.Notifications[0].Error == "" || s.Notifications[1].Error == "" {
		t.Fatalf("notifications %+v", s.Notifications)
	}
	var steps float64
	for _, st := range s.Steps {
		steps += st.DurationSeconds
	}
	// The notifications run in parallel after the steps: 1s budget, plus
	// process start-up and the metrics-free rest of the run. Without the
	// budget the hanging target alone would take 6 attempts x 1s.
	if extra := elapsed.Seconds() - steps; extra > 3.5 {
		t.Fatalf("run took %.1fs, steps %.1fs: notifications cost %.1fs (timeout 1s)", elapsed.Seconds(), steps, extra)
	}
}

// smtpSink is a tiny SMTP server on loopback: a real SMTP conversation.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	data []string
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(c)
		}
	}()
	return s
}

func (s *smtpSink) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { io.WriteString(c, l+"\r\n") }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO", "HELO":
			say("250 sink")
		case "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = append(s.data, b.String())
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// A failing before hook aborts the run (no snapshot), the on-failure hook
// runs, and the failure mail arrives over SMTP.
func TestRunBeforeHookFailsAndMails(t *testing.T) {
	tr := newTestRepo(t)
	data := filepath.Join(tr.dir, "data")
	os.MkdirAll(data, 0o755)
	mail := newSMTPSink(t)
	marker := filepath.Join(tr.dir, "on-failure")
	cfg := writeConfig(t, tr.dir, fmt.Sprintf(`
[profile.p]
repository = %q
password-file = %q
paths = [%q]
[profile.p.hooks]
before = ["true", "echo database is down >&2; exit 4"]
on-failure = "echo $CAIRN_STATUS $CAIRN_EXIT_CODE > %s"
[[profile.p.notify]]
smtp = "smtp://%s?from=cairn@example.org&to=ops@example.org"
`, tr.repo, filepath.Join(tr.dir, "password"), data, marker, mail.ln.Addr()))
	s, r := tr.runProfile(cfg, "p")
	if r.code != 1 || s.Status != "failure" || len(s.Snapshots) != 0 || len(s.Steps) != 0 {
		t.Fatalf("code %d %+v", r.code, s)
	}
	if !strings.Contains(s.Error, "before hook failed") || !strings.Contains(s.Error, "database is down") {
		t.Fatalf("error %q", s.Error)
	}
	if b, _ := os.ReadFile(marker); strings.TrimSpace(string(b)) != "failure 1" {
		t.Fatalf("on-failure hook wrote %q", b)
	}
	mail.mu.Lock()
	defer mail.mu.Unlock()
	if len(mail.data) != 1 || !strings.Contains(mail.data[0], "Subject: cairn p@") || !strings.Contains(mail.data[0], "database is down") {
		t.Fatalf("mails %q", mail.data)
	}
	if list := tr.mustRun("--json", "snapshots"); strings.TrimSpace(list) != "[]" {
		t.Fatalf("snapshots after aborted run: %s", list)
	}
}

// The run's exit code is the failing step's: a wrong password stays 12.
func TestRunWrongPasswordExitCode(t *testing.T) {
	tr := newTestRepo(t)
	os.WriteFile(filepath.Join(tr.dir, "wrong"), []byte("nope\n"), 0o600)
	cfg := writeConfig(t, tr.dir, fmt.Sprintf("[profile.p]\nrepository = %q\npassword-file = %q\npaths = [%q]\n[profile.p.retention]\nkeep-last = 3\n",
		tr.repo, filepath.Join(tr.dir, "wrong"), tr.dir))
	s, r := tr.runProfile(cfg, "p")
	if r.code != exitWrongPasswd || s.Status != "failure" || s.Steps[1].Status != "skipped" {
		t.Fatalf("code %d %+v", r.code, s)
	}
	if strings.Contains(r.stderr+r.stdout, "nope") {
		t.Fatal("password in output")
	}
}

// A configuration with errors is refused before anything runs, each error
// named with its line.
func TestRunConfigErrorsRefused(t *testing.T) {
	tr := newTestRepo(t)
	ran := filepath.Join(tr.dir, "ran")
	cfg := writeConfig(t, tr.dir, fmt.Sprintf(`[profile.p]
repository = %q
paths = ["relative"]
[profile.p.hooks]
before = "touch %s"
[profile.p.retention]
keep-dayly = 3
[[profile.p.notify]]
webhook = "not a url"
`, tr.repo, ran))
	for _, args := range [][]string{{"run", "--config", cfg, "p"}, {"config", "check", "--config", cfg}} {
		r := tr.runEnv(nil, args...)
		if r.code != 1 {
			t.Fatalf("%v: exit %d", args, r.code)
		}
		for _, want := range []string{cfg + ":3: profile.p.paths", cfg + ":7: profile.p.retention.keep-dayly: unknown key", cfg + ":6: profile.p.retention: no keep-* rule", cfg + ":9: profile.p.notify[0].webhook"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, r.stderr)
			}
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the before hook ran with a broken configuration")
	}
}

func TestScheduleCrontab(t *testing.T) {
	tr := newTestRepo(t)
	cfg := writeConfig(t, tr.dir, fmt.Sprintf("[profile.nightly]\nrepository = %q\npaths = [\"/etc\"]\n[profile.weekly]\nrepository = %q\npaths = [\"/etc\"]\n", tr.repo, tr.repo))
	crontab := filepath.Join(tr.dir, "crontab")
	orig := "MAILTO=ops@example.org\n# mine\n30 1 * * * /usr/local/bin/other-job\n"
	os.WriteFile(crontab, []byte(orig), 0o644)
	env := []string{"CAIRN_CRONTAB_FILE=" + crontab}
	for _, a := range [][]string{
		{"schedule", "install", "--config", cfg, "--cron", "0 2 * * *", "nightly"},
		{"schedule", "install", "--config", cfg, "--cron", "15 3 * * 0", "nightly"}, // replaces
		{"schedule", "install", "--config", cfg, "--cron", "@weekly", "weekly"},
	} {
		if r := tr.runEnv(env, a...); r.code != 0 {
			t.Fatalf("%v: %d %s", a, r.code, r.stderr)
		}
	}
	b, _ := os.ReadFile(crontab)
	got := string(b)
	want := orig + "# cairn schedule: profile=nightly\n15 3 * * 0 " + cairnBin + " --quiet run --config " + cfg + " nightly\n" +
		"# cairn schedule: profile=weekly\n@weekly " + cairnBin + " --quiet run --config " + cfg + " weekly\n"
	if got != want {
		t.Fatalf("crontab:\n%s\nwant:\n%s", got, want)
	}
	// Each entry line is a valid crontab line: five fields (or a macro)
	// and a command that names an existing binary.
	list := tr.runEnv(env, "--json", "schedule", "list")
	var ents []map[string]string
	if err := json.Unmarshal([]byte(list.stdout), &ents); err != nil || len(ents) != 2 || ents[0]["when"] != "15 3 * * 0" {
		t.Fatalf("list %q %v", list.stdout, err)
	}
	if r := tr.runEnv(env, "schedule", "install", "--config", cfg, "--cron", "61 2 * * *", "nightly"); r.code == 0 {
		t.Fatal("minute 61 accepted")
	}
	if r := tr.runEnv(env, "schedule", "install", "--config", cfg, "--cron", "0 2 * * *", "monthly"); r.code == 0 {
		t.Fatal("unknown profile accepted")
	}
	for _, p := range []string{"weekly", "nightly"} {
		if r := tr.runEnv(env, "schedule", "remove", p); r.code != 0 {
			t.Fatalf("remove %s: %s", p, r.stderr)
		}
	}
	if b, _ := os.ReadFile(crontab); string(b) != orig {
		t.Fatalf("after remove:\n%s", b)
	}
	if r := tr.runEnv(env, "schedule", "remove", "nightly"); r.code == 0 {
		t.Fatal("removing a missing schedule succeeded")
	}
}

func TestScheduleSystemd(t *testing.T) {
	tr := newTestRepo(t)
	cfg := writeConfig(t, tr.dir, fmt.Sprintf("[profile.nightly]\nrepository = %q\npaths = [\"/etc\"]\n", tr.repo))
	units := filepath.Join(tr.dir, "units")
	os.MkdirAll(units, 0o755)
	mine := filepath.Join(units, "other.timer")
	os.WriteFile(mine, []byte("[Timer]\nOnCalendar=daily\n"), 0o644)
	env := []string{"CAIRN_SYSTEMD_UNIT_DIR=" + units}
	if r := tr.runEnv(env, "schedule", "install", "--config", cfg, "--scheduler", "systemd", "--cron", "30 2 * * 1-5", "nightly"); r.code != 0 {
		t.Fatalf("install: %s", r.stderr)
	}
	svc, _ := os.ReadFile(filepath.Join(units, "cairn-nightly.service"))
	tmr, _ := os.ReadFile(filepath.Join(units, "cairn-nightly.timer"))
	if !strings.Contains(string(svc), "ExecStart="+cairnBin+" --quiet run --config "+cfg+" nightly\n") || !strings.Contains(string(svc), "Type=oneshot") {
		t.Fatalf("service:\n%s", svc)
	}
	if !strings.Contains(string(tmr), "OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00\n") {
		t.Fatalf("timer:\n%s", tmr)
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := exec.Command(sa, "calendar", "Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00").CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze calendar: %v\n%s", err, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err = exec.CommandContext(ctx, sa, "verify", filepath.Join(units, "cairn-nightly.timer"), filepath.Join(units, "cairn-nightly.service")).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("systemd-analyze not installed: units checked by content only")
	}
	list := tr.runEnv(env, "--json", "schedule", "list")
	if !strings.Contains(list.stdout, `"kind":"systemd"`) {
		t.Fatalf("list: %s", list.stdout)
	}
	if r := tr.runEnv(env, "schedule", "remove", "nightly"); r.code != 0 {
		t.Fatalf("remove: %s", r.stderr)
	}
	ents, _ := os.ReadDir(units)
	if len(ents) != 1 || ents[0].Name() != "other.timer" {
		t.Fatalf("unit dir after remove: %v", ents)
	}
}
