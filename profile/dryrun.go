package profile

import (
	"fmt"
	"strings"

	"cairn/notify"
)

// Plan is what `cairn run --dry-run` shows: everything a run would do, in
// order, without doing any of it.
type Plan struct {
	Profile    string              `json:"profile"`
	Repository string              `json:"repository"`
	Hooks      map[string][]string `json:"hooks,omitempty"`
	Steps      []PlannedStep       `json:"steps"`
	Metrics    []string            `json:"metrics,omitempty"`
	Notify     []string            `json:"notify,omitempty"`
}

// PlannedStep is one command a run would start.
type PlannedStep struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	Note    string `json:"note,omitempty"`
}

// Plan describes the run of p without running anything. Whether the check
// is due is read from the state, as a run would.
func (r *Runner) Plan(p *Profile) (*Plan, error) {
	pl := &Plan{Profile: p.Name, Repository: r.Redact.Redact(p.Repository), Hooks: map[string][]string{}}
	for _, k := range []string{"before", "on-success", "on-failure", "after"} {
		if c := p.Hooks.Commands(k); len(c) > 0 {
			pl.Hooks[k] = c
		}
	}
	st, _ := LoadState(r.stateDir(p), p.Name)
	for _, s := range p.Steps() {
		ps := PlannedStep{Name: s.Name, Command: shellQuote(append(append([]string{"cairn"}, p.globalArgs()...), s.Args...))}
		if len(s.Env) > 0 {
			ps.Command = strings.Join(s.Env, " ") + " " + ps.Command
		}
		switch s.Kind {
		case StepForget:
			ps.Note = "skipped if a backup fails"
		case StepCheck:
			due, why := checkDue(p.Check, st, r.now())
			ps.Note = map[bool]string{true: "due: ", false: "not due: "}[due] + why
		}
		pl.Steps = append(pl.Steps, ps)
	}
	file := r.MetricsFile
	if p.Metrics != nil {
		if file == "" {
			file = p.Metrics.File
		}
		if p.Metrics.Pushgateway != "" {
			pl.Metrics = append(pl.Metrics, "push to "+r.Redact.Redact(p.Metrics.Pushgateway))
		}
	}
	if file != "" {
		pl.Metrics = append([]string{"write " + file}, pl.Metrics...)
	}
	targets, err := r.Targets(p)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		on := []string{}
		for _, k := range []string{"success", "warning", "failure"} {
			if t.Wants(notify.Kind(k)) {
				on = append(on, k)
			}
		}
		pl.Notify = append(pl.Notify, fmt.Sprintf("%s on %s", t.Sender, strings.Join(on, ", ")))
	}
	return pl, nil
}
