package stream

import (
	"context"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/tree"
)

// Saver is what Save needs of a repository: content ids and a blob store
// that reports whether a blob was new, so that every stream can count the
// bytes it added even when several streams share one repository session.
type Saver interface {
	// BlobID returns the repository's keyed id of a plaintext.
	BlobID(data []byte) crypto.ID
	// SaveBlobWithID stores data under id unless it is already stored and
	// reports whether it was new. It must be safe for concurrent use; the
	// caller does not touch data after the call.
	SaveBlobWithID(ctx context.Context, t pack.BlobType, id crypto.ID, data []byte) (bool, error)
}

// Repo is what Backup needs: Saver, plus trees, the parent lookup, Flush
// and the snapshot write.
type Repo interface {
	Saver
	// SaveTree encodes and stores a tree blob and returns its id.
	SaveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error)
	// FindParent returns the newest snapshot of host, kind and paths, or nil.
	FindParent(ctx context.Context, host, kind string, paths []string) (*repo.Snapshot, error)
	// Flush makes every blob saved so far durable (pack and index).
	Flush(ctx context.Context) error
	// SaveSnapshot writes the snapshot; it must be called after Flush.
	SaveSnapshot(ctx context.Context, sn *repo.Snapshot) (crypto.ID, error)
	// Stats returns the session's cumulative write counters.
	Stats() repo.SaveStats
}

// Loader is what reading a stream back needs.
type Loader interface {
	// LoadTree loads a tree blob.
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
	// LoadBlob returns the verified plaintext of a blob appended to dst[:0].
	LoadBlob(ctx context.Context, t pack.BlobType, id crypto.ID, dst []byte) ([]byte, error)
}

// Repository adapts a *repo.Repository to Repo and Loader: it adds BlobID,
// which the repository exposes through its key.
type Repository struct{ *repo.Repository }

// BlobID returns the keyed BLAKE3 id of data.
func (r Repository) BlobID(data []byte) crypto.ID { return r.Key().BlobID(data) }

var (
	_ Repo   = Repository{}
	_ Loader = Repository{}
)
