package metrics

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Run is what one profile run reports. Fields that were not measured in
// this run (no check was due, the repository could not be listed) are
// negative or zero-time and are left out.
type Run struct {
	Profile string
	Host    string

	Finished    time.Time
	LastSuccess time.Time // of this or an earlier run; zero: never
	Success     bool      // every backup saved (partial counts as saved)
	ExitCode    int
	Duration    time.Duration

	BytesRead       int64
	BytesAdded      int64
	FilesNew        int64
	FilesChanged    int64
	FilesUnmodified int64
	Errors          int64 // files that could not be read
	Snapshots       int   // snapshots saved by this run
	Removed         int   // snapshots forgotten by this run

	RepoSnapshots int   // snapshots in the repository; <0 unknown
	RepoSize      int64 // bytes of pack files in the repository; <0 unknown

	CheckTime    time.Time // last check; zero: never
	CheckSuccess bool
}

// family is one metric: its help, type and samples.
type family struct {
	name, help, typ string
	samples         []string // full sample lines
}

// families returns r's metrics, each with the labels profile and host.
func (r Run) families() []family {
	lbl := fmt.Sprintf(`profile="%s",host="%s"`, escape(r.Profile), escape(r.Host))
	g := func(name, help string, v float64) family {
		return family{name: name, help: help, typ: "gauge", samples: []string{fmt.Sprintf("%s{%s} %s", name, lbl, num(v))}}
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	fs := []family{
		g("cairn_run_last_timestamp_seconds", "End of the last run (Unix time).", unix(r.Finished)),
		g("cairn_run_success", "1 if the last run saved every backup, else 0.", b2f(r.Success)),
		g("cairn_run_exit_code", "Exit code of the last run.", float64(r.ExitCode)),
		g("cairn_run_duration_seconds", "Duration of the last run.", r.Duration.Seconds()),
		g("cairn_backup_bytes_read", "Bytes read from the sources by the last run.", float64(r.BytesRead)),
		g("cairn_backup_bytes_added", "Bytes added to the repository (compressed, encrypted) by the last run.", float64(r.BytesAdded)),
		{name: "cairn_backup_files", help: "Files seen by the last run, by state.", typ: "gauge", samples: []string{
			fmt.Sprintf(`cairn_backup_files{%s,state="new"} %d`, lbl, r.FilesNew),
			fmt.Sprintf(`cairn_backup_files{%s,state="changed"} %d`, lbl, r.FilesChanged),
			fmt.Sprintf(`cairn_backup_files{%s,state="unmodified"} %d`, lbl, r.FilesUnmodified),
		}},
		g("cairn_backup_errors", "Files the last run could not read.", float64(r.Errors)),
		g("cairn_backup_snapshots_saved", "Snapshots saved by the last run.", float64(r.Snapshots)),
		g("cairn_forget_snapshots_removed", "Snapshots removed by the retention policy in the last run.", float64(r.Removed)),
	}
	if !r.LastSuccess.IsZero() {
		fs = append(fs, g("cairn_run_last_success_timestamp_seconds", "End of the last run that saved every backup (Unix time).", unix(r.LastSuccess)))
	}
	if r.RepoSnapshots >= 0 {
		fs = append(fs, g("cairn_repository_snapshots", "Snapshots in the repository.", float64(r.RepoSnapshots)))
	}
	if r.RepoSize >= 0 {
		fs = append(fs, g("cairn_repository_size_bytes", "Bytes of pack files in the repository.", float64(r.RepoSize)))
	}
	if !r.CheckTime.IsZero() {
		fs = append(fs,
			g("cairn_check_last_timestamp_seconds", "End of the last repository check (Unix time).", unix(r.CheckTime)),
			g("cairn_check_success", "1 if the last repository check found no problem, else 0.", b2f(r.CheckSuccess)))
	}
	return fs
}

// Render writes r alone in the text exposition format.
func Render(w io.Writer, r Run) error {
	return render(w, r.families())
}

func render(w io.Writer, fs []family) error {
	sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
	var b strings.Builder
	for _, f := range fs {
		if len(f.samples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		for _, s := range f.samples {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// escape quotes a label value as the text format requires.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
