package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cairn/notify"
)

// exitInterrupted is the documented exit code of an interrupted command.
const exitInterrupted = 130

// Runner runs profiles. Its zero value is not usable: Binary and Cmd are
// required; the rest have defaults.
type Runner struct {
	// Binary is the cairn executable each step runs (os.Executable()).
	Binary string
	// Cmd runs the steps, hooks and the password command.
	Cmd Commander
	Log *slog.Logger
	// Redact hides secrets in logs, errors and notifications.
	Redact *Redactor
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Env is the environment the run starts from (os.Environ()).
	Env []string
	// CacheDir is the global cache dir (--cache-dir); a profile's
	// cache-dir wins. Empty: CAIRN_CACHE_DIR, else the XDG cache dir.
	CacheDir string
	// StateDir keeps each profile's last check and success; empty:
	// <cache dir>/profiles.
	StateDir string
	// MetricsFile, when set, is written instead of the profile's
	// metrics file (--metrics-file).
	MetricsFile string
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run does the profile's work: before hooks, backups, forget/prune, check
// when due, then after hooks, state, metrics and notifications. It always
// returns a Result; Result.ExitCode is the run's exit code. Hooks,
// metrics and notifications after the work use a context that outlives an
// interrupt, each bounded by its own timeout, so an interrupted run is
// still reported.
func (r *Runner) Run(ctx context.Context, p *Profile) *Result {
	log := r.log().With("profile", p.Name)
	res := &Result{MessageType: "run_summary", Profile: p.Name, Host: p.snapshotHost(),
		Repository: r.Redact.Redact(p.Repository), Started: r.now(), Check: "off", Snapshots: []notify.Snapshot{}}
	log.Info("run started", "repository", res.Repository)
	stateDir := r.stateDir(p)
	st, err := LoadState(stateDir, p.Name)
	if err != nil {
		log.Warn("state not readable; a check may run early", "err", err)
	}
	env, cleanup, err := r.environment(ctx, p)
	defer cleanup()
	switch {
	case err != nil:
		res.Error = r.Redact.Redact(err.Error())
		res.ExitCode = 1
	case !r.hooks(ctx, log, p, "before", env, res):
		res.Error = fmt.Sprintf("%v: %s", ErrBeforeHook, res.Hooks[len(res.Hooks)-1].Error)
		res.ExitCode = 1
	default:
		r.steps(ctx, log, p, env, res, &st)
	}
	settle(res)

	after := context.WithoutCancel(ctx)
	if res.Status == notify.Failure {
		r.hooks(after, log, p, "on-failure", env, res)
	} else {
		r.hooks(after, log, p, "on-success", env, res)
	}
	r.hooks(after, log, p, "after", env, res)
	settle(res)
	res.Finished = r.now()
	res.DurationSeconds = res.Finished.Sub(res.Started).Seconds()

	st.LastRun = res.Finished
	if res.Status != notify.Failure {
		st.LastSuccess = res.Finished
	}
	if err := SaveState(stateDir, p.Name, st); err != nil {
		log.Warn("state not saved", "err", err)
	}
	r.writeMetrics(after, log, p, env, res, st)
	r.notify(after, log, p, res)
	log.Info("run finished", "status", string(res.Status), "exit_code", res.ExitCode, "message", res.Message())
	return res
}

// steps runs the backups, then forget, then check.
func (r *Runner) steps(ctx context.Context, log *slog.Logger, p *Profile, env []string, res *Result, st *State) {
	backupFailed := false
	for _, s := range p.Steps() {
		if ctx.Err() != nil {
			res.Steps = append(res.Steps, StepResult{Name: s.Name, Kind: string(s.Kind), Status: StatusSkipped, Note: "interrupted"})
			continue
		}
		switch s.Kind {
		case StepForget:
			if backupFailed {
				res.Steps = append(res.Steps, StepResult{Name: s.Name, Kind: string(s.Kind), Status: StatusSkipped, Note: "a backup failed"})
				log.Warn("forget skipped: a backup failed")
				continue
			}
		case StepCheck:
			due, why := checkDue(p.Check, *st, r.now())
			if !due {
				res.Steps = append(res.Steps, StepResult{Name: s.Name, Kind: string(s.Kind), Status: StatusSkipped, Note: "not due: " + why})
				res.Check = "skipped"
				log.Info("check not due", "why", why)
				continue
			}
			log.Info("check due", "why", why)
		}
		sr := r.step(ctx, log, p, s, env)
		r.account(res, s, &sr)
		res.Steps = append(res.Steps, sr)
		switch {
		case s.Kind == StepBackup && sr.Status == StatusFailed:
			backupFailed = true
		case s.Kind == StepCheck:
			st.LastCheck = r.now()
			st.CheckOK = sr.Status == StatusOK
		}
	}
}

// step runs one cairn command and reads its JSON output.
func (r *Runner) step(ctx context.Context, log *slog.Logger, p *Profile, s Step, env []string) StepResult {
	argv := append(append([]string{r.Binary}, p.globalArgs()...), s.Args...)
	log.Info("step started", "step", s.Name, "command", r.Redact.Redact(shellQuote(argv)))
	start := r.now()
	out := r.Cmd.Command(ctx, argv, append(append([]string(nil), env...), s.Env...))
	sr := StepResult{Name: s.Name, Kind: string(s.Kind), ExitCode: out.ExitCode, DurationSeconds: r.now().Sub(start).Seconds()}
	switch {
	case out.Err != nil:
		sr.Status, sr.Error = StatusFailed, out.Err.Error()
		switch {
		case ctx.Err() != nil:
			sr.ExitCode = exitInterrupted
		case sr.ExitCode <= 0:
			sr.ExitCode = 1
		}
	case out.ExitCode == 0:
		sr.Status = StatusOK
	case out.ExitCode == 3 && s.Kind == StepBackup:
		sr.Status = StatusPartial
	default:
		sr.Status = StatusFailed
		sr.Error = lastLine(out.Stderr)
		if sr.Error == "" {
			sr.Error = fmt.Sprintf("exit status %d", out.ExitCode)
		}
	}
	sr.Error = r.Redact.Redact(sr.Error)
	parseOutput(s.Kind, out.Stdout, &sr)
	if s.Kind == StepBackup && sr.Status != StatusFailed && sr.Backup == nil {
		sr.Status, sr.Error = StatusFailed, "no summary in the output of cairn backup --json"
		sr.ExitCode = 1
	}
	if s.Kind == StepCheck && sr.Check != nil && len(sr.Check.Problems) > 0 && sr.Error == "" {
		sr.Error = fmt.Sprintf("check found %d problem(s): %s", len(sr.Check.Problems), sr.Check.Problems[0].Message)
	}
	lvl := slog.LevelInfo
	if sr.Status != StatusOK {
		lvl = slog.LevelWarn
	}
	log.Log(ctx, lvl, "step finished", "step", s.Name, "status", sr.Status, "exit_code", sr.ExitCode, "error", sr.Error)
	return sr
}

// parseOutput reads the JSON lines a step printed.
func parseOutput(kind StepKind, stdout []byte, sr *StepResult) {
	for _, line := range strings.Split(string(stdout), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		switch kind {
		case StepBackup:
			var b BackupSummary
			if json.Unmarshal([]byte(line), &b) == nil && b.MessageType == "summary" {
				sr.Backup = &b
			}
		case StepForget:
			var g struct {
				Remove []json.RawMessage `json:"remove"`
			}
			if json.Unmarshal([]byte(line), &g) == nil {
				sr.Removed += len(g.Remove)
			}
		case StepCheck:
			var c CheckReport
			if json.Unmarshal([]byte(line), &c) == nil {
				sr.Check = &c
			}
		}
	}
}

// account adds a step's numbers to the run's totals.
func (r *Runner) account(res *Result, s Step, sr *StepResult) {
	if b := sr.Backup; b != nil {
		res.Snapshots = append(res.Snapshots, notify.Snapshot{Source: s.Source, SnapshotID: b.SnapshotID, Partial: b.Partial})
		res.FilesNew += b.FilesNew
		res.FilesChanged += b.FilesChanged
		res.FilesUnmodified += b.FilesUnmodified
		res.BytesRead += b.BytesRead
		res.BytesAdded += b.BytesAdded
		res.Errors += b.Errors
	}
	res.SnapshotsRemoved += sr.Removed
	if s.Kind == StepCheck {
		res.Check = "ok"
		if sr.Status != StatusOK {
			res.Check = "failed"
		}
	}
}

// settle derives the status and exit code from the steps and hooks: the
// first failed step's exit code (a wrong password stays 12, a held lock
// 11), else 3 when a snapshot is partial, else 0. A failed after, on-success
// or on-failure hook makes a successful run a warning.
func settle(res *Result) {
	failed, partial := res.ExitCode != 0 && res.Error != "", false
	code := res.ExitCode
	for _, s := range res.Steps {
		switch s.Status {
		case StatusFailed:
			if !failed {
				code = s.ExitCode
				if res.Error == "" {
					res.Error = s.Name + ": " + s.Error
				}
			}
			failed = true
		case StatusPartial:
			partial = true
		}
	}
	hookFailed := false
	for _, h := range res.Hooks {
		hookFailed = hookFailed || h.Status == StatusFailed
	}
	switch {
	case failed:
		res.Status = notify.Failure
		if code <= 0 {
			code = 1
		}
	case partial:
		res.Status, code = notify.Warning, 3
	case hookFailed:
		res.Status = notify.Warning
	default:
		res.Status = notify.Success
	}
	res.ExitCode = code
}

// cacheDir is where the profile's steps keep their cache.
func (r *Runner) cacheDir(p *Profile) string {
	switch {
	case p.CacheDir != "":
		return p.CacheDir
	case r.CacheDir != "":
		return r.CacheDir
	}
	if d := lookupEnv(r.Env, "CAIRN_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cairn")
	}
	return filepath.Join(os.TempDir(), "cairn-cache")
}

