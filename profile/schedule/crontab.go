package schedule

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Crontab is where cron entries live: a user's crontab (through the
// crontab command) or a file (a /etc/cron.d file, or a test's).
type Crontab interface {
	Read(ctx context.Context) (string, error)
	Write(ctx context.Context, content string) error
	String() string
}

// CrontabFile is a crontab kept in a file. Note that /etc/cron.d files
// need a user field; this writes the user crontab format.
type CrontabFile struct{ Path string }

// Read returns the file's content; a missing file is empty.
func (f CrontabFile) Read(context.Context) (string, error) {
	b, err := os.ReadFile(f.Path)
	if os.IsNotExist(err) {
		return "", nil
	}
	return string(b), err
}

// Write replaces the file atomically.
func (f CrontabFile) Write(_ context.Context, content string) error {
	tmp := f.Path + ".cairn-tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, f.Path)
}

func (f CrontabFile) String() string { return f.Path }

// UserCrontab is the invoking user's crontab, read with `crontab -l` and
// written with `crontab -`.
type UserCrontab struct{}

// Read runs crontab -l; "no crontab" is empty.
func (UserCrontab) Read(ctx context.Context) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "crontab", "-l")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if strings.Contains(errb.String(), "no crontab") {
			return "", nil
		}
		return "", fmt.Errorf("crontab -l: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Write runs crontab - with the new content.
func (UserCrontab) Write(ctx context.Context, content string) error {
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "crontab", "-")
	cmd.Stdin, cmd.Stderr = strings.NewReader(content), &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("crontab -: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return nil
}

func (UserCrontab) String() string { return "the user crontab" }

// marker precedes each entry this package writes.
const marker = "# cairn schedule: profile="

// CronLine is the crontab line for j. cron passes the command to sh and
// turns an unescaped % into a newline, so both are escaped.
func CronLine(j Job) string {
	argv := j.argv()
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = strings.ReplaceAll(shQuote(a), "%", `\%`)
	}
	return j.Cron + " " + strings.Join(q, " ")
}

// InstallCron adds j to the crontab, replacing an earlier entry for the
// same profile; other lines are kept as they are.
func InstallCron(ctx context.Context, ct Crontab, j Job) (string, error) {
	if err := j.validate(); err != nil {
		return "", err
	}
	old, err := ct.Read(ctx)
	if err != nil {
		return "", err
	}
	kept, _ := without(old, j.Profile)
	line := CronLine(j)
	if kept != "" && !strings.HasSuffix(kept, "\n") {
		kept += "\n"
	}
	return line, ct.Write(ctx, kept+marker+j.Profile+"\n"+line+"\n")
}

// RemoveCron removes the profile's entry; it reports whether there was one.
func RemoveCron(ctx context.Context, ct Crontab, profile string) (bool, error) {
	old, err := ct.Read(ctx)
	if err != nil {
		return false, err
	}
	kept, found := without(old, profile)
	if !found {
		return false, nil
	}
	return true, ct.Write(ctx, kept)
}

// Entry is an installed schedule.
type Entry struct {
	Profile string `json:"profile"`
	Kind    string `json:"kind"` // cron or systemd
	When    string `json:"when"`
	Where   string `json:"where"`
	Command string `json:"command,omitempty"`
}

// ListCron returns the entries this package installed in the crontab.
func ListCron(ctx context.Context, ct Crontab) ([]Entry, error) {
	content, err := ct.Read(ctx)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(content, "\n")
	var out []Entry
	for i := 0; i+1 < len(lines); i++ {
		if name, ok := strings.CutPrefix(lines[i], marker); ok {
			f := strings.Fields(lines[i+1])
			when := ""
			if len(f) > 0 && strings.HasPrefix(f[0], "@") {
				when = f[0]
			} else if len(f) >= 5 {
				when = strings.Join(f[:5], " ")
			}
			out = append(out, Entry{Profile: name, Kind: "cron", When: when, Where: ct.String(), Command: lines[i+1]})
		}
	}
	return out, nil
}

// without drops the profile's marker line and the entry line after it.
func without(content, profile string) (string, bool) {
	if content == "" {
		return "", false
	}
	lines := strings.SplitAfter(content, "\n")
	var b strings.Builder
	found := false
	for i := 0; i < len(lines); i++ {
		if strings.TrimRight(lines[i], "\n") == marker+profile {
			found = true
			i++ // and its entry
			continue
		}
		b.WriteString(lines[i])
	}
	return b.String(), found
}
