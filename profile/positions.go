package profile

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps a key path to the line that defines it. Paths are dotted
// ("profile.nightly.retention.keep-daily"); an array-of-tables element gets
// its index ("profile.nightly.notify[1].webhook"). The decoder does not
// expose positions for valid keys, so semantic checks look them up here.
type positions map[string]int

// scanPositions walks the document's expressions. It stops quietly at a
// syntax error: the decoder reports that one with its own position.
func scanPositions(doc []byte) positions {
	pos := positions{}
	counts := map[string]int{}
	var p unstable.Parser
	p.Reset(doc)
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		key, line := keyOf(&p, e)
		switch e.Kind {
		case unstable.Table:
			prefix = key
			pos.set(prefix, line)
		case unstable.ArrayTable:
			n := counts[key]
			counts[key]++
			prefix = fmt.Sprintf("%s[%d]", key, n)
			pos.set(key, line)
			pos.set(prefix, line)
		case unstable.KeyValue:
			pos.set(join(prefix, key), line)
		}
	}
	return pos
}

func (pos positions) set(path string, line int) {
	if _, ok := pos[path]; !ok {
		pos[path] = line
	}
}

// keyOf returns an expression's dotted key and the line it starts on.
func keyOf(p *unstable.Parser, e *unstable.Node) (string, int) {
	var parts []string
	line := 0
	it := e.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 && k.Raw.Length > 0 {
			line = p.Shape(k.Raw).Start.Line
		}
		parts = append(parts, string(k.Data))
	}
	return strings.Join(parts, "."), line
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// line returns the line of path, or of its nearest defined ancestor (keys
// inside inline tables, or a table implied by a deeper header).
func (pos positions) line(path string) int {
	for path != "" {
		if l, ok := pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
