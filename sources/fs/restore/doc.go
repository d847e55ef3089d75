// Package restore recreates a snapshot's files on a local file system and
// streams single files or directory trees (as tar) out of a snapshot.
//
// It sees the repository only through the small Loader interface, so it can
// be driven by the real repository, by a test double, or by anything else
// that can hand out trees and verified blobs. The behaviour (overwrite
// modes, sparse files, metadata order, tar format) is described in
// docs/restore.md.
package restore
