package fuse

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
)

// fileNode is a regular file. Its content is the node's chunk list; a
// read maps its range to chunks by their sizes, so no index lookup is
// needed to find which blobs to fetch.
type fileNode struct {
	gofs.Inode
	entry

	once   sync.Once
	starts []uint64 // starts[i]: offset of chunk i; starts[len(Content)]: size
}

var (
	_ gofs.NodeOpener  = (*fileNode)(nil)
	_ gofs.NodeLseeker = (*fileNode)(nil)
)

// offsets returns the chunk start offsets, computed on first use.
func (f *fileNode) offsets() []uint64 {
	f.once.Do(func() {
		s := make([]uint64, len(f.node.Content)+1)
		for i, c := range f.node.Content {
			s[i+1] = s[i] + c.Size
		}
		f.starts = s
	})
	return f.starts
}

// chunkAt returns the index of the chunk holding byte off (< size).
func (f *fileNode) chunkAt(off uint64) int {
	s := f.offsets()
	return sort.Search(len(s)-1, func(i int) bool { return s[i+1] > off })
}

// Open refuses writing: snapshots are read only. The kernel may keep
// the file's pages cached across opens, since the content never changes.
func (f *fileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	return &handle{f: f}, gofuse.FOPEN_KEEP_CACHE, 0
}

// handle is an open file; it remembers where the last read ended, to
// recognise sequential reading, and how far ahead to fetch.
type handle struct {
	f      *fileNode
	mu     sync.Mutex
	next   int   // chunk after the last read's last chunk
	window int64 // read-ahead bytes; grows while reads stay sequential
}

var _ gofs.FileReader = (*handle)(nil)

// Read fills dest from offset off.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (gofuse.ReadResult, syscall.Errno) {
	if off < 0 {
		return nil, syscall.EINVAL
	}
	f := h.f
	size := f.offsets()[len(f.node.Content)]
	if uint64(off) >= size || len(dest) == 0 {
		return gofuse.ReadResultData(nil), 0
	}
	end := min(uint64(off)+uint64(len(dest)), size)
	first, last := f.chunkAt(uint64(off)), f.chunkAt(end-1)
	h.readAhead(first, last)
	n, err := f.readChunks(dest[:end-uint64(off)], uint64(off), first)
	if err != nil {
		f.fsys.logf("read %s at %d: %v", f.node.Name, off+int64(n), err)
		if n == 0 {
			return nil, syscall.EIO
		}
	}
	return gofuse.ReadResultData(dest[:n]), 0
}

// readAhead prefetches the chunks after last when the read continues
// the previous one. Like the kernel's page cache read-ahead, the window
// starts small and doubles with every sequential read up to ReadAhead,
// so a random reader whose large reads the kernel splits in pieces does
// not pull in the full window each time. The kernel may deliver a
// sequential reader's requests slightly out of order, hence the slack
// of one chunk either way.
func (h *handle) readAhead(first, last int) {
	limit := h.f.fsys.opts.ReadAhead
	h.mu.Lock()
	seq := first >= h.next-1 && first <= h.next+1
	h.next = last + 1
	switch {
	case !seq || limit < 0:
		h.window = 0
	case h.window == 0:
		h.window = max(limit/8, 1)
	default:
		h.window = min(2*h.window, limit)
	}
	budget := h.window
	h.mu.Unlock()
	chunks := h.f.node.Content
	for i := last + 1; i < len(chunks) && budget > 0; i++ {
		c := chunks[i]
		budget -= int64(c.Size)
		if !c.IsHole() {
			h.f.fsys.blobs.prefetch(c.ID, int(c.Size))
		}
	}
}

// readChunks copies the bytes at off into dest, starting with chunk i.
// Holes are zeros, never fetched. It returns how many bytes it copied.
func (f *fileNode) readChunks(dest []byte, off uint64, i int) (int, error) {
	starts, chunks := f.offsets(), f.node.Content
	n := 0
	for n < len(dest) && i < len(chunks) {
		c := chunks[i]
		lo := off + uint64(n) - starts[i]
		m := int(min(c.Size-lo, uint64(len(dest)-n)))
		if c.IsHole() {
			clear(dest[n : n+m])
		} else {
			data, err := f.fsys.blobs.get(c.ID, int(c.Size))
			if err != nil {
				return n, err
			}
			copy(dest[n:n+m], data[lo:])
		}
		n += m
		i++
	}
	return n, nil
}

// Lseek finds data and holes (SEEK_DATA, SEEK_HOLE), so sparse-aware
// copies (cp, tar) skip the holes; the kernel handles the other whences.
func (f *fileNode) Lseek(ctx context.Context, fh gofs.FileHandle, off uint64, whence uint32) (uint64, syscall.Errno) {
	starts, chunks := f.offsets(), f.node.Content
	size := starts[len(chunks)]
	if whence != unix.SEEK_DATA && whence != unix.SEEK_HOLE {
		return 0, syscall.EINVAL
	}
	if off >= size {
		return 0, syscall.ENXIO
	}
	for i := f.chunkAt(off); i < len(chunks); i++ {
		if chunks[i].Size > 0 && chunks[i].IsHole() == (whence == unix.SEEK_HOLE) {
			return max(off, starts[i]), 0
		}
	}
	if whence == unix.SEEK_HOLE {
		return size, 0 // the implicit hole at the end of every file
	}
	return 0, syscall.ENXIO
}

// loadBlob fetches a data blob for the cache. A blob missing from the
// index may have been moved by a prune since the mount started: the
// index is synced and the load retried once.
func (fsys *FS) loadBlob(ctx context.Context, id crypto.ID, size int) ([]byte, error) {
	data, err := fsys.repo.LoadBlob(ctx, pack.DataBlob, id, make([]byte, 0, size))
	if repo.IsBlobNotFound(err) && fsys.syncAfterMiss() {
		data, err = fsys.repo.LoadBlob(ctx, pack.DataBlob, id, make([]byte, 0, size))
	}
	if err != nil {
		return nil, err
	}
	if len(data) != size {
		return nil, fmt.Errorf("blob %s has %d bytes, its tree says %d", id.Short(), len(data), size)
	}
	return data, nil
}
