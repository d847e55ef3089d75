package schedule

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestOnCalendar(t *testing.T) {
	for cron, want := range map[string]string{
		"0 2 * * *":       "*-*-* 02:00:00",
		"*/15 * * * *":    "*-*-* *:00/15:00",
		"30 2 * * 1-5":    "Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00",
		"0 3 1 * *":       "*-*-01 03:00:00",
		"0 4 * jan,jul 0": "Sun *-01,07-* 04:00:00",
		"5 0-6/2 * * *":   "*-*-* 00,02,04,06:05:00",
		"0 1 * * 7":       "Sun *-*-* 01:00:00",
		"@daily":          "daily",
	} {
		got, err := OnCalendar(cron)
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", cron, got, err, want)
			continue
		}
		if sa, err := exec.LookPath("systemd-analyze"); err == nil {
			if out, err := exec.Command(sa, "calendar", got).CombinedOutput(); err != nil {
				t.Errorf("systemd-analyze calendar %q: %v\n%s", got, err, out)
			}
		}
	}
	for _, bad := range []string{"0 2 * *", "60 * * * *", "* 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 8", "5-1 * * * *", "*/0 * * * *", "@often", "0 0 1 * 1", "@reboot"} {
		if _, err := OnCalendar(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ValidateCron("@reboot"); err != nil {
		t.Errorf("cron accepts @reboot: %v", err)
	}
}

func TestCronLineQuoting(t *testing.T) {
	j := Job{Profile: "p", Cron: "0 2 * * *", Binary: "/usr/bin/cairn", Config: "/etc/my cairn/100%.toml"}
	got := CronLine(j)
	want := `0 2 * * * /usr/bin/cairn --quiet run --config '/etc/my cairn/100\%.toml' p`
	if got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	svc, _, err := Units(j)
	if err != nil || !strings.Contains(svc, `ExecStart=/usr/bin/cairn --quiet run --config "/etc/my cairn/100%%.toml" p`) {
		t.Fatalf("%v\n%s", err, svc)
	}
}

func TestInstallRemoveKeepsOtherLines(t *testing.T) {
	ct := CrontabFile{Path: filepath.Join(t.TempDir(), "crontab")}
	ctx := context.Background()
	orig := "# cairn schedule: profile=p2\n0 1 * * * /x\nSHELL=/bin/sh\n"
	ct.Write(ctx, orig)
	j := Job{Profile: "p", Cron: "0 2 * * *", Binary: "/usr/bin/cairn", Config: "/etc/c.toml"}
	if _, err := InstallCron(ctx, ct, j); err != nil {
		t.Fatal(err)
	}
	if ok, err := RemoveCron(ctx, ct, "p"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	got, _ := ct.Read(ctx)
	if got != orig {
		t.Fatalf("%q", got)
	}
	if _, err := InstallCron(ctx, ct, Job{Profile: "a b", Cron: "0 2 * * *", Binary: "/b", Config: "/c"}); err == nil {
		t.Fatal("bad profile name accepted")
	}
}
