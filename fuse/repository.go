package fuse

import (
	"context"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/tree"
)

// Repository is what the file system needs from a repository. It is
// satisfied by *repo.Repository; every method must be safe for concurrent
// use.
type Repository interface {
	// SnapshotIDs lists the ids of all snapshots: the cheap check that
	// runs on every refresh.
	SnapshotIDs(ctx context.Context) ([]crypto.ID, error)
	// LoadSnapshot loads one snapshot; called only for ids not seen yet.
	LoadSnapshot(ctx context.Context, id crypto.ID) (*repo.Snapshot, error)
	// LoadTree loads a directory. The tree may be shared: it is never
	// modified here.
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
	// LoadBlob loads a blob's verified plaintext, appending to dst[:0].
	LoadBlob(ctx context.Context, t pack.BlobType, id crypto.ID, dst []byte) ([]byte, error)
	// SyncIndex brings the local index up to date with the repository,
	// so that blobs written by other processes (a backup running beside
	// the mount) can be found.
	SyncIndex(ctx context.Context) error
}

var _ Repository = (*repo.Repository)(nil)
