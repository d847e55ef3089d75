// Package fs is the filesystem source: it archives directory trees into
// snapshot trees (repo/tree) through a narrow Repo interface.
//
// Backup walks the given paths in name order on one goroutine, which
// assembles the directory trees, while a bounded pool of workers stats,
// reads, chunks and saves the non-directory entries. A directory's tree blob
// is saved as soon as its last entry is done, so memory holds only the
// directories in progress and a bounded number of files in flight.
//
// What is recorded, the exclude syntax, the rule that lets a file reuse its
// content from the parent snapshot, and how hardlinks, sparse files and
// unreadable files are handled are described in docs/source-fs.md.
package fs
