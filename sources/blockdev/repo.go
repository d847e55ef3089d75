package blockdev

import (
	"context"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// Saver is what SaveImage needs of a repository.
type Saver interface {
	// SaveBlob stores data as a blob of type t unless already stored and
	// returns its id. It must be safe for concurrent use and must not keep
	// data after it returns.
	SaveBlob(ctx context.Context, t pack.BlobType, data []byte) (crypto.ID, error)
}

// Repo is what Backup needs of a repository: saving blobs and the tree,
// and loading the parent's tree.
type Repo interface {
	Saver
	// SaveTree encodes and stores a tree blob and returns its id.
	SaveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error)
	// LoadTree loads a tree blob (the parent snapshot's root).
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
}

// Loader is what restoring needs of a repository.
type Loader interface {
	// LoadBlob loads, decrypts and checks blob id of type t, reusing dst's
	// storage when large enough. It must be safe for concurrent use.
	LoadBlob(ctx context.Context, t pack.BlobType, id crypto.ID, dst []byte) ([]byte, error)
	// LoadTree loads a tree blob.
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
}
