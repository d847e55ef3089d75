package profile

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"cairn/notify"
	"cairn/repo/check"
	"cairn/repo/retention"
)

// validator collects semantic problems; each names the key and its line.
type validator struct {
	file     string
	pos      positions
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.pos.line(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

var profileName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (v *validator) config(c *Config) {
	switch c.Global.LogFormat {
	case "", "text", "json":
	default:
		v.add("global.log-format", "%q: want text or json", c.Global.LogFormat)
	}
	if _, err := ParseLevel(c.Global.LogLevel); err != nil {
		v.add("global.log-level", "%v", err)
	}
	if len(c.Profiles) == 0 {
		v.add("profile", "no profiles: add a [profile.NAME] table")
	}
	for name, p := range c.Profiles {
		base := "profile." + name
		if p == nil {
			v.add(base, "empty profile")
			continue
		}
		if !profileName.MatchString(name) {
			v.add(base, "profile names may hold only letters, digits, '-' and '_' (they name files and units)")
		}
		v.profile(base, p)
	}
}

func (v *validator) profile(base string, p *Profile) {
	if p.Repository == "" {
		v.add(base, "no repository")
	}
	if p.PasswordFile != "" && p.PasswordCommand != "" {
		v.add(base+".password-command", "password-file and password-command exclude each other")
	}
	for i, o := range p.Options {
		if !strings.Contains(o, "=") {
			v.add(base+".options", "option %d %q: want KEY=VALUE", i+1, o)
		}
	}
	if len(p.Paths)+len(p.DB)+len(p.Command)+len(p.Source) == 0 {
		v.add(base, "nothing to back up: set paths, or add [[%s.db]], [[%s.command]] or [[%s.source]]", base, base, base)
	}
	for _, path := range p.Paths {
		if !filepath.IsAbs(path) {
			v.add(base+".paths", "%q is not absolute (cron and systemd start in another directory)", path)
		}
	}
	if len(p.Paths) == 0 {
		for _, k := range []struct {
			key string
			set bool
		}{{"exclude", len(p.Exclude) > 0}, {"exclude-file", len(p.ExcludeFile) > 0}, {"exclude-caches", p.ExcludeCaches}, {"one-file-system", p.OneFileSystem}} {
			if k.set {
				v.add(base+"."+k.key, "applies to paths, but the profile has none")
			}
		}
	}
	for i, d := range p.DB {
		v.db(fmt.Sprintf("%s.db[%d]", base, i), d)
	}
	for i, c := range p.Command {
		if len(c.Run) == 0 || c.Run[0] == "" {
			v.add(fmt.Sprintf("%s.command[%d]", base, i), "run: want the command and its arguments, e.g. run = [\"pg_dumpall\"]")
		}
	}
	for i, s := range p.Source {
		if len(s.Args) == 0 {
			v.add(fmt.Sprintf("%s.source[%d]", base, i), "args: want the arguments of cairn backup, e.g. args = [\"docker\", \"--label\", \"app\"]")
		}
	}
	if p.Retention != nil {
		v.retention(base+".retention", p.Retention)
	}
	if p.Check != nil {
		v.check(base+".check", p.Check)
	}
	v.hooks(base+".hooks", p.Hooks)
	if p.Metrics != nil {
		v.metrics(base+".metrics", p.Metrics)
	}
	for i, n := range p.Notify {
		v.notify(fmt.Sprintf("%s.notify[%d]", base, i), n)
	}
}

var engines = map[string]bool{"postgres": true, "postgresql": true, "mysql": true, "mariadb": true, "sqlite": true, "redis": true, "mongodb": true}

func (v *validator) db(base string, d DBSource) {
	if d.Engine == "" && d.URL == "" {
		v.add(base, "set engine (postgres, mysql, mariadb, sqlite, redis, mongodb) or url")
	}
	if d.Engine != "" && !engines[d.Engine] {
		v.add(base+".engine", "unknown engine %q: want postgres, mysql, mariadb, sqlite, redis or mongodb", d.Engine)
	}
	if d.URL != "" {
		if u, err := url.Parse(d.URL); err != nil {
			v.add(base+".url", "%v", redactErr(err))
		} else if _, has := u.User.Password(); has {
			v.add(base+".url", "holds a password: put it in password-file instead")
		}
	}
	if d.Port < 0 || d.Port > 65535 {
		v.add(base+".port", "%d is not a port", d.Port)
	}
}

func (v *validator) retention(base string, r *Retention) {
	if r.KeepLast|r.KeepHourly|r.KeepDaily|r.KeepWeekly|r.KeepMonthly|r.KeepYearly == 0 &&
		r.KeepWithin+r.KeepWithinHourly+r.KeepWithinDaily+r.KeepWithinWeekly+r.KeepWithinMonthly+r.KeepWithinYearly == "" && len(r.KeepTag) == 0 {
		v.add(base, "no keep-* rule: an empty policy would forget every snapshot")
	}
	for key, n := range map[string]int{"keep-last": r.KeepLast, "keep-hourly": r.KeepHourly, "keep-daily": r.KeepDaily,
		"keep-weekly": r.KeepWeekly, "keep-monthly": r.KeepMonthly, "keep-yearly": r.KeepYearly} {
		if n < -1 {
			v.add(base+"."+key, "%d: want a count, or -1 for unlimited", n)
		}
	}
	for key, s := range map[string]string{"keep-within": r.KeepWithin, "keep-within-hourly": r.KeepWithinHourly,
		"keep-within-daily": r.KeepWithinDaily, "keep-within-weekly": r.KeepWithinWeekly,
		"keep-within-monthly": r.KeepWithinMonthly, "keep-within-yearly": r.KeepWithinYearly} {
		if _, err := retention.ParseDuration(s); err != nil {
			v.add(base+"."+key, "%v", err)
		}
	}
	if _, err := retention.ParseGroupBy(r.GroupBy); err != nil {
		v.add(base+".group-by", "%v", err)
	}
	if r.MaxUnused < 0 || r.MaxUnused > 100 {
		v.add(base+".max-unused", "%g: want a percentage 0-100", r.MaxUnused)
	}
	if r.MaxRepackSize != "" {
		if s, err := check.ParseSubset(r.MaxRepackSize); err != nil || s.Bytes == 0 {
			v.add(base+".max-repack-size", "%q: want a size such as 2G", r.MaxRepackSize)
		}
	}
}

func (v *validator) check(base string, c *Check) {
	if c.ReadData && c.ReadDataSubset != "" {
		v.add(base+".read-data-subset", "read-data and read-data-subset exclude each other")
	}
	if c.ReadDataSubset != "" {
		if _, err := check.ParseSubset(c.ReadDataSubset); err != nil {
			v.add(base+".read-data-subset", "%v", err)
		}
	}
	v.duration(base+".max-duration", c.MaxDuration)
	v.duration(base+".every", c.Every)
}

func (v *validator) duration(path, s string) {
	if _, err := ParseDuration(s); err != nil {
		v.add(path, "%v", err)
	}
}

func (v *validator) hooks(base string, h Hooks) {
	for key, val := range map[string]any{"before": h.Before, "after": h.After, "on-success": h.OnSuccess, "on-failure": h.OnFailure} {
		if _, ok := commandList(val); !ok {
			v.add(base+"."+key, "want a command string or an array of command strings")
		}
	}
	v.duration(base+".timeout", h.Timeout)
}

func (v *validator) metrics(base string, m *Metrics) {
	if m.File == "" && m.Pushgateway == "" {
		v.add(base, "set file or pushgateway")
	}
	if m.File != "" && !filepath.IsAbs(m.File) {
		v.add(base+".file", "%q is not absolute", m.File)
	}
	if m.Pushgateway != "" {
		v.httpURL(base+".pushgateway", m.Pushgateway)
	}
	v.duration(base+".timeout", m.Timeout)
}

var events = map[string]bool{"success": true, "warning": true, "failure": true}

func (v *validator) notify(base string, n Notify) {
	targets := 0
	for key, u := range map[string]string{"webhook": n.Webhook, "slack": n.Slack, "discord": n.Discord, "teams": n.Teams} {
		if u != "" {
			targets++
			v.httpURL(base+"."+key, u)
		}
	}
	if n.SMTP != "" {
		targets++
		if _, err := notify.ParseSMTP(n.SMTP); err != nil {
			v.add(base+".smtp", "%v", err)
		}
	}
	if targets != 1 {
		v.add(base, "want exactly one of webhook, slack, discord, teams, smtp (found %d)", targets)
	}
	for _, e := range n.On {
		if !events[e] {
			v.add(base+".on", "unknown event %q: want success, warning or failure", e)
		}
	}
	v.duration(base+".timeout", n.Timeout)
	if n.Retries != nil && (*n.Retries < 0 || *n.Retries > 10) {
		v.add(base+".retries", "%d: want 0 to 10", *n.Retries)
	}
}

func (v *validator) httpURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil {
		v.add(path, "%v", redactErr(err))
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, "want an http:// or https:// URL")
	}
}

// redactErr drops the URL from a url.Error: webhook URLs carry tokens.
func redactErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// commandList accepts a hook value: nothing, a string, or an array of
// strings.
func commandList(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
