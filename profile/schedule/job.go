package schedule

import (
	"fmt"
	"regexp"
	"strings"
)

// Job is one scheduled profile run.
type Job struct {
	Profile string // profile name: [A-Za-z0-9_-]+
	Cron    string // when, as a cron expression or @ macro
	Binary  string // absolute path of cairn
	Config  string // absolute path of the configuration file
	// Args are extra cairn global arguments placed before "run"
	// (e.g. --log-file FILE).
	Args []string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (j Job) validate() error {
	if !nameRE.MatchString(j.Profile) {
		return fmt.Errorf("profile name %q: only letters, digits, '-' and '_'", j.Profile)
	}
	if !strings.HasPrefix(j.Binary, "/") || !strings.HasPrefix(j.Config, "/") {
		return fmt.Errorf("binary and configuration need absolute paths (got %q, %q)", j.Binary, j.Config)
	}
	return ValidateCron(j.Cron)
}

// argv is the command the scheduler starts.
func (j Job) argv() []string {
	a := append([]string{j.Binary}, j.Args...)
	return append(a, "--quiet", "run", "--config", j.Config, j.Profile)
}

// shQuote quotes for sh: cron hands its command line to /bin/sh.
func shQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~%") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
