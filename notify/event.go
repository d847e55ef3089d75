package notify

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what happened: the events a target subscribes to.
type Kind string

// The events.
const (
	Success Kind = "success" // everything worked
	Warning Kind = "warning" // the backups were saved, but something is off (partial snapshot, a failed after hook)
	Failure Kind = "failure" // a backup, forget, prune or check failed, or a before hook aborted the run
)

// Event is the report of one run: the JSON body of a generic webhook
// (docs/notifications.md documents every field) and the source of the
// text the other targets send.
type Event struct {
	Version          int          `json:"version"` // 1; bumped on incompatible changes
	Kind             Kind         `json:"event"`
	Profile          string       `json:"profile"`
	Host             string       `json:"host"`
	Repository       string       `json:"repository"`
	ExitCode         int          `json:"exit_code"`
	Error            string       `json:"error,omitempty"`
	Started          time.Time    `json:"started"`
	Finished         time.Time    `json:"finished"`
	DurationSeconds  float64      `json:"duration_seconds"`
	Snapshots        []Snapshot   `json:"snapshots"`
	FilesNew         int64        `json:"files_new"`
	FilesChanged     int64        `json:"files_changed"`
	FilesUnmodified  int64        `json:"files_unmodified"`
	BytesRead        int64        `json:"bytes_read"`
	BytesAdded       int64        `json:"bytes_added"`
	Errors           int64        `json:"errors"`
	SnapshotsRemoved int          `json:"snapshots_removed"`
	Check            string       `json:"check"` // ok, failed, skipped (not due), off
	Steps            []StepResult `json:"steps"`
	Message          string       `json:"message"` // one line for humans
}

// Snapshot is one snapshot the run saved.
type Snapshot struct {
	Source     string `json:"source"`
	SnapshotID string `json:"snapshot_id"`
	Partial    bool   `json:"partial,omitempty"`
}

// StepResult is how one step of the run ended.
type StepResult struct {
	Name            string  `json:"name"`
	Status          string  `json:"status"` // ok, partial, failed, skipped
	ExitCode        int     `json:"exit_code"`
	DurationSeconds float64 `json:"duration_seconds"`
	Error           string  `json:"error,omitempty"`
}

// Title is a short subject line: "cairn nightly@host: failure".
func (e Event) Title() string {
	return fmt.Sprintf("cairn %s@%s: %s", e.Profile, e.Host, e.Kind)
}

// Text is the plain-text body shared by chat and mail targets.
func (e Event) Text() string {
	var b strings.Builder
	b.WriteString(e.Message)
	b.WriteString("\n")
	if e.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", e.Error)
	}
	for _, s := range e.Steps {
		fmt.Fprintf(&b, "- %s: %s (%.1fs)", s.Name, s.Status, s.DurationSeconds)
		if s.Error != "" {
			fmt.Fprintf(&b, ": %s", s.Error)
		}
		b.WriteString("\n")
	}
	for _, s := range e.Snapshots {
		fmt.Fprintf(&b, "snapshot %s (%s)\n", short(s.SnapshotID), s.Source)
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
