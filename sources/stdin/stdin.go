// Package stdin is the standard-input source: `backup --stdin` stores
// whatever is piped in, `backup --stdin-from-command` the standard output
// of a command, whose exit status decides whether the snapshot is kept.
// The stream itself is stored by package stream.
package stdin

import (
	"context"
	"fmt"
	"io"

	"cairn/repo"
	"cairn/sources/stream"
)

// DefaultFilename names the stream in the snapshot when none is given.
const DefaultFilename = "stdin"

// Options configure a stdin backup.
type Options struct {
	// Filename is the stream's name in the snapshot (default "stdin"); it
	// must be a single path element.
	Filename string
	// Host overrides the recorded host name.
	Host string
	// Tags are added to the snapshot.
	Tags []string
	// Save configures chunking and workers.
	Save stream.SaveOptions
	// Stderr receives a command's standard error (pass-through).
	Stderr io.Writer
	// Env is a command's environment; nil means the current one.
	Env []string
}

// Source is the snapshot metadata of a --stdin-from-command backup.
type Source struct {
	// Command is how the command ran and ended.
	stream.Status
}

func (o Options) request() (stream.Request, error) {
	name := o.Filename
	if name == "" {
		name = DefaultFilename
	}
	if err := validName(name); err != nil {
		return stream.Request{}, err
	}
	return stream.Request{Kind: repo.KindStdin, Name: name, Host: o.Host, Tags: o.Tags, Save: o.Save}, nil
}

// Backup stores rd, read to its end, as a stdin snapshot.
func Backup(ctx context.Context, r stream.Repo, rd io.Reader, opts Options) (*repo.Snapshot, error) {
	req, err := opts.request()
	if err != nil {
		return nil, err
	}
	return stream.Backup(ctx, r, rd, req)
}

// BackupCommand runs argv (no shell) and stores its standard output. A
// command that exits non-zero or is killed by a signal leaves no snapshot
// and its *stream.ExitError is returned.
func BackupCommand(ctx context.Context, r stream.Repo, argv []string, opts Options) (*repo.Snapshot, error) {
	req, err := opts.request()
	if err != nil {
		return nil, err
	}
	cmd, err := stream.Command(ctx, argv, stream.CommandOptions{Stderr: opts.Stderr, Env: opts.Env})
	if err != nil {
		return nil, err
	}
	defer cmd.Close()
	req.Source = func() any { return Source{Status: cmd.Status()} }
	sn, err := stream.Backup(ctx, r, cmd, req)
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// validName rejects names that are not one path element.
func validName(name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("stdin filename %q: must be a single name without '/'", name)
		}
	}
	if name == "." || name == ".." {
		return fmt.Errorf("stdin filename %q: not a valid name", name)
	}
	return nil
}
