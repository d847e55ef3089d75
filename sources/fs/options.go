package fs

import (
	"context"
	"time"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// Repo is what the archiver needs of a repository. It is defined here, by
// its consumer, so that the archiver can be tested with a double and never
// sees more of the repository than it uses.
type Repo interface {
	// SaveBlob stores data as a blob of type t unless already stored and
	// returns its id. It must be safe for concurrent use; it hashes,
	// dedups, compresses, encrypts and packs. The archiver does not touch
	// data after the call returns.
	SaveBlob(ctx context.Context, t pack.BlobType, data []byte) (crypto.ID, error)
	// BlobID returns the id SaveBlob would give data, storing nothing: a
	// changed file's data is compared with its parent's chunks by id.
	BlobID(data []byte) crypto.ID
	// SaveTree encodes and stores a tree blob and returns its id. It must
	// be safe for concurrent use.
	SaveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error)
	// LoadTree loads a tree blob, used to walk the parent snapshot.
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
}

// Options configure one Backup run.
type Options struct {
	// Chunker are the repository's chunking parameters.
	Chunker chunker.Params
	// Excludes are exclude patterns; see docs/source-fs.md for the syntax.
	Excludes []string
	// ExcludeFiles name files holding one exclude pattern per line; blank
	// lines and lines starting with '#' are ignored.
	ExcludeFiles []string
	// ExcludeCaches skips the contents of directories holding a valid
	// CACHEDIR.TAG, keeping the directory and the tag file.
	ExcludeCaches bool
	// OneFileSystem stops descent into directories on another file system
	// than the backup path they were reached from; the mount point itself
	// is kept, empty.
	OneFileSystem bool
	// ParentRoot is the root tree of the parent snapshot, or nil: files
	// unchanged since then reuse their content without being read.
	ParentRoot *crypto.ID
	// Workers bounds the files processed concurrently, and the goroutines
	// chunking one large file; 0 means runtime.NumCPU().
	Workers int
	// Progress, if set, is called about ten times a second, and once at
	// the end, always from the same goroutine.
	Progress func(Progress)

	// hooks lets the package's tests inject faults at points no real file
	// system reaches deterministically; nil in production.
	hooks *testHooks
	// largeFile is the data-region size from which a region is chunked by
	// chunker.Split with several workers; 0 means defaultLargeFile.
	largeFile int64
}

// testHooks are the fault-injection points used by the package's tests.
type testHooks struct {
	// beforeOpen runs before a regular file is opened for reading.
	beforeOpen func(path string)
}

// Progress is a snapshot of a running backup's counters.
type Progress struct {
	// FilesDone counts non-directory entries finished, DirsDone directories.
	FilesDone, DirsDone int64
	// BytesDone is the size of the regular files finished, read or reused.
	BytesDone int64
	// BytesRead is the file content read so far.
	BytesRead int64
	// TotalFiles and TotalBytes are the entries and regular-file bytes
	// found so far by a concurrent scan; they stop growing when ScanDone.
	TotalFiles, TotalBytes int64
	// ScanDone reports that the totals are final.
	ScanDone bool
	// Errors counts the errors recorded so far.
	Errors int
	// Elapsed is the time since the backup started.
	Elapsed time.Duration
}

// Stats summarise a finished backup. Files* count every non-directory
// node (regular files, symlinks, devices, fifos, sockets).
type Stats struct {
	// FilesNew had no node of the same name in the parent, FilesChanged had
	// one but were read again (or, for non-regular files, differ),
	// FilesUnmodified reused the parent's node content.
	FilesNew, FilesChanged, FilesUnmodified int64
	// DirsNew had no parent node; DirsUnmodified produced the parent's
	// subtree id; DirsChanged the rest.
	DirsNew, DirsChanged, DirsUnmodified int64
	// BytesRead is the file content actually read from disk.
	BytesRead int64
	// TotalFiles counts the non-directory nodes stored, TotalBytes the
	// sizes of the regular files among them.
	TotalFiles, TotalBytes int64
	// Errors are the problems that made the snapshot partial, each naming
	// its path (usually an *os.PathError).
	Errors []error
}

// Result is the outcome of a Backup.
type Result struct {
	// Root is the snapshot's root tree.
	Root crypto.ID
	// Stats are the run's counters.
	Stats Stats
	// Partial reports that some entries could not be read completely;
	// Stats.Errors says which.
	Partial bool
}
