package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func sample(profile string) Run {
	t := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	return Run{Profile: profile, Host: "db1", Finished: t, LastSuccess: t, Success: true, Duration: 90 * time.Second,
		BytesRead: 1000, BytesAdded: 400, FilesNew: 3, FilesChanged: 2, FilesUnmodified: 10, Snapshots: 2, Removed: 1,
		RepoSnapshots: 14, RepoSize: 123456, CheckTime: t, CheckSuccess: true}
}

func parseFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the gauge with the given labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		match := true
		for k, v := range labels {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			match = match && found
		}
		if match {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

func TestWriteFileParsesAndMerges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "textfile", "cairn.prom")
	if err := WriteFile(path, sample("nightly")); err != nil {
		t.Fatal(err)
	}
	weekly := sample("weekly")
	weekly.Success, weekly.ExitCode, weekly.BytesAdded = false, 1, 7
	weekly.LastSuccess = time.Time{}
	weekly.RepoSize = -1
	if err := WriteFile(path, weekly); err != nil {
		t.Fatal(err)
	}
	// nightly again, with new numbers: its old samples are replaced.
	n2 := sample("nightly")
	n2.BytesAdded = 999
	if err := WriteFile(path, n2); err != nil {
		t.Fatal(err)
	}
	fams := parseFile(t, path)
	nightly := map[string]string{"profile": "nightly", "host": "db1"}
	if v := value(t, fams, "cairn_backup_bytes_added", nightly); v != 999 {
		t.Errorf("nightly bytes added %v", v)
	}
	if v := value(t, fams, "cairn_backup_bytes_added", map[string]string{"profile": "weekly"}); v != 7 {
		t.Errorf("weekly bytes added %v", v)
	}
	if n := len(fams["cairn_backup_bytes_added"].Metric); n != 2 {
		t.Errorf("%d bytes_added samples, want 2", n)
	}
	if v := value(t, fams, "cairn_run_success", map[string]string{"profile": "weekly"}); v != 0 {
		t.Errorf("weekly success %v", v)
	}
	if v := value(t, fams, "cairn_backup_files", map[string]string{"profile": "nightly", "state": "changed"}); v != 2 {
		t.Errorf("files changed %v", v)
	}
	if v := value(t, fams, "cairn_run_last_success_timestamp_seconds", nightly); v != float64(sample("").Finished.Unix()) {
		t.Errorf("last success %v", v)
	}
	if len(fams["cairn_repository_size_bytes"].Metric) != 1 {
		t.Error("unknown repository size was written")
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestConcurrentWritersKeepEveryProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.prom")
	var wg sync.WaitGroup
	names := []string{"a", "b", "c", "d", "e", "f"}
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := WriteFile(path, sample(n)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	fams := parseFile(t, path)
	if got := len(fams["cairn_run_success"].Metric); got != len(names) {
		t.Fatalf("%d profiles in file, want %d", got, len(names))
	}
}

func TestPush(t *testing.T) {
	var gotPath, gotBody, gotMethod string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotPath, gotBody, gotMethod = r.URL.Path, string(b), r.Method
	}))
	defer srv.Close()
	if err := Push(context.Background(), &http.Client{Timeout: time.Second}, srv.URL+"/", "", sample("nightly")); err != nil {
		t.Fatal(err)
	}
	if gotMethod != http.MethodPut || gotPath != "/metrics/job/cairn/profile/nightly/host/db1" {
		t.Fatalf("%s %s", gotMethod, gotPath)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(gotBody)); err != nil {
		t.Fatal(err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 400) }))
	defer bad.Close()
	if err := Push(context.Background(), &http.Client{Timeout: time.Second}, bad.URL, "cairn", sample("x")); err == nil {
		t.Fatal("400 accepted")
	}
}
