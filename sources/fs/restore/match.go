package restore

import (
	"fmt"
	"path"
	"strings"
)

// pattern is one include or exclude pattern split into path components. An
// unanchored pattern starts with "**" so that it may match at any depth. The
// syntax is the archiver's (sources/fs), so that what was excluded from a
// backup and what is excluded from a restore read the same.
type pattern struct {
	comps   []string
	dirOnly bool // written with a trailing '/': matches directories only
}

func parsePatterns(list []string, what string) ([]pattern, error) {
	out := make([]pattern, 0, len(list))
	for _, raw := range list {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		p := pattern{dirOnly: strings.HasSuffix(s, "/") && s != "/"}
		if !strings.HasPrefix(s, "/") {
			p.comps = append(p.comps, "**")
		}
		for _, c := range strings.Split(s, "/") {
			if c == "" || c == "." {
				continue
			}
			if c == "**" && len(p.comps) > 0 && p.comps[len(p.comps)-1] == "**" {
				continue // "**/**" means the same as "**"
			}
			// path.Match reports a malformed pattern only when it gets that
			// far, so check every component up front.
			if _, err := path.Match(c, ""); err != nil {
				return nil, fmt.Errorf("%s pattern %q: %w", what, raw, err)
			}
			p.comps = append(p.comps, c)
		}
		if len(p.comps) == 0 {
			// "/" : including it means everything, excluding it nothing
			// useful.
			if what == "exclude" {
				return nil, fmt.Errorf("exclude pattern %q would exclude everything", raw)
			}
			p.comps = []string{"**"}
		}
		out = append(out, p)
	}
	return out, nil
}

// matches reports whether pat matches p or one of its ancestors: excluding
// or including a directory covers what it contains. isDir tells whether p
// itself is a directory, for patterns that match directories only.
func (pat pattern) matches(p []string, isDir bool) bool {
	for k := 1; k <= len(p); k++ {
		if matchComps(pat.comps, p[:k]) && (k < len(p) || isDir || !pat.dirOnly) {
			return true
		}
	}
	return false
}

// matchComps reports whether the pattern components match all of comps,
// "**" matching zero or more components and every other component matching
// one path component with path.Match.
func matchComps(pat, comps []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(comps); i++ {
				if matchComps(pat[1:], comps[i:]) {
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

// mayMatchBelow reports whether pat could match something below the
// directory p, so that it must be searched for included entries.
func (pat pattern) mayMatchBelow(p []string) bool {
	comps := pat.comps
	for ; len(p) > 0 && len(comps) > 0; p, comps = p[1:], comps[1:] {
		if comps[0] == "**" {
			return true
		}
		if ok, _ := path.Match(comps[0], p[0]); !ok {
			return false
		}
	}
	return len(comps) > 0
}

// matcher applies Options.Includes and Options.Excludes to snapshot paths
// given as components.
type matcher struct {
	includes, excludes []pattern
}

func newMatcher(includes, excludes []string) (*matcher, error) {
	inc, err := parsePatterns(includes, "include")
	if err != nil {
		return nil, err
	}
	exc, err := parsePatterns(excludes, "exclude")
	if err != nil {
		return nil, err
	}
	return &matcher{includes: inc, excludes: exc}, nil
}

// selection is what the matcher says about one path.
type selection int

const (
	skip    selection = iota // neither it nor anything below is restored
	search                   // a directory only searched for included entries
	include                  // restored (with everything below, unless excluded)
)

func (m *matcher) classify(p []string, isDir bool) selection {
	for _, pat := range m.excludes {
		if pat.matches(p, isDir) {
			return skip
		}
	}
	if len(m.includes) == 0 {
		return include
	}
	sel := skip
	for _, pat := range m.includes {
		if pat.matches(p, isDir) {
			return include
		}
		if isDir && pat.mayMatchBelow(p) {
			sel = search
		}
	}
	return sel
}
