package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// WriteFile writes r into the textfile at path, atomically: the new content
// goes to a temporary file in the same directory, is synced, and renamed
// over path, so the collector never reads half a file. Samples of other
// profiles already in the file are kept; r's profile's samples are
// replaced. A lock file (path + ".lock") serializes concurrent writers.
func WriteFile(path string, r Run) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	fs := r.families()
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("metrics: %w", err)
	}
	fs = merge(parse(old), fs, fmt.Sprintf(`profile="%s",`, escape(r.Profile)))
	var buf bytes.Buffer
	if err := render(&buf, fs); err != nil {
		return err
	}
	// node_exporter reads only *.prom: the temporary name must not end so.
	tmp, err := os.CreateTemp(dir, ".cairn-metrics-*.tmp")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("metrics: lock: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// parse reads a file this package wrote back into families. Lines it does
// not understand are dropped: the file is ours.
func parse(b []byte) []family {
	var out []family
	idx := map[string]int{}
	get := func(name string) *family {
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, family{name: name, typ: "gauge"})
		}
		return &out[i]
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(line[len("# HELP "):], " ")
			get(name).help = help
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(line[len("# TYPE "):], " ")
			get(name).typ = typ
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			name := line
			if i := strings.IndexAny(line, "{ "); i >= 0 {
				name = line[:i]
			}
			f := get(name)
			f.samples = append(f.samples, line)
		}
	}
	return out
}

// merge keeps the old samples that do not carry profileLabel and adds the
// new families' samples.
func merge(old, fresh []family, profileLabel string) []family {
	byName := map[string]*family{}
	var out []family
	for _, f := range old {
		kept := f.samples[:0:0]
		for _, s := range f.samples {
			if !strings.Contains(s, "{"+profileLabel) {
				kept = append(kept, s)
			}
		}
		f.samples = kept
		out = append(out, f)
	}
	for i := range out {
		byName[out[i].name] = &out[i]
	}
	for _, f := range fresh {
		if o, ok := byName[f.name]; ok {
			o.samples = append(o.samples, f.samples...)
			o.help, o.typ = f.help, f.typ
			continue
		}
		out = append(out, f)
		byName[f.name] = &out[len(out)-1]
	}
	return out
}
