package docker

import (
	"context"
	"sync"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/tree"
	"cairn/sources/stream"
)

// sharedRepo lets several streams share one repository session: Flush
// runs only when no stream is inside a blob save (between reserving a
// blob and adding it to a pack), so a flushed snapshot never references a
// blob another stream has reserved but not yet packed.
type sharedRepo struct {
	stream.Repo
	mu *sync.RWMutex
}

func (s sharedRepo) SaveBlobWithID(ctx context.Context, t pack.BlobType, id crypto.ID, data []byte) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Repo.SaveBlobWithID(ctx, t, id, data)
}

func (s sharedRepo) SaveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Repo.SaveTree(ctx, t)
}

func (s sharedRepo) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Repo.Flush(ctx)
}

// Result is the outcome of one container's backup in BackupAll.
type Result struct {
	Target   *Target
	Snapshot *repo.Snapshot
	Err      error
}

// BackupAll backs up targets with at most jobs dumps running at once
// (jobs < 1 means 1) and calls done for each as it finishes (calls are
// serialized). With more than one job the snapshots' BytesAdded counts
// what the whole session added while the dump ran, not that dump alone.
func BackupAll(ctx context.Context, c *Client, r stream.Repo, targets []*Target, jobs int, opts Options, done func(Result)) {
	if jobs < 1 {
		jobs = 1
	}
	shared := sharedRepo{Repo: r, mu: &sync.RWMutex{}}
	var (
		wg    sync.WaitGroup
		outMu sync.Mutex
	)
	sem := make(chan struct{}, jobs)
	for _, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sn, err := Backup(ctx, c, shared, t, opts)
			outMu.Lock()
			defer outMu.Unlock()
			done(Result{Target: t, Snapshot: sn, Err: err})
		}()
	}
	wg.Wait()
}
