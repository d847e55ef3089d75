package backend

import (
	"context"
	"io"
	"sync/atomic"
)

// Counts is a snapshot of the requests a Counting wrapper has seen.
type Counts struct {
	Saves, Loads, Stats, Lists, Removes int64 // calls per method
	Errors                              int64 // calls that returned an error
	BytesSaved                          int64 // bytes passed to Save
	BytesLoaded                         int64 // bytes read by Load callbacks
	Listed                              int64 // FileInfos delivered by List
}

// Requests returns the total number of calls.
func (c Counts) Requests() int64 { return c.Saves + c.Loads + c.Stats + c.Lists + c.Removes }

// Counting counts requests and bytes per method, for reports ("N requests,
// M bytes uploaded") and for tests that bound request counts. Stacked
// directly above the real backend it sees every retry as a request.
type Counting struct {
	Backend
	saves, loads, stats, lists, removes atomic.Int64
	errors                              atomic.Int64
	bytesSaved, bytesLoaded, listed     atomic.Int64
}

var _ Backend = (*Counting)(nil)

// NewCounting wraps be.
func NewCounting(be Backend) *Counting { return &Counting{Backend: be} }

// Counts returns the counts so far.
func (c *Counting) Counts() Counts {
	return Counts{
		Saves: c.saves.Load(), Loads: c.loads.Load(), Stats: c.stats.Load(),
		Lists: c.lists.Load(), Removes: c.removes.Load(), Errors: c.errors.Load(),
		BytesSaved: c.bytesSaved.Load(), BytesLoaded: c.bytesLoaded.Load(), Listed: c.listed.Load(),
	}
}

// count records err and passes it on.
func (c *Counting) count(err error) error {
	if err != nil {
		c.errors.Add(1)
	}
	return err
}

// Save counts one request and len(data) bytes.
func (c *Counting) Save(ctx context.Context, h Handle, data []byte) error {
	c.saves.Add(1)
	c.bytesSaved.Add(int64(len(data)))
	return c.count(c.Backend.Save(ctx, h, data))
}

// Load counts one request and the bytes fn reads.
func (c *Counting) Load(ctx context.Context, h Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	c.loads.Add(1)
	return c.count(c.Backend.Load(ctx, h, length, offset, func(rd io.Reader) error {
		return fn(&countingReader{r: rd, n: &c.bytesLoaded})
	}))
}

// Stat counts one request.
func (c *Counting) Stat(ctx context.Context, h Handle) (FileInfo, error) {
	c.stats.Add(1)
	fi, err := c.Backend.Stat(ctx, h)
	return fi, c.count(err)
}

// List counts one request and every file delivered.
func (c *Counting) List(ctx context.Context, t FileType, fn func(FileInfo) error) error {
	c.lists.Add(1)
	return c.count(c.Backend.List(ctx, t, func(fi FileInfo) error {
		c.listed.Add(1)
		return fn(fi)
	}))
}

// Remove counts one request.
func (c *Counting) Remove(ctx context.Context, h Handle) error {
	c.removes.Add(1)
	return c.count(c.Backend.Remove(ctx, h))
}

// countingReader adds the bytes read to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n.Add(int64(n))
	return n, err
}
