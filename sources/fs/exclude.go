package fs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strings"
)

// pattern is one compiled exclude pattern: its path components, "**"
// standing for any number of components. Relative patterns are stored with
// a leading "**" so that they match at any depth.
type pattern struct {
	raw     string
	comps   []string
	dirOnly bool // written with a trailing '/': matches directories only
}

// matcher decides which paths are excluded. It is immutable after
// construction and safe for concurrent use.
type matcher struct {
	pats []pattern
}

// newMatcher compiles patterns and the patterns read from files.
func newMatcher(patterns, files []string) (*matcher, error) {
	all := append([]string(nil), patterns...)
	for _, f := range files {
		ps, err := readExcludeFile(f)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	m := &matcher{}
	for _, raw := range all {
		p, ok, err := compilePattern(raw)
		if err != nil {
			return nil, err
		}
		if ok {
			m.pats = append(m.pats, p)
		}
	}
	return m, nil
}

// readExcludeFile returns the patterns of an exclude file: one per line,
// surrounding white space trimmed, blank lines and '#' comments skipped.
func readExcludeFile(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read exclude file: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read exclude file %s: %w", name, err)
	}
	return out, nil
}

// compilePattern parses one pattern; ok is false for an empty one.
func compilePattern(raw string) (pattern, bool, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return pattern{}, false, nil
	}
	p := pattern{raw: raw}
	if strings.HasSuffix(s, "/") && s != "/" {
		p.dirOnly = true
	}
	anchored := strings.HasPrefix(s, "/")
	s = path.Clean("/" + s)
	if s == "/" {
		return pattern{}, false, fmt.Errorf("exclude pattern %q would exclude everything", raw)
	}
	if !anchored {
		p.comps = append(p.comps, "**")
	}
	for _, c := range strings.Split(s[1:], "/") {
		if c == "**" && len(p.comps) > 0 && p.comps[len(p.comps)-1] == "**" {
			continue // "**/**" means the same as "**"
		}
		if _, err := path.Match(c, ""); err != nil {
			return pattern{}, false, fmt.Errorf("exclude pattern %q: %w", raw, err)
		}
		p.comps = append(p.comps, c)
	}
	return p, true, nil
}

// excluded reports whether the absolute, clean path p (of a directory if
// isDir) is matched by a pattern. Only matches ending at p's last component
// are tried: the walk checks every directory before entering it, so a match
// on an ancestor has already pruned p.
func (m *matcher) excluded(p string, isDir bool) bool {
	if m == nil || len(m.pats) == 0 || p == "/" {
		return false
	}
	comps := strings.Split(p[1:], "/")
	for i := range m.pats {
		if (isDir || !m.pats[i].dirOnly) && matchComps(m.pats[i].comps, comps) {
			return true
		}
	}
	return false
}

// excludedOrUnder reports whether p or one of its ancestors is excluded;
// used for the backup paths themselves, which the walk did not reach from
// their ancestors.
func (m *matcher) excludedOrUnder(p string, isDir bool) bool {
	if m == nil || len(m.pats) == 0 || p == "/" {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' && m.excluded(p[:i], true) {
			return true
		}
	}
	return m.excluded(p, isDir)
}

// matchComps reports whether the pattern components match all of comps,
// "**" matching zero or more components and every other component matching
// one path component with path.Match.
func matchComps(pat, comps []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(comps); i++ {
				if matchComps(rest, comps[i:]) {
					return true
				}
			}
			return false
		}
		if len(comps) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], comps[0]); !ok {
			return false
		}
		pat, comps = pat[1:], comps[1:]
	}
	return len(comps) == 0
}
