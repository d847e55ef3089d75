package profile

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoProfile is returned when a profile name is not in the file.
var ErrNoProfile = errors.New("no such profile")

// ErrBeforeHook is wrapped by a run aborted by a failing before hook.
var ErrBeforeHook = errors.New("before hook failed")

// Problem is one mistake in a configuration file, with its position.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line"` // 1-based; 0 when no line is known
	Key  string `json:"key,omitempty"`
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ConfigError lists every problem found in a configuration file. Loading
// reports all of them at once so a user fixes the file in one pass.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s) in configuration:\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}
