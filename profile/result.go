package profile

import (
	"time"

	"cairn/notify"
)

// BackupSummary is the summary object every `cairn backup --json` prints
// last (docs/commands.md).
type BackupSummary struct {
	MessageType     string  `json:"message_type"`
	SnapshotID      string  `json:"snapshot_id"`
	Partial         bool    `json:"partial"`
	FilesNew        int64   `json:"files_new"`
	FilesChanged    int64   `json:"files_changed"`
	FilesUnmodified int64   `json:"files_unmodified"`
	TotalFiles      int64   `json:"total_files"`
	TotalBytes      int64   `json:"total_bytes"`
	BytesRead       int64   `json:"bytes_read"`
	BytesAdded      int64   `json:"bytes_added"`
	BytesAddedRaw   int64   `json:"bytes_added_raw"`
	Errors          int64   `json:"errors"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// CheckReport is the part of `cairn check --json` a run reports.
type CheckReport struct {
	Snapshots int  `json:"snapshots"`
	Packs     int  `json:"packs"`
	PacksRead int  `json:"packs_read"`
	BytesRead int  `json:"bytes_read"`
	TimedOut  bool `json:"timed_out,omitempty"`
	Problems  []struct {
		Message string `json:"message"`
	} `json:"problems"`
}

// Step statuses.
const (
	StatusOK      = "ok"
	StatusPartial = "partial"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// StepResult is how one step or hook ended.
type StepResult struct {
	Name            string         `json:"name"`
	Kind            string         `json:"kind"` // backup, forget, check, hook
	Status          string         `json:"status"`
	ExitCode        int            `json:"exit_code"`
	DurationSeconds float64        `json:"duration_seconds"`
	Error           string         `json:"error,omitempty"`
	Note            string         `json:"note,omitempty"` // why skipped, why due
	Backup          *BackupSummary `json:"backup,omitempty"`
	Removed         int            `json:"snapshots_removed,omitempty"`
	Check           *CheckReport   `json:"check,omitempty"`
}

// Delivery is how one notification went.
type Delivery struct {
	Target   string `json:"target"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

// Result is the combined outcome of `cairn run`: printed as the run's JSON
// summary, passed to hooks, metrics and notifications.
type Result struct {
	MessageType      string            `json:"message_type"` // "run_summary"
	Profile          string            `json:"profile"`
	Host             string            `json:"host"`
	Repository       string            `json:"repository"`
	Status           notify.Kind       `json:"status"`
	ExitCode         int               `json:"exit_code"`
	Error            string            `json:"error,omitempty"`
	Started          time.Time         `json:"started"`
	Finished         time.Time         `json:"finished"`
	DurationSeconds  float64           `json:"duration_seconds"`
	Snapshots        []notify.Snapshot `json:"snapshots"`
	FilesNew         int64             `json:"files_new"`
	FilesChanged     int64             `json:"files_changed"`
	FilesUnmodified  int64             `json:"files_unmodified"`
	BytesRead        int64             `json:"bytes_read"`
	BytesAdded       int64             `json:"bytes_added"`
	Errors           int64             `json:"errors"`
	SnapshotsRemoved int               `json:"snapshots_removed"`
	Check            string            `json:"check"` // ok, failed, skipped, off
	Steps            []StepResult      `json:"steps"`
	Hooks            []StepResult      `json:"hooks,omitempty"`
	Notifications    []Delivery        `json:"notifications,omitempty"`
	MetricsError     string            `json:"metrics_error,omitempty"`
}

// event is the notification form of the result.
func (r *Result) event() notify.Event {
	ev := notify.Event{
		Version: 1, Kind: r.Status, Profile: r.Profile, Host: r.Host, Repository: r.Repository,
		ExitCode: r.ExitCode, Error: r.Error, Started: r.Started, Finished: r.Finished,
		DurationSeconds: r.DurationSeconds, Snapshots: r.Snapshots,
		FilesNew: r.FilesNew, FilesChanged: r.FilesChanged, FilesUnmodified: r.FilesUnmodified,
		BytesRead: r.BytesRead, BytesAdded: r.BytesAdded, Errors: r.Errors,
		SnapshotsRemoved: r.SnapshotsRemoved, Check: r.Check, Message: r.Message(),
	}
	if ev.Snapshots == nil {
		ev.Snapshots = []notify.Snapshot{}
	}
	for _, s := range append(append([]StepResult(nil), r.Steps...), r.Hooks...) {
		ev.Steps = append(ev.Steps, notify.StepResult{Name: s.Name, Status: s.Status, ExitCode: s.ExitCode, DurationSeconds: s.DurationSeconds, Error: s.Error})
	}
	return ev
}

// Message is the one-line human summary.
func (r *Result) Message() string {
	return messagef("%s@%s: %s — %d snapshot(s), %s added, %s read, %d removed, check %s, %.1fs",
		r.Profile, r.Host, r.Status, len(r.Snapshots), humanBytes(r.BytesAdded), humanBytes(r.BytesRead),
		r.SnapshotsRemoved, r.Check, r.DurationSeconds)
}
