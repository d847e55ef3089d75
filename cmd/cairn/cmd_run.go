package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"cairn/profile"
)

func cmdRun() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run profiles from the configuration file: hooks, backups, forget/prune, check, metrics, notifications",
		ArgsUsage: "PROFILE...",
		Flags: []cli.Flag{
			configFlag(),
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would run, run nothing"},
			&cli.StringFlag{Name: "metrics-file", Usage: "write Prometheus metrics to `FILE` (instead of the profile's metrics.file)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("run needs a profile name")
			}
			cfg, err := loadConfig(c, e)
			if err != nil {
				return err
			}
			var profiles []*profile.Profile
			for _, name := range c.Args().Slice() {
				p, err := cfg.Profile(name)
				if err != nil {
					return err
				}
				profiles = append(profiles, p)
			}
			red := &profile.Redactor{}
			log, closeLog, err := runLogger(c, e, cfg.Global, red)
			if err != nil {
				return err
			}
			defer closeLog()
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the cairn binary: %w", err)
			}
			r := &profile.Runner{
				Binary: self, Cmd: profile.Exec{Log: log}, Log: log, Redact: red, Env: os.Environ(),
				CacheDir: firstNonEmpty(c.String("cache-dir"), cfg.Global.CacheDir), MetricsFile: c.String("metrics-file"),
			}
			if c.Bool("dry-run") {
				for _, p := range profiles {
					pl, err := r.Plan(p)
					if err != nil {
						return err
					}
					printRunPlan(e, pl)
				}
				return nil
			}
			code := exitOK
			for _, p := range profiles {
				res := r.Run(c.Context, p)
				printRunResult(e, res)
				if code == exitOK {
					code = res.ExitCode
				}
			}
			if code != exitOK {
				return &exitErr{code: code}
			}
			return nil
		},
	}
}

// runLogger logs to --log-file (or the config's log-file), else to stderr;
// on stderr --quiet keeps only warnings and errors.
func runLogger(c *cli.Context, e *env, g profile.Global, red *profile.Redactor) (*slog.Logger, func(), error) {
	levelName := firstNonEmpty(c.String("log-level"), g.LogLevel)
	level, err := profile.ParseLevel(levelName)
	if err != nil {
		return nil, nil, err
	}
	format := firstNonEmpty(c.String("log-format"), g.LogFormat, "text")
	var w io.Writer = e.stderr
	closeFn := func() {}
	if file := firstNonEmpty(c.String("log-file"), g.LogFile); file != "" {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	} else if e.quiet && levelName == "" {
		level = slog.LevelWarn
	}
	return profile.NewLogger(w, format, level, red), closeFn, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func printRunPlan(e *env, pl *profile.Plan) {
	if e.json {
		_ = e.printJSON(pl)
		return
	}
	e.printf("profile %s (repository %s) would run:\n", pl.Profile, pl.Repository)
	for _, h := range pl.Hooks["before"] {
		e.printf("  before hook: %s\n", h)
	}
	for _, s := range pl.Steps {
		e.printf("  %s: %s", s.Name, s.Command)
		if s.Note != "" {
			e.printf("  (%s)", s.Note)
		}
		e.printf("\n")
	}
	for _, k := range []string{"on-success", "on-failure", "after"} {
		for _, h := range pl.Hooks[k] {
			e.printf("  %s hook: %s\n", k, h)
		}
	}
	for _, m := range pl.Metrics {
		e.printf("  metrics: %s\n", m)
	}
	for _, n := range pl.Notify {
		e.printf("  notify: %s\n", n)
	}
	e.printf("dry run: nothing was run\n")
}

func printRunResult(e *env, res *profile.Result) {
	if e.json {
		_ = e.printJSON(res)
		return
	}
	e.printf("profile %s: %s (exit %d) in %.1fs\n", res.Profile, res.Status, res.ExitCode, res.DurationSeconds)
	for _, s := range append(append([]profile.StepResult(nil), res.Steps...), res.Hooks...) {
		detail := s.Note
		switch {
		case s.Backup != nil:
			b := s.Backup
			detail = fmt.Sprintf("snapshot %.8s: %d new, %d changed, %d unmodified files, %s added", b.SnapshotID, b.FilesNew, b.FilesChanged, b.FilesUnmodified, humanBytes(b.BytesAdded))
		case s.Kind == "forget" && s.Status == profile.StatusOK:
			detail = fmt.Sprintf("removed %d snapshots", s.Removed)
		}
		if s.Error != "" {
			detail = strings.TrimSpace(detail + " " + s.Error)
		}
		e.printf("  %-28s %-8s %s\n", s.Name, s.Status, detail)
	}
	for _, n := range res.Notifications {
		status := "sent"
		if n.Error != "" {
			status = "failed: " + n.Error
		}
		e.printf("  notify %s: %s\n", n.Target, status)
	}
	if res.MetricsError != "" {
		e.printf("  metrics: %s\n", res.MetricsError)
	}
	if res.Error != "" {
		fmt.Fprintf(e.stderr, "cairn: profile %s: %s\n", res.Profile, res.Error)
	}
}
