package profile

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// defaultAfterHookTimeout bounds a hook that runs after an interrupt when
// the profile sets no timeout: the run must still end.
const defaultAfterHookTimeout = 10 * time.Minute

// hooks runs the profile's hooks of one kind in order, each with sh -c and
// the run's result in its environment (hookEnv). It stops at the first
// failure and reports whether all succeeded.
func (r *Runner) hooks(ctx context.Context, log *slog.Logger, p *Profile, kind string, env []string, res *Result) bool {
	timeout, _ := ParseDuration(p.Hooks.Timeout)
	if timeout == 0 && kind != "before" {
		timeout = defaultAfterHookTimeout
	}
	for i, cmd := range p.Hooks.Commands(kind) {
		name := fmt.Sprintf("%s hook %d", kind, i+1)
		hctx, cancel := ctx, func() {}
		if timeout > 0 {
			hctx, cancel = context.WithTimeout(ctx, timeout)
		}
		log.Info("hook started", "hook", name, "command", cmd)
		start := r.now()
		out := r.Cmd.Command(hctx, []string{"sh", "-c", cmd}, append(append([]string(nil), env...), hookEnv(res, kind, r.now())...))
		cancel()
		hr := StepResult{Name: name, Kind: "hook", Status: StatusOK, ExitCode: out.ExitCode, DurationSeconds: r.now().Sub(start).Seconds()}
		for _, line := range strings.Split(strings.TrimSpace(string(out.Stdout)), "\n") {
			if line != "" {
				log.Info(line, "hook", name)
			}
		}
		if out.Err != nil || out.ExitCode != 0 {
			hr.Status = StatusFailed
			hr.Error = fmt.Sprintf("%q: exit status %d", cmd, out.ExitCode)
			if out.Err != nil {
				hr.Error = fmt.Sprintf("%q: %v", cmd, out.Err)
			}
			if l := lastLine(out.Stderr); l != "" {
				hr.Error += ": " + l
			}
			hr.Error = r.Redact.Redact(hr.Error)
		}
		res.Hooks = append(res.Hooks, hr)
		if hr.Status == StatusFailed {
			log.Warn("hook failed", "hook", name, "error", hr.Error)
			return false
		}
	}
	return true
}

// hookEnv describes the run so far to a hook (docs/profiles.md lists the
// variables). Before hooks see CAIRN_STATUS=running.
func hookEnv(res *Result, kind string, now time.Time) []string {
	status := string(res.Status)
	if kind == "before" {
		status = "running"
	}
	ids := make([]string, 0, len(res.Snapshots))
	for _, s := range res.Snapshots {
		ids = append(ids, s.SnapshotID)
	}
	dur := now.Sub(res.Started).Seconds()
	return []string{
		"CAIRN_PROFILE=" + res.Profile,
		"CAIRN_HOOK=" + kind,
		"CAIRN_STATUS=" + status,
		"CAIRN_EXIT_CODE=" + strconv.Itoa(res.ExitCode),
		"CAIRN_ERROR=" + res.Error,
		"CAIRN_SNAPSHOT_ID=" + strings.Join(ids, " "),
		"CAIRN_BYTES_ADDED=" + strconv.FormatInt(res.BytesAdded, 10),
		"CAIRN_BYTES_READ=" + strconv.FormatInt(res.BytesRead, 10),
		"CAIRN_FILES_NEW=" + strconv.FormatInt(res.FilesNew, 10),
		"CAIRN_FILES_CHANGED=" + strconv.FormatInt(res.FilesChanged, 10),
		"CAIRN_SNAPSHOTS_REMOVED=" + strconv.Itoa(res.SnapshotsRemoved),
		"CAIRN_CHECK=" + res.Check,
		"CAIRN_DURATION=" + strconv.FormatFloat(dur, 'f', 1, 64),
	}
}
