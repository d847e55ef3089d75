package fs

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// Tree blobs are JSON, whose strings are UTF-8: encoding/json silently
// replaces every invalid byte with U+FFFD, so a name such as "caf\xe9"
// (Latin-1) would come back as another name, and two such names could even
// collide. Until the tree format can carry raw bytes, such a name is stored
// escaped, each invalid byte as the four characters \xNN, and the node is
// marked with an error: the content is kept and restorable, under a name
// that says what the original was.

// errInvalidUTF8 is wrapped by the errors recorded for such names.
var errInvalidUTF8 = fmt.Errorf("not valid UTF-8: stored with \\xNN escapes")

// escapeInvalid returns s with every byte that is not part of valid UTF-8
// written as \xNN.
func escapeInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// nameProblem returns the error for an entry whose name cannot be stored
// as is, or nil.
func nameProblem(p, name string) error {
	if utf8.ValidString(name) {
		return nil
	}
	return &os.PathError{Op: "store name", Path: p, Err: errInvalidUTF8}
}
