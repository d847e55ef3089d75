package profile

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// ParseLevel parses a log level name; empty is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// Redactor replaces secrets in text: registered values (passwords read from
// files, webhook URLs with tokens) and any password in a URL's userinfo.
// It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

var userinfoPassword = regexp.MustCompile(`(://[^/:@\s]*):[^@/\s]+@`)

// Add registers secret values; empty ones are ignored.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
}

// Redact returns s with every secret replaced by "***".
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	r.mu.RUnlock()
	return userinfoPassword.ReplaceAllString(s, "$1:***@")
}

// NewLogger returns a logger writing text or JSON lines to w at level,
// redacting the message and every string or error attribute through red
// (ReplaceAttr sees the message too).
func NewLogger(w io.Writer, format string, level slog.Level, red *Redactor) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(red.Redact(a.Value.String()))
		case slog.KindAny:
			if err, ok := a.Value.Any().(error); ok {
				a.Value = slog.StringValue(red.Redact(err.Error()))
			}
		}
		return a
	}}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h)
}
