package profile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pelletier/go-toml/v2"
)

// DefaultPath is the configuration file used without --config:
// CAIRN_CONFIG, else cairn/cairn.toml in the XDG config dir.
func DefaultPath() string {
	if p := os.Getenv("CAIRN_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "/etc"
	}
	return filepath.Join(dir, "cairn", "cairn.toml")
}

// Load reads and validates a configuration file. A file with problems
// yields a *ConfigError naming every problem with its line; nothing in the
// file is used then.
func Load(path string) (*Config, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(path, doc)
}

// Parse is Load on a document already read; path names it in problems.
func Parse(path string, doc []byte) (*Config, error) {
	cfg := &Config{Path: path}
	var problems []Problem
	dec := toml.NewDecoder(bytes.NewReader(doc)).DisallowUnknownFields()
	err := dec.Decode(cfg)
	var strict *toml.StrictMissingError
	var derr *toml.DecodeError
	switch {
	case err == nil:
	case errors.As(err, &strict):
		// Unknown keys: every one is reported; the known ones were decoded,
		// so the semantic checks below still run.
		for _, e := range strict.Errors {
			row, _ := e.Position()
			problems = append(problems, Problem{File: path, Line: row, Key: keyString(e.Key()), Msg: "unknown key"})
		}
	case errors.As(err, &derr):
		row, _ := derr.Position()
		return nil, &ConfigError{Problems: []Problem{{File: path, Line: row, Key: keyString(derr.Key()), Msg: derr.Error()}}}
	default:
		return nil, &ConfigError{Problems: []Problem{{File: path, Msg: err.Error()}}}
	}
	v := validator{file: path, pos: scanPositions(doc)}
	v.config(cfg)
	problems = append(problems, v.problems...)
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &ConfigError{Problems: problems}
	}
	for name, p := range cfg.Profiles {
		p.Name = name
	}
	return cfg, nil
}

func keyString(k toml.Key) string {
	s := ""
	for i, part := range k {
		if i > 0 {
			s += "."
		}
		s += part
	}
	return s
}

// Profile returns the named profile.
func (c *Config) Profile(name string) (*Profile, error) {
	p, ok := c.Profiles[name]
	if !ok {
		return nil, fmt.Errorf("%q in %s: %w", name, c.Path, ErrNoProfile)
	}
	return p, nil
}

// Names returns the profile names, sorted.
func (c *Config) Names() []string {
	out := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
