package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"cairn/profile/schedule"
)

func scheduleFlags() []cli.Flag {
	return []cli.Flag{
		configFlag(),
		&cli.StringFlag{Name: "crontab-file", EnvVars: []string{"CAIRN_CRONTAB_FILE"}, Usage: "edit the crontab in `FILE` instead of the user's crontab (crontab -l / crontab -)"},
		&cli.StringFlag{Name: "unit-dir", EnvVars: []string{"CAIRN_SYSTEMD_UNIT_DIR"}, Usage: "write systemd units to `DIR` and do not call systemctl (default: /etc/systemd/system for root, ~/.config/systemd/user otherwise, enabled with systemctl)"},
	}
}

func crontabOf(c *cli.Context) schedule.Crontab {
	if f := c.String("crontab-file"); f != "" {
		return schedule.CrontabFile{Path: f}
	}
	return schedule.UserCrontab{}
}

// unitDir returns the unit directory and whether cairn manages it with
// systemctl (only the default directories are).
func unitDir(c *cli.Context) (string, []string) {
	if d := c.String("unit-dir"); d != "" {
		return d, nil
	}
	if os.Geteuid() == 0 {
		return "/etc/systemd/system", []string{}
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "systemd", "user"), []string{"--user"}
}

func cmdSchedule() *cli.Command {
	return &cli.Command{
		Name:  "schedule",
		Usage: "install, remove or list the periodic run of a profile (crontab or systemd timer)",
		Subcommands: []*cli.Command{
			{
				Name:      "install",
				Usage:     "run PROFILE on a schedule",
				ArgsUsage: "PROFILE",
				Flags: append(scheduleFlags(),
					&cli.StringFlag{Name: "cron", Required: true, Usage: "when, as a cron `EXPRESSION` (\"0 2 * * *\", @daily)"},
					&cli.StringFlag{Name: "scheduler", Value: "cron", Usage: "`cron` or `systemd` (a service and timer pair)"},
				),
				Action: scheduleInstall,
			},
			{
				Name:      "remove",
				Usage:     "remove PROFILE's schedule (crontab entry and systemd units written by install)",
				ArgsUsage: "PROFILE",
				Flags:     scheduleFlags(),
				Action:    scheduleRemove,
			},
			{
				Name:   "list",
				Usage:  "list schedules written by install",
				Flags:  scheduleFlags(),
				Action: scheduleList,
			},
		},
	}
}

func scheduleInstall(c *cli.Context) error {
	e := newEnv(c)
	if c.NArg() != 1 {
		return errors.New("schedule install needs one profile name")
	}
	cfg, err := loadConfig(c, e)
	if err != nil {
		return err
	}
	name := c.Args().First()
	if _, err := cfg.Profile(name); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfgPath, err := filepath.Abs(cfg.Path)
	if err != nil {
		return err
	}
	job := schedule.Job{Profile: name, Cron: c.String("cron"), Binary: self, Config: cfgPath}
	if f := c.String("log-file"); f != "" {
		abs, _ := filepath.Abs(f)
		job.Args = append(job.Args, "--log-file", abs)
	}
	switch c.String("scheduler") {
	case "cron":
		line, err := schedule.InstallCron(c.Context, crontabOf(c), job)
		if err != nil {
			return err
		}
		e.printf("installed in %s:\n%s\n", crontabOf(c), line)
	case "systemd":
		dir, sysctl := unitDir(c)
		paths, err := schedule.InstallSystemd(dir, job)
		if err != nil {
			return err
		}
		e.printf("wrote %s\n", strings.Join(paths, ", "))
		timer := schedule.UnitName(name) + ".timer"
		if sysctl == nil {
			e.printf("enable it with: systemctl daemon-reload && systemctl enable --now %s\n", timer)
			return nil
		}
		if err := systemctl(append(sysctl, "daemon-reload")...); err != nil {
			return err
		}
		if err := systemctl(append(sysctl, "enable", "--now", timer)...); err != nil {
			return err
		}
		e.printf("enabled %s\n", timer)
	default:
		return fmt.Errorf("--scheduler %q: want cron or systemd", c.String("scheduler"))
	}
	return nil
}

func systemctl(args ...string) error {
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func scheduleRemove(c *cli.Context) error {
	e := newEnv(c)
	if c.NArg() != 1 {
		return errors.New("schedule remove needs one profile name")
	}
	name := c.Args().First()
	removed := 0
	// Only look at the user crontab when there is a crontab command or a
	// file was named: a systemd-only host has neither.
	if _, lookErr := exec.LookPath("crontab"); lookErr == nil || c.String("crontab-file") != "" {
		ok, err := schedule.RemoveCron(c.Context, crontabOf(c), name)
		if err != nil {
			return err
		}
		if ok {
			removed++
			e.printf("removed the entry for %s from %s\n", name, crontabOf(c))
		}
	}
	dir, sysctl := unitDir(c)
	if sysctl != nil {
		if _, err := os.Stat(filepath.Join(dir, schedule.UnitName(name)+".timer")); err == nil {
			_ = systemctl(append(sysctl, "disable", "--now", schedule.UnitName(name)+".timer")...)
		}
	}
	paths, err := schedule.RemoveSystemd(dir, name)
	if err != nil {
		return err
	}
	if len(paths) > 0 {
		removed++
		e.printf("removed %s\n", strings.Join(paths, ", "))
		if sysctl != nil {
			_ = systemctl(append(sysctl, "daemon-reload")...)
		}
	}
	if removed == 0 {
		return fmt.Errorf("no schedule for profile %q found", name)
	}
	return nil
}

func scheduleList(c *cli.Context) error {
	e := newEnv(c)
	var all []schedule.Entry
	if _, lookErr := exec.LookPath("crontab"); lookErr == nil || c.String("crontab-file") != "" {
		ents, err := schedule.ListCron(c.Context, crontabOf(c))
		if err != nil {
			return err
		}
		all = append(all, ents...)
	}
	dir, _ := unitDir(c)
	ents, err := schedule.ListSystemd(c.Context, dir)
	if err != nil {
		return err
	}
	all = append(all, ents...)
	if e.json {
		if all == nil {
			all = []schedule.Entry{}
		}
		return e.printJSON(all)
	}
	for _, en := range all {
		e.printf("%-16s %-8s %-24s %s\n", en.Profile, en.Kind, en.When, en.Where)
	}
	return nil
}
