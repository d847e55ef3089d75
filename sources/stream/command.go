package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stderrTailSize is how much of a command's standard error is kept for
// error messages and snapshot metadata.
const stderrTailSize = 4096

// CommandOptions configure Command.
type CommandOptions struct {
	// Env is the command's environment; nil means the current process's.
	// Secrets (PGPASSWORD, …) go here or in files, never in argv.
	Env []string
	// Stderr receives the command's standard error as it is written (pass
	// through); nil discards it. The last 4 KiB are kept either way.
	Stderr io.Writer
	// Stdin is the command's standard input; nil means /dev/null.
	Stdin io.Reader
	// Dir is the working directory; empty means the current one.
	Dir string
}

// Status is how a command ended: recorded in snapshot metadata.
type Status struct {
	// Command is argv as run (it never holds a password).
	Command []string `json:"command"`
	// ExitCode is the exit status, -1 when killed by a signal.
	ExitCode int `json:"exit_code"`
	// Signal names the signal that killed the command, if any.
	Signal string `json:"signal,omitempty"`
	// StderrTail is the end of its standard error, at most 4 KiB.
	StderrTail string `json:"stderr_tail,omitempty"`
}

// ExitError reports a command that failed: non-zero exit or a signal.
type ExitError struct {
	Status
}

func (e *ExitError) Error() string {
	how := fmt.Sprintf("exit status %d", e.ExitCode)
	if e.Signal != "" {
		how = "killed by signal " + e.Signal
	}
	msg := fmt.Sprintf("command %s failed: %s", e.Command[0], how)
	if t := strings.TrimSpace(e.StderrTail); t != "" {
		msg += ": " + summary(t)
	}
	return msg
}

// Cmd is a running command whose standard output is read as a stream. Its
// Read returns the command's failure instead of io.EOF, so a failed dump
// fails Save. Close must be called; it kills the command if it still runs.
type Cmd struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	tail   *tailBuffer

	once   sync.Once
	err    error // result of wait, set once
	status Status
	final  error // sticky end of stream: io.EOF or the command's failure
}

// Command starts argv[0] with arguments argv[1:], without a shell. The
// command runs in its own process group so that Close can stop it and its
// children.
func Command(ctx context.Context, argv []string, opts CommandOptions) (*Cmd, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, ErrEmptyCommand
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = opts.Env
	cmd.Dir = opts.Dir
	cmd.Stdin = opts.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	// A grandchild holding stderr open must not hang Wait forever.
	cmd.WaitDelay = 5 * time.Second
	tail := &tailBuffer{max: stderrTailSize}
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(tail, opts.Stderr)
	} else {
		cmd.Stderr = tail
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("command %s: %w", argv[0], err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	c := &Cmd{cmd: cmd, stdout: stdout, tail: tail}
	c.status.Command = append([]string(nil), argv...)
	return c, nil
}

// Read reads the command's standard output. At its end it waits for the
// command and returns io.EOF only if the command exited with status 0.
func (c *Cmd) Read(p []byte) (int, error) {
	if c.final != nil {
		return 0, c.final
	}
	n, err := c.stdout.Read(p)
	if err != nil {
		// Wait closes the pipe, so the end is remembered: readers such as
		// the chunker may call Read again after io.EOF.
		c.final = err
		if werr := c.wait(); werr != nil {
			c.final = werr
		}
		return n, c.final
	}
	return n, nil
}

// Close stops the command if it still runs and waits for it. It returns
// the command's failure unless the stream was read to its end (then Read
// already reported it).
func (c *Cmd) Close() error {
	// Before Wait, ProcessState is nil: the command may still run (the
	// stream was abandoned), and killing its group is what stops it. A
	// command that already exited is an unreaped zombie, which the kill
	// cannot harm.
	if c.cmd.ProcessState == nil {
		_ = killGroup(c.cmd)
	}
	return c.wait()
}

// Status reports how the command ended; valid after Read returned an
// error or io.EOF, or after Close.
func (c *Cmd) Status() Status {
	_ = c.wait()
	return c.status
}

// Pid returns the command's process id.
func (c *Cmd) Pid() int { return c.cmd.Process.Pid }

func (c *Cmd) wait() error {
	c.once.Do(func() {
		err := c.cmd.Wait()
		c.status.StderrTail = c.tail.String()
		c.status.ExitCode = c.cmd.ProcessState.ExitCode()
		if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.status.Signal = ws.Signal().String()
		}
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) || c.status.ExitCode != 0 || c.status.Signal != "":
			c.err = &ExitError{Status: c.status}
		default:
			c.err = fmt.Errorf("command %s: %w", c.status.Command[0], err)
		}
	})
	return c.err
}

// killGroup kills the command's process group.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return cmd.Process.Kill()
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.ToValidUTF8(string(t.buf), "\uFFFD")
}

// summary picks what explains a failure from a stderr tail: the first
// line mentioning an error (dump tools print the cause first and the
// failing query after it), else the last line.
func summary(s string) string {
	lines := strings.Split(s, "\n")
	for _, l := range lines {
		ll := strings.ToLower(l)
		if strings.Contains(ll, "error") || strings.Contains(ll, "fatal") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
