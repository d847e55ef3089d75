package profile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Outcome is how a command ended.
type Outcome struct {
	ExitCode int
	Stdout   []byte
	// Stderr holds the last lines of standard error, for error messages.
	Stderr string
	// Err is set when the command could not be started or was killed
	// (timeout, cancellation); ExitCode is then -1 or the signal's.
	Err error
}

// Commander runs a command; tests substitute a fake. Implementations must
// honour ctx and never return before the command has ended.
type Commander interface {
	Command(ctx context.Context, argv []string, env []string) Outcome
}

// Exec runs commands as child processes. Standard error is logged line by
// line as it comes (so a long step shows progress in the log) and its tail
// kept for the error message.
type Exec struct {
	Log *slog.Logger
	// KillDelay is how long a child may take to exit after SIGTERM when the
	// context ends, before it is killed: enough for cairn to drop its lock.
	KillDelay time.Duration
}

const stderrTailLines = 20

// Command runs argv with exactly env as its environment.
func (x Exec) Command(ctx context.Context, argv []string, env []string) Outcome {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = x.KillDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 30 * time.Second
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	tail := &tailLines{max: stderrTailLines}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			tail.add(line)
			if x.Log != nil && strings.TrimSpace(line) != "" {
				x.Log.Info(line, "command", argv[0])
			}
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	out := Outcome{Stdout: stdout.Bytes(), Stderr: tail.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		out.ExitCode = ee.ExitCode()
	default:
		out.ExitCode = -1
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		out.Err = err
	}
	return out
}

// tailLines keeps the last max lines written to it.
type tailLines struct {
	max   int
	mu    sync.Mutex
	lines []string
}

func (t *tailLines) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailLines) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// lastLine returns the last non-empty line of s, without cairn's "cairn: "
// prefix: the line that says what went wrong.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return strings.TrimPrefix(l, "cairn: ")
		}
	}
	return ""
}
