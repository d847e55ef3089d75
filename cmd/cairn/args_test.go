package main

import (
	"io"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"cairn restore latest --target /t", "cairn restore --target /t latest"},
		{"cairn restore latest --target=/t -r R --verify", "cairn -r R restore --target=/t --verify latest"},
		{"cairn -r R backup /a --tag x /b -x", "cairn -r R backup --tag x -x /a /b"},
		{"cairn key remove abc --json", "cairn --json key remove abc"},
		{"cairn backup --tag x -- /a --weird", "cairn backup --tag x -- /a --weird"},
		{"cairn snapshots", "cairn snapshots"},
	} {
		got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
