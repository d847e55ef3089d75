package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"cairn/repo/backend"
)

// Save uploads data in one PUT (multipart above minio-go's part size),
// which S3 makes visible atomically and only when complete.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("s3: save: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: save %v: %w", h, err)
	}
	_, err := b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{
			ContentType:  "application/octet-stream",
			StorageClass: b.cfg.StorageClass,
			// The server checks every byte arrived; a pack's own hash is
			// only checked when it is read back.
			SendContentMd5: true,
		})
	if err != nil {
		return fmt.Errorf("s3: save %v: %w", h, ctxErr(ctx, classify(err)))
	}
	return nil
}

// Load fetches the range with one GET and checks that the server answered
// with exactly that range before handing the body to fn.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("s3: load: %w", err)
	}
	if length < 0 || offset < 0 {
		return backend.Permanent(fmt.Errorf("s3: load %v: negative length %d or offset %d", h, length, offset))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: load %v: %w", h, err)
	}
	ranged := offset > 0 || length > 0
	var opts minio.GetObjectOptions
	if ranged {
		end := int64(0) // "bytes=offset-"
		if length > 0 {
			end = offset + int64(length) - 1
		}
		if err := opts.SetRange(offset, end); err != nil {
			return backend.Permanent(fmt.Errorf("s3: load %v: %w", h, err))
		}
	}
	body, _, hdr, err := b.core.GetObject(ctx, b.cfg.Bucket, b.key(h), opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			return b.loadUnsatisfiable(ctx, h, length, offset, fn)
		}
		return fmt.Errorf("s3: load %v: %w", h, ctxErr(ctx, classify(err)))
	}
	defer body.Close()
	// Without a range net/http already turns a body shorter than its
	// Content-Length into io.ErrUnexpectedEOF; with one, exactReader does.
	rd := io.Reader(body)
	if ranged {
		start, total, err := contentRange(hdr)
		if err != nil || start != offset {
			// A server may ignore Range and send the whole object; never
			// hand fn bytes from the wrong place.
			return fmt.Errorf("s3: load %v: server did not honour range %d+%d (Content-Range %q)",
				h, offset, length, hdr.Get("Content-Range"))
		}
		want := int64(length)
		if length == 0 {
			want = total - offset
		}
		if offset+want > total {
			return backend.Permanent(fmt.Errorf("s3: load %v: %d bytes at offset %d of a %d-byte object: %w",
				h, want, offset, total, io.ErrUnexpectedEOF))
		}
		rd = &exactReader{r: body, left: want}
	}
	if err := fn(backend.ContextReader(ctx, rd)); err != nil {
		return fmt.Errorf("s3: load %v: %w", h, ctxErr(ctx, err))
	}
	return nil
}

// loadUnsatisfiable handles a 416 answer: S3 sends it for a range starting
// at or past the end. Reading zero bytes at the very end is allowed (the
// contract says so, and pack readers do it); anything else is short.
func (b *Backend) loadUnsatisfiable(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	fi, err := b.Stat(ctx, h)
	if err != nil {
		return fmt.Errorf("s3: load %v: %w", h, err)
	}
	if length == 0 && offset == fi.Size {
		if err := fn(bytes.NewReader(nil)); err != nil {
			return fmt.Errorf("s3: load %v: %w", h, err)
		}
		return nil
	}
	return backend.Permanent(fmt.Errorf("s3: load %v: %d bytes at offset %d of a %d-byte object: %w",
		h, length, offset, fi.Size, io.ErrUnexpectedEOF))
}

// contentRange parses "bytes start-end/total".
func contentRange(hdr http.Header) (start, total int64, err error) {
	v, ok := strings.CutPrefix(hdr.Get("Content-Range"), "bytes ")
	if !ok {
		return 0, 0, errors.New("no byte Content-Range")
	}
	rng, tot, ok := strings.Cut(v, "/")
	s, _, ok2 := strings.Cut(rng, "-")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("malformed Content-Range %q", v)
	}
	if start, err = strconv.ParseInt(s, 10, 64); err != nil {
		return 0, 0, err
	}
	if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
		return 0, 0, err
	}
	return start, total, nil
}

// exactReader delivers exactly left bytes: a body that ends sooner is
// reported as io.ErrUnexpectedEOF (a dropped connection), and nothing past
// left is read.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		return n, fmt.Errorf("s3: body ended %d bytes early: %w", e.left, io.ErrUnexpectedEOF)
	case err == nil && e.left == 0:
		return n, io.EOF
	}
	return n, err
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.FileInfo{}, fmt.Errorf("s3: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return backend.FileInfo{}, fmt.Errorf("s3: stat %v: %w", h, err)
	}
	oi, err := b.client.StatObject(ctx, b.cfg.Bucket, b.key(h), minio.StatObjectOptions{})
	if err != nil {
		return backend.FileInfo{}, fmt.Errorf("s3: stat %v: %w", h, ctxErr(ctx, classify(err)))
	}
	name := h.Name
	if h.Type == backend.ConfigFile {
		name = string(backend.ConfigFile)
	}
	return backend.FileInfo{Name: name, Size: oi.Size}, nil
}

// Remove deletes h. S3 answers a DELETE of a missing key with success, so
// Remove asks first to report missing files as the contract requires.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if _, err := b.Stat(ctx, h); err != nil {
		return fmt.Errorf("s3: remove: %w", err)
	}
	if err := b.client.RemoveObject(ctx, b.cfg.Bucket, b.key(h), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3: remove %v: %w", h, ctxErr(ctx, classify(err)))
	}
	return nil
}

// List calls fn once per object of type t. Keys that do not fit the
// layout (a stray "dir/" marker, a pack outside its subdirectory) are
// skipped: they are not repository files.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := (backend.Handle{Type: t, Name: "xx"}).Valid(); err != nil {
		return fmt.Errorf("s3: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: list %s: %w", t, err)
	}
	if t == backend.ConfigFile {
		fi, err := b.Stat(ctx, backend.Handle{Type: t})
		if backend.IsNotExist(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("s3: list %s: %w", t, err)
		}
		return fn(fi)
	}
	// Cancelling lctx stops minio-go's listing goroutine when we return
	// early.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir := b.dirKey(t)
	for oi := range b.client.ListObjects(lctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("s3: list %s: %w", t, err)
		}
		if oi.Err != nil {
			return fmt.Errorf("s3: list %s: %w", t, ctxErr(ctx, classify(oi.Err)))
		}
		name, ok := nameOf(t, strings.TrimPrefix(oi.Key, dir))
		if !ok {
			continue
		}
		if err := fn(backend.FileInfo{Name: name, Size: oi.Size}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// nameOf returns the file name for a key relative to its type's prefix:
// "<name>", or "<first 2 chars>/<name>" for packs.
func nameOf(t backend.FileType, rel string) (string, bool) {
	name := rel
	if t == backend.PackFile {
		sub, n, ok := strings.Cut(rel, "/")
		if !ok || len(n) < 2 || n[:2] != sub {
			return "", false
		}
		name = n
	}
	if (backend.Handle{Type: t, Name: name}).Valid() != nil {
		return "", false
	}
	return name, true
}

// ctxErr prefers the context's error once ctx is done, so that callers
// (and Retry) see cancellation rather than the transport's wording of it.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
