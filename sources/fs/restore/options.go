package restore

import (
	"context"
	"fmt"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// Loader is what restoring needs of a repository. It is defined here, by
// its consumer, so that restore depends on two methods rather than on the
// whole repository.
type Loader interface {
	// LoadTree loads and decodes the tree blob id. The returned tree may be
	// shared: restore never modifies it.
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
	// LoadBlob returns the verified plaintext of a blob appended to dst[:0];
	// a damaged blob gives an error naming the pack.
	LoadBlob(ctx context.Context, t pack.BlobType, id crypto.ID, dst []byte) ([]byte, error)
}

// Overwrite says what Restore does with an entry that already exists at a
// path it is about to create. The zero value, OverwriteAlways, is restic's
// default.
type Overwrite int

const (
	// OverwriteAlways replaces every existing entry.
	OverwriteAlways Overwrite = iota
	// OverwriteIfChanged replaces an existing entry whose type differs, a
	// regular file whose size or mtime differs, a symlink whose target
	// differs, or a device whose number differs.
	OverwriteIfChanged
	// OverwriteIfNewer replaces an existing entry when the snapshot's mtime
	// is newer than the entry's.
	OverwriteIfNewer
	// OverwriteNever keeps every existing entry as it is.
	OverwriteNever
)

// String returns the mode's name as the command line spells it.
func (o Overwrite) String() string {
	switch o {
	case OverwriteAlways:
		return "always"
	case OverwriteIfChanged:
		return "if-changed"
	case OverwriteIfNewer:
		return "if-newer"
	case OverwriteNever:
		return "never"
	}
	return fmt.Sprintf("Overwrite(%d)", int(o))
}

// ParseOverwrite parses a mode name as returned by Overwrite.String.
func ParseOverwrite(s string) (Overwrite, error) {
	for o := OverwriteAlways; o <= OverwriteNever; o++ {
		if o.String() == s {
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown overwrite mode %q (want always, if-changed, if-newer or never)", s)
}

// Options tune Restore. The zero value restores everything, overwrites
// existing entries, writes holes sparsely and uses one worker per CPU.
type Options struct {
	// Includes and Excludes are patterns on the snapshot path, e.g.
	// "/home/u/x/*.go". A pattern starting with "/" is anchored at the
	// snapshot root, any other pattern may match at any depth; each path
	// component is matched with path.Match, "**" matches any number of
	// components, and a pattern that matches a directory matches everything
	// below it. With Includes, an entry is restored when a pattern matches
	// it, and a directory when it or something below it is restored.
	// Excludes win over Includes.
	Includes, Excludes []string
	// Overwrite decides what happens to entries that already exist.
	Overwrite Overwrite
	// Verify re-reads every restored file at the end and compares it with
	// the snapshot's content; each mismatch is an error.
	Verify bool
	// NoSparse writes holes and all-zero blocks as zeros instead of leaving
	// them unallocated.
	NoSparse bool
	// Workers is the number of goroutines creating files and reading,
	// decoding and writing their contents (pack range by pack range); zero
	// means one per CPU.
	Workers int
	// Prewritten, when set, is asked for each regular file Restore is
	// about to create: a non-empty path names a file on the target's file
	// system that already holds the content (tape restore writes it as the
	// data streams by), which is renamed into place instead of writing the
	// content from the Loader. valid is how much of the content is there:
	// with a non-nil err the file is cut at valid and reported like a chunk
	// that could not be loaded. An empty path means: write it as usual.
	Prewritten func(n *tree.Node, dst string) (path string, valid int64, err error)
	// Progress, when set, is called after each restored entry. Calls are
	// serialized; the callback must not block for long.
	Progress func(Progress)
}

// Progress is a running count passed to Options.Progress.
type Progress struct {
	Files, Dirs, Bytes, Skipped, Errors int64
	// Path is the target path of the entry just finished.
	Path string
}

// Stats sums up a restore. Files counts every restored non-directory entry
// (regular files, hardlinks, symlinks, devices, fifos), Bytes the content
// size of the regular files written, Skipped the entries left alone because
// of Options.Overwrite and the sockets, which cannot be restored. Errors
// holds one *Error per problem, warnings included.
type Stats struct {
	Files, Dirs, Bytes, Skipped int64
	Errors                      []error
}
