package restore

import (
	"fmt"
	"path"
	"strings"
)

// pattern is one include or exclude pattern split into path components. An
// unanchored pattern starts with "**" so that it may match at any depth.
type pattern []string

func parsePatterns(list []string) ([]pattern, error) {
	out := make([]pattern, 0, len(list))
	for _, s := range list {
		var p pattern
		if !strings.HasPrefix(s, "/") {
			p = append(p, "**")
		}
		for _, c := range strings.Split(s, "/") {
			if c == "" {
				continue
			}
			// path.Match reports a malformed pattern only when it gets that
			// far, so check every component against itself up front.
			if _, err := path.Match(c, ""); err != nil {
				return nil, fmt.Errorf("pattern %q: %w", s, err)
			}
			p = append(p, c)
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("pattern %q matches nothing", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// matches reports whether pat matches the components p or one of its
// ancestors: excluding or including a directory covers what it contains.
func (pat pattern) matches(p []string) bool {
	if len(pat) == 0 {
		return true
	}
	if pat[0] == "**" {
		for i := 0; i <= len(p); i++ {
			if pat[1:].matches(p[i:]) {
				return true
			}
		}
		return false
	}
	if len(p) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], p[0]); !ok {
		return false
	}
	return pat[1:].matches(p[1:])
}

// mayMatchBelow reports whether pat could match p or something below p, so
// that a directory must be searched for included entries.
func (pat pattern) mayMatchBelow(p []string) bool {
	if len(p) == 0 || len(pat) == 0 || pat[0] == "**" {
		return true
	}
	if ok, _ := path.Match(pat[0], p[0]); !ok {
		return false
	}
	return pat[1:].mayMatchBelow(p[1:])
}

// matcher applies Options.Includes and Options.Excludes to snapshot paths
// given as components.
type matcher struct {
	includes, excludes []pattern
}

func newMatcher(includes, excludes []string) (*matcher, error) {
	inc, err := parsePatterns(includes)
	if err != nil {
		return nil, fmt.Errorf("include %w", err)
	}
	exc, err := parsePatterns(excludes)
	if err != nil {
		return nil, fmt.Errorf("exclude %w", err)
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

func (m *matcher) classify(p []string) selection {
	for _, pat := range m.excludes {
		if pat.matches(p) {
			return skip
		}
	}
	if len(m.includes) == 0 {
		return include
	}
	sel := skip
	for _, pat := range m.includes {
		if pat.matches(p) {
			return include
		}
		if pat.mayMatchBelow(p) {
			sel = search
		}
	}
	return sel
}
