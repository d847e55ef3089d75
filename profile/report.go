package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"cairn/metrics"
	"cairn/notify"
	"cairn/repo/backend"
	"cairn/repo/backend/location"
)

// writeMetrics writes the metrics file and pushes to the Pushgateway when
// configured. Failures are logged and recorded, never fatal: the backup
// happened whether or not its metrics could be written.
func (r *Runner) writeMetrics(ctx context.Context, log *slog.Logger, p *Profile, env []string, res *Result, st State) {
	file, push, job, timeout := r.MetricsFile, "", "", 10*time.Second
	if m := p.Metrics; m != nil {
		if file == "" {
			file = m.File
		}
		push, job = m.Pushgateway, m.Job
		if d, _ := ParseDuration(m.Timeout); d > 0 {
			timeout = d
		}
	}
	if file == "" && push == "" {
		return
	}
	m := metrics.Run{
		Profile: p.Name, Host: res.Host, Finished: res.Finished, LastSuccess: st.LastSuccess,
		Success: res.Status != notify.Failure, ExitCode: res.ExitCode,
		Duration:  res.Finished.Sub(res.Started),
		BytesRead: res.BytesRead, BytesAdded: res.BytesAdded, FilesNew: res.FilesNew, FilesChanged: res.FilesChanged,
		FilesUnmodified: res.FilesUnmodified, Errors: res.Errors, Snapshots: len(res.Snapshots), Removed: res.SnapshotsRemoved,
		CheckTime: st.LastCheck, CheckSuccess: st.CheckOK,
	}
	sctx, cancel := context.WithTimeout(ctx, 2*timeout)
	m.RepoSnapshots, m.RepoSize = r.repoStats(sctx, log, p, env)
	cancel()
	var errs []string
	if file != "" {
		if err := metrics.WriteFile(file, m); err != nil {
			errs = append(errs, err.Error())
			log.Warn("metrics file not written", "file", file, "err", err)
		} else {
			log.Info("metrics written", "file", file)
		}
	}
	if push != "" {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := metrics.Push(pctx, notify.NewHTTPClient(timeout), push, job, m)
		cancel()
		if err != nil {
			errs = append(errs, r.Redact.Redact(err.Error()))
			log.Warn("metrics not pushed", "err", err)
		}
	}
	res.MetricsError = strings.Join(errs, "; ")
}

// repoStats counts the repository's snapshots (cairn snapshots --json) and
// sums its pack files' sizes by listing the storage, which needs no key
// and reads no pack. Either is -1 when it cannot be had.
func (r *Runner) repoStats(ctx context.Context, log *slog.Logger, p *Profile, env []string) (int, int64) {
	count, size := -1, int64(-1)
	argv := append(append([]string{r.Binary}, p.globalArgs()...), "snapshots")
	out := r.Cmd.Command(ctx, argv, env)
	var sns []json.RawMessage
	if out.Err == nil && out.ExitCode == 0 && json.Unmarshal(out.Stdout, &sns) == nil {
		count = len(sns)
	} else {
		log.Warn("snapshot count unavailable", "error", r.Redact.Redact(lastLine(out.Stderr)))
	}
	ext := map[string]string{}
	for _, o := range p.Options {
		k, v, _ := strings.Cut(o, "=")
		ext[k] = v
	}
	be, err := location.Open(ctx, p.Repository, location.Options{Extended: ext, Getenv: func(k string) string { return lookupEnv(env, k) }})
	if err != nil {
		log.Warn("repository size unavailable", "err", err)
		return count, size
	}
	defer be.Close()
	var total int64
	err = be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error { total += fi.Size; return nil })
	if err != nil {
		log.Warn("repository size unavailable", "err", err)
		return count, size
	}
	return count, total
}

// notify sends the result to the targets that want its status.
func (r *Runner) notify(ctx context.Context, log *slog.Logger, p *Profile, res *Result) {
	targets, err := r.Targets(p)
	if err != nil {
		log.Warn("notifications not sent", "err", err)
		res.Notifications = append(res.Notifications, Delivery{Target: "config", Error: r.Redact.Redact(err.Error())})
		return
	}
	for _, d := range notify.Dispatch(ctx, targets, res.event()) {
		dl := Delivery{Target: d.Target, Attempts: d.Attempts}
		if d.Err != nil {
			dl.Error = r.Redact.Redact(d.Err.Error())
			log.Warn("notification failed", "target", d.Target, "attempts", d.Attempts, "err", dl.Error)
		} else {
			log.Info("notification sent", "target", d.Target, "attempts", d.Attempts)
		}
		res.Notifications = append(res.Notifications, dl)
	}
}

// Targets builds the profile's notification targets. Webhook URLs and SMTP
// passwords are registered with the redactor.
func (r *Runner) Targets(p *Profile) ([]notify.Target, error) {
	var out []notify.Target
	for i, n := range p.Notify {
		timeout, _ := ParseDuration(n.Timeout)
		if timeout == 0 {
			timeout = notify.DefaultTimeout
		}
		t := notify.Target{Timeout: timeout, Retries: notify.DefaultRetries}
		if n.Retries != nil {
			t.Retries = *n.Retries
		}
		for _, e := range n.On {
			t.On = append(t.On, notify.Kind(e))
		}
		client := notify.NewHTTPClient(timeout)
		var err error
		switch {
		case n.Webhook != "":
			t.Sender, err = notify.NewWebhook("webhook", n.Webhook, client)
		case n.Slack != "":
			r.Redact.Add(n.Slack)
			t.Sender, err = notify.NewWebhook("slack", n.Slack, client)
		case n.Discord != "":
			r.Redact.Add(n.Discord)
			t.Sender, err = notify.NewWebhook("discord", n.Discord, client)
		case n.Teams != "":
			r.Redact.Add(n.Teams)
			t.Sender, err = notify.NewWebhook("teams", n.Teams, client)
		case n.SMTP != "":
			var c *notify.SMTPConfig
			if c, err = notify.ParseSMTP(n.SMTP); err == nil {
				if n.PasswordFile != "" {
					b, rerr := os.ReadFile(n.PasswordFile)
					if rerr != nil {
						return nil, fmt.Errorf("notify %d: %w", i+1, rerr)
					}
					c.Password = firstLine(string(b))
				}
				r.Redact.Add(c.Password)
				t.Sender = &notify.SMTP{Config: *c, Now: r.Now}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("notify %d: %w", i+1, err)
		}
		out = append(out, t)
	}
	return out, nil
}
