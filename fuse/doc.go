// Package fuse serves a repository's snapshots as a read-only FUSE file
// system (github.com/hanwen/go-fuse/v2), for browsing and restoring with
// ordinary tools.
//
// Layout of the mount:
//
//	snapshots/<time>/…        every snapshot, named by its local time
//	snapshots/latest          symlink to the newest one
//	ids/<short id>/…          every snapshot by id (first 8 hex digits)
//	hosts/<host>/<time>/…     snapshots per host, with hosts/<host>/latest
//	tags/<tag>/<time>/…       snapshots per tag, with tags/<tag>/latest
//	latest                    symlink to snapshots/<newest>
//
// The snapshot list is re-read on lookups and directory listings of the
// virtual directories, at most once per refresh interval, and snapshots
// are only loaded when the set of snapshot ids changed; so browsing is
// cheap and new backups appear without remounting.
//
// File reads are random-access and streaming: a read is mapped to the
// chunks it covers, only their blobs are fetched, through a bounded LRU
// cache shared by every open file; holes read as zeros without any fetch;
// sequential readers get the next chunks prefetched in the background.
// Nothing loads a whole file.
//
// The package sees the repository only through the Repository interface.
// Nothing in it panics on repository data: damaged trees or blobs surface
// as EIO on the operation that needed them, and are logged.
package fuse
