package profile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is what a profile remembers between runs, kept as JSON in
// <state dir>/<profile>.json (by default the cache dir's profiles/).
type State struct {
	LastRun     time.Time `json:"last_run"`
	LastSuccess time.Time `json:"last_success"`
	LastCheck   time.Time `json:"last_check"`
	CheckOK     bool      `json:"check_ok"`
}

func statePath(dir, profile string) string { return filepath.Join(dir, profile+".json") }

// LoadState reads a profile's state; a missing file is the zero State.
func LoadState(dir, profile string) (State, error) {
	var st State
	b, err := os.ReadFile(statePath(dir, profile))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		// A damaged state file only makes the next check due early.
		return State{}, nil
	}
	return st, nil
}

// SaveState writes a profile's state atomically.
func SaveState(dir, profile string, st State) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+profile+"-*.tmp")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), statePath(dir, profile)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// checkDue reports whether a check should run now, and why (or why not).
// A check that failed last time is due again at once: the alarm stays on
// until a clean check turns it off.
func checkDue(c *Check, st State, now time.Time) (bool, string) {
	every, _ := ParseDuration(c.Every)
	switch {
	case every == 0:
		return true, "every run"
	case st.LastCheck.IsZero():
		return true, "never checked"
	case !st.CheckOK:
		return true, "last check found problems"
	case now.Sub(st.LastCheck) >= every:
		return true, fmt.Sprintf("last check %s ago", now.Sub(st.LastCheck).Round(time.Minute))
	}
	return false, fmt.Sprintf("last check %s ago, every %s", now.Sub(st.LastCheck).Round(time.Minute), every)
}
