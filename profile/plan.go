package profile

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// StepKind says what a step does and how its JSON output is read.
type StepKind string

// The step kinds.
const (
	StepBackup StepKind = "backup"
	StepForget StepKind = "forget"
	StepCheck  StepKind = "check"
)

// Step is one cairn command of a run.
type Step struct {
	Kind StepKind `json:"kind"`
	Name string   `json:"name"` // "backup fs", "backup db app", "forget", "check"
	// Source names what a backup step saved, for summaries ("fs", "db app").
	Source string `json:"source,omitempty"`
	// Args follow the global flags: cairn --json [global] Args...
	Args []string `json:"args"`
	// Env is added to the run's environment for this step only (names and
	// values; values may be secrets' file names, never secrets).
	Env []string `json:"env,omitempty"`
}

// snapshotHost is the host name the profile's snapshots are recorded
// under, which forget filters on.
func (p *Profile) snapshotHost() string {
	if p.Host != "" {
		return p.Host
	}
	h, _ := os.Hostname()
	return h
}

// globalArgs are the cairn flags every step of the profile gets.
func (p *Profile) globalArgs() []string {
	args := []string{"--json"}
	for _, o := range p.Options {
		args = append(args, "-o", o)
	}
	return args
}

// Steps returns the profile's backup steps, then forget (with prune) when a
// retention policy is set, then check when one is configured. Whether the
// check is due is decided at run time.
func (p *Profile) Steps() []Step {
	var steps []Step
	if len(p.Paths) > 0 {
		args := []string{"backup"}
		for _, e := range p.Exclude {
			args = append(args, "--exclude", e)
		}
		for _, f := range p.ExcludeFile {
			args = append(args, "--exclude-file", f)
		}
		if p.ExcludeCaches {
			args = append(args, "--exclude-caches")
		}
		if p.OneFileSystem {
			args = append(args, "--one-file-system")
		}
		args = append(args, p.tagArgs()...)
		if p.Host != "" {
			args = append(args, "--host", p.Host)
		}
		args = append(args, p.Paths...) // absolute: never taken for flags
		steps = append(steps, Step{Kind: StepBackup, Name: "backup fs", Source: "fs", Args: args})
	}
	for _, d := range p.DB {
		steps = append(steps, p.dbStep(d))
	}
	for _, c := range p.Command {
		args := []string{"backup", "--stdin-from-command"}
		if c.Filename != "" {
			args = append(args, "--stdin-filename", c.Filename)
		}
		args = append(args, p.tagArgs()...)
		if p.Host != "" {
			args = append(args, "--host", p.Host)
		}
		args = append(append(args, "--"), c.Run...)
		src := "command " + c.Run[0]
		steps = append(steps, Step{Kind: StepBackup, Name: "backup " + src, Source: src, Args: args})
	}
	for _, s := range p.Source {
		// Passed as written: a subcommand's flags and a trailing command
		// after -- leave no safe place to add tags.
		args := append([]string{"backup"}, s.Args...)
		src := s.Args[0]
		steps = append(steps, Step{Kind: StepBackup, Name: "backup " + src, Source: src, Args: args})
	}
	if p.Retention != nil {
		steps = append(steps, Step{Kind: StepForget, Name: "forget", Args: p.forgetArgs()})
	}
	if p.Check != nil {
		args := []string{"check"}
		switch {
		case p.Check.ReadData:
			args = append(args, "--read-data")
		case p.Check.ReadDataSubset != "":
			args = append(args, "--read-data-subset", p.Check.ReadDataSubset)
		}
		if p.Check.MaxDuration != "" {
			d, _ := ParseDuration(p.Check.MaxDuration)
			args = append(args, "--max-duration", d.String())
		}
		steps = append(steps, Step{Kind: StepCheck, Name: "check", Args: args})
	}
	return steps
}

func (p *Profile) tagArgs() []string {
	var args []string
	for _, t := range p.Tags {
		args = append(args, "--tag", t)
	}
	return args
}

func (p *Profile) dbStep(d DBSource) Step {
	args := []string{"backup", "db"}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	engine := d.Engine
	if engine == "postgresql" {
		engine = "postgres"
	}
	add("--engine", engine)
	add("--url", d.URL)
	add("--host", d.Host)
	if d.Port != 0 {
		add("--port", strconv.Itoa(d.Port))
	}
	add("--user", d.User)
	add("--database", d.Database)
	if d.All {
		args = append(args, "--all")
	}
	add("--format", d.Format)
	add("--name", d.Name)
	add("--bin-dir", d.BinDir)
	add("--snapshot-host", p.Host)
	args = append(args, p.tagArgs()...)
	var env []string
	if d.PasswordFile != "" {
		env = append(env, "CAIRN_DB_PASSWORD_FILE="+d.PasswordFile)
	}
	what := d.Database
	switch {
	case d.All:
		what = "all"
	case what == "" && d.URL != "":
		what = "url"
	}
	src := fmt.Sprintf("db %s", strings.TrimSpace(engine+" "+what))
	return Step{Kind: StepBackup, Name: "backup " + src, Source: src, Args: args, Env: env}
}

func (p *Profile) forgetArgs() []string {
	r := p.Retention
	args := []string{"forget"}
	for _, k := range []struct {
		flag string
		n    int
	}{{"--keep-last", r.KeepLast}, {"--keep-hourly", r.KeepHourly}, {"--keep-daily", r.KeepDaily},
		{"--keep-weekly", r.KeepWeekly}, {"--keep-monthly", r.KeepMonthly}, {"--keep-yearly", r.KeepYearly}} {
		if k.n != 0 {
			args = append(args, k.flag, strconv.Itoa(k.n))
		}
	}
	for _, k := range []struct{ flag, v string }{{"--keep-within", r.KeepWithin}, {"--keep-within-hourly", r.KeepWithinHourly},
		{"--keep-within-daily", r.KeepWithinDaily}, {"--keep-within-weekly", r.KeepWithinWeekly},
		{"--keep-within-monthly", r.KeepWithinMonthly}, {"--keep-within-yearly", r.KeepWithinYearly}} {
		if k.v != "" {
			args = append(args, k.flag, k.v)
		}
	}
	for _, t := range r.KeepTag {
		args = append(args, "--keep-tag", t)
	}
	if r.GroupBy != "" {
		args = append(args, "--group-by", r.GroupBy)
	}
	// Only this profile's snapshots: its host and all of its tags.
	if !r.AllHosts {
		args = append(args, "--host", p.snapshotHost())
	}
	if len(p.Tags) > 0 {
		args = append(args, "--tag", strings.Join(p.Tags, ","))
	}
	if r.Prune == nil || *r.Prune {
		args = append(args, "--prune")
		if r.MaxUnused != 0 {
			args = append(args, "--max-unused", strconv.FormatFloat(r.MaxUnused, 'f', -1, 64))
		}
		if r.MaxRepackSize != "" {
			args = append(args, "--max-repack-size", r.MaxRepackSize)
		}
	}
	return args
}
