package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cairn/repo/backend"
)

// do sends one request with credentials.
func (b *Backend) do(ctx context.Context, method, u string, body []byte, hdr http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, backend.Permanent(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if b.cfg.Username != "" || b.cfg.Password != "" {
		req.SetBasicAuth(b.cfg.Username, b.cfg.Password)
	}
	return b.client.Do(req)
}

// statusError maps an HTTP status to the backend contract's errors.
func statusError(resp *http.Response, op string, h backend.Handle) error {
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusNotFound:
		return fmt.Errorf("rest: %s %v: %w", op, h, backend.ErrNotExist)
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("rest: %s %v: %s", op, h, resp.Status)
	default:
		return backend.Permanent(fmt.Errorf("rest: %s %v: %s", op, h, resp.Status))
	}
}

// begin checks the handle and the context.
func begin(ctx context.Context, op string, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rest: %s %v: %w", op, h, err)
	}
	return nil
}

// wrapErr names the operation on a transport error.
func wrapErr(ctx context.Context, op string, h backend.Handle, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("rest: %s %v: %w", op, h, ctx.Err())
	}
	return fmt.Errorf("rest: %s %v: %w", op, h, err)
}

// Save is one POST of the whole file; the server writes it atomically.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := begin(ctx, "save", h); err != nil {
		return err
	}
	resp, err := b.do(ctx, http.MethodPost, b.url(h), data, nil)
	if err != nil {
		return wrapErr(ctx, "save", h, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return statusError(resp, "save", h)
}

// Stat is one HEAD.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := begin(ctx, "stat", h); err != nil {
		return backend.FileInfo{}, err
	}
	resp, err := b.do(ctx, http.MethodHead, b.url(h), nil, nil)
	if err != nil {
		return backend.FileInfo{}, wrapErr(ctx, "stat", h, err)
	}
	resp.Body.Close()
	if err := statusError(resp, "stat", h); err != nil {
		return backend.FileInfo{}, err
	}
	if resp.ContentLength < 0 {
		return backend.FileInfo{}, fmt.Errorf("rest: stat %v: no Content-Length", h)
	}
	return backend.FileInfo{Name: h.Name, Size: resp.ContentLength}, nil
}

// Remove is one DELETE.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := begin(ctx, "remove", h); err != nil {
		return err
	}
	resp, err := b.do(ctx, http.MethodDelete, b.url(h), nil, nil)
	if err != nil {
		return wrapErr(ctx, "remove", h, err)
	}
	resp.Body.Close()
	return statusError(resp, "remove", h)
}

// Load reads a range, trying again (calling fn again, which the contract
// allows) when the body ends early: rclone serve restic sizes the answer
// from a stat taken before it opens the file, so a rewrite in between cuts
// the body short.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		err = b.load(ctx, h, length, offset, fn)
		if !errors.Is(err, io.ErrUnexpectedEOF) || backend.IsPermanent(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rest: load %v: %w", h, ctx.Err())
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
	return err
}

// load is one GET with a Range header. The answer must start at the
// requested offset and hold exactly the requested bytes; a server that
// ignored Range is an error, never wrong bytes for fn. 416 is told apart
// (empty read at the very end, or past the end) with a HEAD.
func (b *Backend) load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	if err := begin(ctx, "load", h); err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return backend.Permanent(fmt.Errorf("rest: load %v: negative offset or length", h))
	}
	hdr := http.Header{}
	if length > 0 {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+int64(length)-1))
	} else if offset > 0 {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := b.do(ctx, http.MethodGet, b.url(h), nil, hdr)
	if err != nil {
		return wrapErr(ctx, "load", h, err)
	}
	defer resp.Body.Close()
	ranged := hdr.Get("Range") != ""
	if ranged && (resp.StatusCode == http.StatusRequestedRangeNotSatisfiable ||
		resp.StatusCode == http.StatusNotFound || !rangeOK(resp, offset, length)) {
		// Servers answer ranges at or past the end in different ways
		// (416, 404, a malformed 206): the size decides.
		return b.outOfRange(ctx, h, length, offset, fn)
	}
	if err := statusError(resp, "load", h); err != nil {
		return err
	}
	rd := io.Reader(resp.Body)
	if length > 0 {
		rd = io.LimitReader(rd, int64(length))
	}
	if err := fn(backend.ContextReader(ctx, rd)); err != nil {
		return wrapErr(ctx, "load", h, err)
	}
	return nil
}

// rangeOK reports whether a 206 answer holds exactly the requested range.
func rangeOK(resp *http.Response, offset int64, length int) bool {
	if resp.StatusCode != http.StatusPartialContent {
		return false
	}
	s, ok := strings.CutPrefix(resp.Header.Get("Content-Range"), "bytes ")
	if !ok {
		return false
	}
	rng, total, _ := strings.Cut(s, "/")
	a, bs, _ := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(bs, 10, 64)
	if err1 != nil || err2 != nil || first != offset || last < first || resp.ContentLength != last-first+1 {
		return false
	}
	if length > 0 {
		return last == offset+int64(length)-1
	}
	size, err := strconv.ParseInt(total, 10, 64)
	return err == nil && last == size-1
}

// outOfRange settles a load whose range the server did not answer
// normally, by the file's size: an empty read at the very end, a short
// file, or a server that ignores Range.
func (b *Backend) outOfRange(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	fi, err := b.Stat(ctx, h)
	if err != nil {
		return err
	}
	switch {
	case length == 0 && offset == fi.Size:
		return fn(bytes.NewReader(nil))
	case offset+int64(length) > fi.Size:
		return backend.Permanent(fmt.Errorf("rest: load %v: range %d+%d past the end (%d bytes): %w", h, offset, length, fi.Size, io.ErrUnexpectedEOF))
	}
	return fmt.Errorf("rest: load %v: the server did not honour Range bytes=%d+%d", h, offset, length)
}

// List is one GET of the type's directory, as a v2 JSON listing.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if t == backend.ConfigFile {
		fi, err := b.Stat(ctx, backend.Handle{Type: t})
		if backend.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(backend.FileInfo{Name: "config", Size: fi.Size})
	}
	h := backend.Handle{Type: t}
	if err := (backend.Handle{Type: t, Name: "xx"}).Valid(); err != nil {
		return err // an unknown type
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rest: list %s: %w", t, err)
	}
	resp, err := b.do(ctx, http.MethodGet, b.url(h), nil, http.Header{"Accept": {v2}})
	if err != nil {
		return wrapErr(ctx, "list", h, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil // a type added after the repository was created
	}
	if err := statusError(resp, "list", h); err != nil {
		return err
	}
	var files []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&files); err != nil {
		return wrapErr(ctx, "list", h, fmt.Errorf("decode listing: %w", err))
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rest: list %s: %w", t, err)
		}
		if f.Name == "" || f.Name[0] == '.' {
			continue
		}
		if err := fn(backend.FileInfo{Name: f.Name, Size: f.Size}); err != nil {
			return err
		}
	}
	return nil
}
