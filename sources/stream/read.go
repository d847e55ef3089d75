package stream

import (
	"context"
	"fmt"
	"io"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// prefetch is how many chunks Copy loads ahead of the writer: enough to
// keep a restore target (psql, mariadb, redis) busy while blobs are
// decrypted, few enough to bound memory.
const prefetch = 4

// Find returns the single file node of a stream snapshot's root tree.
func Find(ctx context.Context, l Loader, root crypto.ID) (*tree.Node, error) {
	t, err := l.LoadTree(ctx, root)
	if err != nil {
		return nil, err
	}
	if len(t.Nodes) != 1 || t.Nodes[0].Type != tree.TypeFile {
		return nil, ErrNotStream
	}
	return t.Nodes[0], nil
}

// Copy writes the content of file node n to w in order, loading up to a
// few chunks ahead concurrently. It returns the bytes written; a damaged
// blob or a failing writer ends the copy with an error.
func Copy(ctx context.Context, l Loader, n *tree.Node, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type loaded struct {
		data []byte
		err  error
	}
	// Each chunk gets its own result channel, queued in order: the writer
	// takes them in sequence while up to prefetch loads run ahead.
	queue := make(chan chan loaded, prefetch)
	go func() {
		defer close(queue)
		for i, c := range n.Content {
			ch := make(chan loaded, 1)
			select {
			case queue <- ch:
			case <-ctx.Done():
				return
			}
			go func() {
				if c.IsHole() {
					ch <- loaded{data: make([]byte, c.Size)}
					return
				}
				data, err := l.LoadBlob(ctx, pack.DataBlob, c.ID, nil)
				if err == nil && uint64(len(data)) != c.Size {
					err = fmt.Errorf("blob %s has %d bytes, tree says %d", c.ID.Short(), len(data), c.Size)
				}
				if err != nil {
					err = fmt.Errorf("chunk %d: %w", i, err)
				}
				ch <- loaded{data: data, err: err}
			}()
		}
	}()
	var written int64
	for ch := range queue {
		var got loaded
		select {
		case got = <-ch:
		case <-ctx.Done():
			return written, ctx.Err()
		}
		if got.err != nil {
			return written, got.err
		}
		k, err := w.Write(got.data)
		written += int64(k)
		if err != nil {
			return written, fmt.Errorf("write: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return written, err
	}
	return written, nil
}

// Reader returns the stream's content as a reader, for feeding a restore
// command's standard input. Closing it stops the copy.
func Reader(ctx context.Context, l Loader, n *tree.Node) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		_, err := Copy(ctx, l, n, pw)
		pw.CloseWithError(err)
	}()
	return pr
}
