// Command cairn is the command-line front end of the cairn backup tool.
// It parses flags, calls the library and prints; exit codes are mapped from
// errors in one place (exitCode).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
)

// Exit codes, documented in docs/commands.md.
const (
	exitOK          = 0
	exitError       = 1
	exitPartial     = 3
	exitNoRepo      = 10
	exitLockHeld    = 11
	exitWrongPasswd = 12
	exitInterrupted = 130
)

// exitErr carries an explicit exit code.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitErr) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// CAIRN_CPUPROFILE writes a pprof CPU profile (docs/performance.md).
	if p := os.Getenv("CAIRN_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	// CAIRN_MEMPROFILE=FILE writes a heap profile CAIRN_MEMPROFILE_AFTER
	// (default 3s) into the run, for finding what holds memory mid-backup.
	if p := os.Getenv("CAIRN_MEMPROFILE"); p != "" {
		after, err := time.ParseDuration(os.Getenv("CAIRN_MEMPROFILE_AFTER"))
		if err != nil {
			after = 3 * time.Second
		}
		time.AfterFunc(after, func() {
			if f, err := os.Create(p); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		})
	}
	// Most of the heap is large buffers (packs in flight, chunk segments)
	// whose collection is cheap: collect at 50% growth instead of 100% to
	// keep peak memory near what is live. GOGC overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	// A soft limit makes the collector and scavenger keep the resident
	// set near the live heap (60-90 MiB in an initial backup: the pack
	// being filled and those being stored, chunks being saved, the
	// chunkers' buffers, badger's memtable); it is not a cap, a larger live
	// heap just costs more GC. 100 MiB sat so close to that working set
	// that an initial backup collected ~1,200 times and, with the
	// scavenger returning pages that were faulted in again, spent a
	// quarter of its wall time on it; 160 MiB costs ~35 MiB more peak RSS
	// (docs/performance.md, "Soft memory limit"). GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
	// CAIRN_BLOCKPROFILE=FILE records where goroutines wait (pprof block
	// profile), for finding what keeps cores idle.
	blockProfile := os.Getenv("CAIRN_BLOCKPROFILE")
	if blockProfile != "" {
		runtime.SetBlockProfileRate(10000) // one sample per 10 µs blocked
	}
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	if blockProfile != "" {
		if f, err := os.Create(blockProfile); err == nil {
			pprof.Lookup("block").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(app, args))
	code := exitCode(ctx, err)
	if err != nil && code != exitPartial {
		var ee *exitErr
		if !(errors.As(err, &ee) && ee.err == nil) {
			fmt.Fprintf(stderr, "cairn: %v\n", err)
		}
	}
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(ctx context.Context, err error) int {
	var ee *exitErr
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, repo.ErrNoRepository):
		return exitNoRepo
	case errors.Is(err, repo.ErrLockHeld):
		return exitLockHeld
	case errors.Is(err, repo.ErrWrongPassword):
		return exitWrongPasswd
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitError
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:                 "cairn",
		Usage:                "deduplicating, encrypted backups of files, databases, streams, VM disks and tape",
		Version:              version,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		ExitErrHandler:       func(*cli.Context, error) {}, // run() reports errors
		Flags:                globalFlags(),
		Commands:             commands(),
	}
}

const version = "0.1.0-dev"

func commands() []*cli.Command {
	backup, restore := cmdBackup(), cmdRestore()
	// `backup vm|block` and `restore vm|block` are the documented names;
	// `backup-vm` etc. stay as aliases. A directory named vm or block is
	// backed up as ./vm.
	backup.Subcommands = append(backup.Subcommands, renamed(cmdBackupVM(), "vm"), renamed(cmdBackupBlock(), "block"))
	restore.Subcommands = append(restore.Subcommands, renamed(cmdRestoreVM(), "vm"), renamed(cmdRestoreBlock(), "block"))
	return []*cli.Command{
		cmdInit(), backup, cmdSnapshots(), cmdLs(), cmdFind(), cmdDiff(),
		cmdCat(), cmdDump(), restore, cmdTag(), cmdStats(), cmdUnlock(), cmdKey(), cmdCheck(), cmdForget(), cmdPrune(), cmdRepair(), cmdMount(), cmdTape(), cmdCopy(),
		cmdBackupVM(), cmdBackupBlock(), cmdRestoreVM(), cmdRestoreBlock(),
		cmdRun(), cmdConfig(), cmdSchedule(),
	}
}

func renamed(c *cli.Command, name string) *cli.Command {
	c.Aliases = append(c.Aliases, c.Name)
	c.Name = name
	return c
}
