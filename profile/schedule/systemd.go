package schedule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UnitName is the base name of a profile's units: cairn-PROFILE.
func UnitName(profile string) string { return "cairn-" + profile }

// Units returns the service and timer unit files for j.
func Units(j Job) (service, timer string, err error) {
	if err := j.validate(); err != nil {
		return "", "", err
	}
	cal, err := OnCalendar(j.Cron)
	if err != nil {
		return "", "", err
	}
	argv := j.argv()
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = systemdQuote(a)
	}
	service = fmt.Sprintf(`# Written by cairn schedule install; cairn schedule remove %[1]s deletes it.
[Unit]
Description=cairn backup profile %[1]s
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=%[2]s
Nice=10
IOSchedulingClass=idle
`, j.Profile, strings.Join(q, " "))
	timer = fmt.Sprintf(`# Written by cairn schedule install; cairn schedule remove %[1]s deletes it.
[Unit]
Description=cairn backup profile %[1]s (cron: %[2]s)

[Timer]
OnCalendar=%[3]s
Persistent=true
Unit=%[4]s.service

[Install]
WantedBy=timers.target
`, j.Profile, j.Cron, cal, UnitName(j.Profile))
	return service, timer, nil
}

// systemdQuote quotes an ExecStart argument; % starts a specifier and $ a
// variable in unit files, so both are doubled.
func systemdQuote(s string) string {
	s = strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// InstallSystemd writes the unit pair into dir and returns their paths.
func InstallSystemd(dir string, j Job) ([]string, error) {
	service, timer, err := Units(j)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, UnitName(j.Profile))
	paths := []string{base + ".service", base + ".timer"}
	for i, content := range []string{service, timer} {
		tmp := paths[i] + ".cairn-tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, paths[i]); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// RemoveSystemd deletes the profile's unit pair from dir, only if the
// files are ours (they carry the "Written by cairn" line). It returns the
// paths removed.
func RemoveSystemd(dir, profile string) ([]string, error) {
	var removed []string
	base := filepath.Join(dir, UnitName(profile))
	for _, p := range []string{base + ".timer", base + ".service"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, err
		}
		if !strings.HasPrefix(string(b), "# Written by cairn schedule install") {
			return removed, fmt.Errorf("%s was not written by cairn schedule install: left alone", p)
		}
		if err := os.Remove(p); err != nil {
			return removed, err
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// ListSystemd returns the timers this package installed in dir.
func ListSystemd(_ context.Context, dir string) ([]Entry, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "cairn-*.timer"))
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || !strings.HasPrefix(string(b), "# Written by cairn schedule install") {
			continue
		}
		e := Entry{Kind: "systemd", Where: m,
			Profile: strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "cairn-"), ".timer")}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "OnCalendar="); ok {
				e.When = v
			}
		}
		out = append(out, e)
	}
	return out, nil
}