func (r *Runner) stateDir(p *Profile) string {
	if r.StateDir != "" {
		return r.StateDir
	}
	return filepath.Join(r.cacheDir(p), "profiles")
}

// environment is the steps' environment: the run's, with the profile's
// repository, cache dir and password source. A password command runs once
// and its answer goes to a 0600 file the steps read (CAIRN_PASSWORD_FILE),
// so no password is put on a command line or asked for per step; cleanup
// removes it.
func (r *Runner) environment(ctx context.Context, p *Profile) ([]string, func(), error) {
	drop := map[string]bool{"CAIRN_REPOSITORY": true, "CAIRN_CACHE_DIR": true}
	if p.PasswordFile != "" || p.PasswordCommand != "" {
		for _, k := range []string{"CAIRN_PASSWORD", "CAIRN_PASSWORD_FILE", "CAIRN_PASSWORD_COMMAND"} {
			drop[k] = true
		}
	}
	var env []string
	for _, kv := range r.Env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "CAIRN_REPOSITORY="+p.Repository, "CAIRN_CACHE_DIR="+r.cacheDir(p))
	nothing := func() {}
	switch {
	case p.PasswordFile != "":
		if b, err := os.ReadFile(p.PasswordFile); err == nil {
			r.Redact.Add(firstLine(string(b)))
		}
		return append(env, "CAIRN_PASSWORD_FILE="+p.PasswordFile), nothing, nil
	case p.PasswordCommand != "":
		out := r.Cmd.Command(ctx, []string{"sh", "-c", p.PasswordCommand}, env)
		if out.Err != nil || out.ExitCode != 0 {
			return nil, nothing, fmt.Errorf("password command failed (exit %d): %s", out.ExitCode, lastLine(out.Stderr))
		}
		pw := firstLine(string(out.Stdout))
		if pw == "" {
			return nil, nothing, errors.New("password command printed nothing")
		}
		r.Redact.Add(pw)
		dir, err := os.MkdirTemp("", "cairn-run-")
		if err != nil {
			return nil, nothing, fmt.Errorf("password file: %w", err)
		}
		cleanup := func() { os.RemoveAll(dir) }
		f := filepath.Join(dir, "password")
		if err := os.WriteFile(f, []byte(pw+"\n"), 0o600); err != nil {
			cleanup()
			return nil, nothing, fmt.Errorf("password file: %w", err)
		}
		return append(env, "CAIRN_PASSWORD_FILE="+f), cleanup, nil
	}
	return env, nothing, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

func lookupEnv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// shellQuote renders argv for logs and dry runs.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '/' || r == '-' || r == '_' || r == '.' || r == ',' || r == '=' || r == ':' || r == '%' || r == '@' ||
				(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
