package main

import (
	"fmt"
	"sync"
	"time"
)

// progress draws a one-line status on a terminal's stderr, at most 4 times
// a second; off a terminal it prints nothing, for cron.
type progress struct {
	e     *env
	verb  string
	start time.Time
	mu    sync.Mutex
	last  time.Time
	on    bool
}

func newProgress(e *env, verb string) *progress {
	return &progress{e: e, verb: verb, start: time.Now(), on: e.isTTY()}
}

func (p *progress) update(files, bytes, totalFiles, totalBytes int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(bytes) / max(el, 0.001)
	eta := ""
	if totalBytes > bytes && rate > 0 {
		eta = fmt.Sprintf(" ETA %s", time.Duration(float64(totalBytes-bytes)/rate*float64(time.Second)).Round(time.Second))
	}
	fmt.Fprintf(p.e.stderr, "\r\033[K[%s] %s: %d/%d files, %s/%s, %s/s%s", time.Duration(el*float64(time.Second)).Round(time.Second),
		p.verb, files, totalFiles, humanBytes(bytes), humanBytes(totalBytes), humanBytes(int64(rate)), eta)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.e.stderr, "\r\033[K")
	}
}
