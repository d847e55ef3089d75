// Package chunker cuts byte streams into content-defined chunks exactly
// where restic's Rabin-fingerprint chunker cuts them (with a faster search
// of its own, rabin.go), and adds the two operations cairn needs
// on top of it: chunking one large range in parallel segments (Split) and
// re-chunking only the changed regions of a disk image against its parent's
// chunk list (Resync).
//
// Every function in this package produces exactly the boundaries that a
// single sequential Chunker would produce over the same bytes: parallelism
// and incremental re-sync are optimisations, never a different chunking.
// That is what lets identical data deduplicate across files, streams and
// disks, whichever path chunked it. docs/format-chunker.md explains why the
// re-join rules are exact.
package chunker
