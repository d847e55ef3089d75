// Package stream stores one byte stream — standard input, a command's
// output, a database dump, later a disk image — in the repository as a
// snapshot whose root tree holds a single file node, and reads it back.
//
// Save chunks the stream with the repository's content-defined chunker on
// the calling goroutine and hands each chunk to a small pool of workers that
// hash, deduplicate and store it, so memory is bounded by the number of
// chunks in flight (about 2×Workers chunks of at most the chunker's maximum
// size) whatever the stream's length. A stream that ends in an error — a
// dump command that exits non-zero, is killed, or loses its server — makes
// Save, and so Backup, fail: no snapshot is written for it. Blobs already
// stored are kept and reused by the next run.
//
// Command runs a program with an argv array (never a shell) and gives its
// standard output as a reader whose final Read reports the program's exit
// status, in the manner of restic's fs_reader_command.
package stream
