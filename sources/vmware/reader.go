package vmware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/vim25/soap"

	"cairn/chunker"
)

// retryPolicy bounds the retries of one Range request.
type retryPolicy struct {
	Attempts int           // total tries, at least 1
	Backoff  time.Duration // first wait, doubled after each failure
}

var defaultRetry = retryPolicy{Attempts: 5, Backoff: 200 * time.Millisecond}

// dsReader reads a flat disk file from the datastore's /folder endpoint
// with HTTP Range requests. Bytes outside the known allocated areas read
// as zeros without a request. Safe for concurrent ReadAt.
type dsReader struct {
	ctx   context.Context
	sc    *soap.Client
	u     *url.URL
	size  int64
	alloc []chunker.Extent // sorted, disjoint; nil means all allocated
	retry retryPolicy
	// sem bounds the requests in flight for this disk.
	sem     chan struct{}
	fetched atomic.Int64
	reqs    atomic.Int64
}

func newDSReader(ctx context.Context, sc *soap.Client, u *url.URL, size int64, alloc []chunker.Extent,
	parallel int, retry retryPolicy) *dsReader {
	return &dsReader{ctx: ctx, sc: sc, u: u, size: size, alloc: alloc, retry: retry, sem: make(chan struct{}, max(parallel, 1))}
}

// ReadAt implements io.ReaderAt.
func (r *dsReader) ReadAt(p []byte, off int64) (int, error) {
	return readAtSized(p, off, r.size, func(p []byte, off int64) (int, error) {
		for done := 0; done < len(p); {
			pos := off + int64(done)
			n, hole := r.span(pos, int64(len(p)-done))
			buf := p[done : done+int(n)]
			if hole {
				clear(buf)
			} else if err := r.fetch(buf, pos); err != nil {
				return done, err
			}
			done += int(n)
		}
		return len(p), nil
	})
}

// readAtSized implements ReadAt for a source of size bytes: it clips p to
// the source, has fill fill all of it (or say how much it filled before
// failing), and reports io.EOF for a read that reaches past the end.
func readAtSized(p []byte, off, size int64, fill func(p []byte, off int64) (int, error)) (int, error) {
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if rem := size - off; int64(want) > rem {
		p = p[:rem]
	}
	if n, err := fill(p, off); err != nil {
		return n, err
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// span returns how many of the n bytes at pos are in one allocated area or
// one gap, and whether it is a gap.
func (r *dsReader) span(pos, n int64) (int64, bool) {
	if r.alloc == nil {
		return n, false
	}
	i := sort.Search(len(r.alloc), func(i int) bool { return r.alloc[i].Offset+r.alloc[i].Length > pos })
	if i == len(r.alloc) {
		return n, true
	}
	if a := r.alloc[i]; a.Offset <= pos {
		return min(n, a.Offset+a.Length-pos), false
	} else {
		return min(n, a.Offset-pos), true
	}
}

// errPermanent marks a failure that a retry cannot fix.
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// fetch fills p from offset off, retrying transient failures.
func (r *dsReader) fetch(p []byte, off int64) error {
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	defer func() { <-r.sem }()
	wait := r.retry.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		err = r.get(p, off)
		var perm errPermanent
		if err == nil || errors.As(err, &perm) || r.ctx.Err() != nil || attempt >= r.retry.Attempts {
			break
		}
		select {
		case <-time.After(wait):
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
		wait *= 2
	}
	if err != nil {
		if cerr := r.ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("read %s at %d: %w", r.u.Path, off, err)
	}
	return nil
}

// get does one Range request for len(p) bytes at off.
func (r *dsReader) get(p []byte, off int64) error {
	param := soap.DefaultDownload
	param.Headers = map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1)}
	r.reqs.Add(1)
	res, err := r.sc.DownloadRequest(r.ctx, r.u, &param)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusPartialContent:
	case res.StatusCode == http.StatusOK && off == 0:
		// A server that ignores Range sends the file from its start.
	case res.StatusCode == http.StatusRequestedRangeNotSatisfiable || res.StatusCode == http.StatusNotFound:
		return errPermanent{fmt.Errorf("HTTP %s", res.Status)}
	default:
		return fmt.Errorf("HTTP %s", res.Status)
	}
	n, err := io.ReadFull(res.Body, p)
	r.fetched.Add(int64(n))
	if err != nil {
		return fmt.Errorf("short body (%d of %d bytes): %w", n, len(p), err)
	}
	return nil
}

// getFile downloads a whole small file (a .vmx, .nvram or descriptor),
// refusing more than limit bytes. It returns os.ErrNotExist-wrapping
// errors for a 404.
func getFile(ctx context.Context, sc *soap.Client, u *url.URL, limit int64) ([]byte, error) {
	param := soap.DefaultDownload
	res, err := sc.DownloadRequest(ctx, u, &param)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%s: %w", u.Path, errNotFound)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: HTTP %s", u.Path, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u.Path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("get %s: larger than %d bytes", u.Path, limit)
	}
	return b, nil
}
