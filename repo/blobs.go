package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/backend"
)

// SaveBlob stores data as a blob of type t unless a blob with the same id
// is already stored or pending, and returns its id. Safe for concurrent use:
// hashing and compression run in the caller's goroutine; a full pack is
// uploaded, and indexed, by the caller that filled it.
func (r *Repository) SaveBlob(ctx context.Context, t pack.BlobType, data []byte) (crypto.ID, error) {
	id := r.hashers.id(data)
	_, err := r.saveBlobWithID(ctx, t, id, data)
	return id, err
}

// BlobID returns the id SaveBlob gives data (a keyed BLAKE3 hash), without
// storing anything.
func (r *Repository) BlobID(data []byte) crypto.ID { return r.hashers.id(data) }

// SaveBlobWithID is SaveBlob for a caller that already computed the id; it
// reports whether the blob was new.
func (r *Repository) SaveBlobWithID(ctx context.Context, t pack.BlobType, id crypto.ID, data []byte) (bool, error) {
	return r.saveBlobWithID(ctx, t, id, data)
}

func (r *Repository) saveBlobWithID(ctx context.Context, t pack.BlobType, id crypto.ID, data []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := r.uploadError(); err != nil {
		return false, err
	}
	known, err := r.reserve(id, t)
	if err != nil || known {
		return false, err
	}
	buf := r.bufs.payload()
	payload, grown, compressed := pack.CompressBuffer(*buf, data)
	*buf = grown
	// AddPayload seals a copy into the pack: the buffer is free after it.
	defer r.bufs.payloads.Put(buf)

	r.mu.Lock()
	w := r.packers[t]
	var closed *pack.Writer
	// A blob that would take the pack past the pack size goes into the
	// next pack: the arena is made for the pack size, and outgrowing it
	// copies the whole pack into a new one (Seal's append).
	if w != nil && w.Count() > 0 && w.Size()+pack.BlobHeaderSize+len(payload)+crypto.Overhead > r.cfg.PackSize {
		closed = w
		w = nil
		delete(r.packers, t)
	}
	if w == nil {
		var arena []byte
		if t == pack.DataBlob { // tree packs fill slowly: let them grow
			arena = r.bufs.packBuffer(r.cfg.PackSize)
		}
		if w, err = pack.NewWriterBuffer(r.key, arena); err != nil {
			r.mu.Unlock()
			return false, errors.Join(fmt.Errorf("new pack: %w", err), r.uploadClosed(ctx, closed))
		}
		r.packers[t] = w
	}
	if err := w.AddPayload(t, id, payload, compressed, len(data)); err != nil {
		r.mu.Unlock()
		return false, errors.Join(fmt.Errorf("add blob %s: %w", id.Short(), err), r.uploadClosed(ctx, closed))
	}
	r.stats.BlobsNew++
	r.stats.BytesAddedRaw += int64(len(data))
	var full *pack.Writer
	if w.Size() >= r.cfg.PackSize {
		full = w
		delete(r.packers, t)
	}
	r.mu.Unlock()

	if err := r.uploadClosed(ctx, closed); err != nil {
		return true, err
	}
	if full != nil {
		if err := r.uploadAsync(ctx, full); err != nil {
			return true, err
		}
	}
	return true, nil
}

// uploadClosed uploads a pack closed before it would overflow (nil: none).
func (r *Repository) uploadClosed(ctx context.Context, w *pack.Writer) error {
	if w == nil {
		return nil
	}
	return r.uploadAsync(ctx, w)
}

// saveBuffers recycles the large buffers of the save path, which would
// otherwise be allocated (and zeroed) for every blob and every pack: the
// compressed payload of a blob being saved, and pack-sized buffers, which
// serve as pack writers' arenas and as the finished packs Finalize writes.
//
// Pack buffers are kept in a bounded free list, not a sync.Pool: a pool is
// emptied by every collection, and under the soft memory limit collections
// come often, so nearly every pack was allocated afresh — 17 MiB zeroed and
// faulted in from the kernel per pack, half of an initial backup's page
// faults (docs/performance.md, "Session 5").
type saveBuffers struct {
	payloads sync.Pool   // *[]byte
	packs    chan []byte // free pack-sized buffers, at most cap(packs)
}

// freePackBuffers bounds the free list: one buffer for the next arena and
// one for the next Finalize; more are only held while packs are in flight.
const freePackBuffers = 2

func newSaveBuffers() saveBuffers {
	return saveBuffers{packs: make(chan []byte, freePackBuffers)}
}

// payload returns a buffer for one blob's compressed form; the caller puts
// it back once the payload is sealed.
func (b *saveBuffers) payload() *[]byte {
	if p, ok := b.payloads.Get().(*[]byte); ok {
		return p
	}
	return new([]byte)
}

// arenaSlack is the room past the pack size that a pack buffer is made
// with: the trailer of a full pack goes there.
const arenaSlack = 1 << 20

// packBuffer returns an empty buffer for a pack of packSize bytes.
func (b *saveBuffers) packBuffer(packSize int) []byte {
	select {
	case buf := <-b.packs:
		if cap(buf) >= packSize+arenaSlack {
			return buf[:0]
		}
	default:
	}
	return make([]byte, 0, packSize+arenaSlack)
}

// putPackBuffer returns a buffer no longer used (an arena after Finalize,
// a pack after Save); it is dropped when the free list is full.
func (b *saveBuffers) putPackBuffer(buf []byte) {
	if cap(buf) == 0 {
		return
	}
	select {
	case b.packs <- buf[:0]:
	default:
	}
}

// uploadAsync hands a full pack to a background upload, waiting while
// Options.Uploaders uploads are already running: the caller goes back to
// chunking and compressing while the pack is stored, and memory stays
// bounded by the packs in flight.
func (r *Repository) uploadAsync(ctx context.Context, w *pack.Writer) error {
	if err := r.uploadError(); err != nil {
		return err
	}
	select {
	case r.uploadSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.uploads.Add(1)
	// The upload outlives the caller's context: callers are often stage
	// goroutines whose context ends when their stage does, and a pack half
	// stored is worth finishing (it is bounded: one pack).
	uctx := context.WithoutCancel(ctx)
	go func() {
		defer r.uploads.Done()
		defer func() { <-r.uploadSem }()
		if err := r.writePack(uctx, w); err != nil {
			r.mu.Lock()
			if r.uploadErr == nil {
				r.uploadErr = err
			}
			r.mu.Unlock()
		}
	}()
	return nil
}

func (r *Repository) uploadError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uploadErr
}

// reserve marks id as pending unless it is already stored or pending.
func (r *Repository) reserve(id crypto.ID, t pack.BlobType) (known bool, err error) {
	r.mu.Lock()
	if _, ok := r.pending[id]; ok {
		r.mu.Unlock()
		return true, nil
	}
	r.mu.Unlock()
	e, ok, err := r.cache.Lookup(id)
	if err != nil {
		return false, fmt.Errorf("index lookup %s: %w", id.Short(), err)
	}
	// A blob in a pack that prune will delete is stored again: this is
	// what lets prune delete such packs while backups run.
	if ok && e.Type == t && !r.Doomed(e.Pack) {
		return true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pending[id]; ok {
		return true, nil
	}
	r.pending[id] = t
	return false, nil
}

// writePack finalizes, uploads and indexes one pack. A pack is stored
// before the index file naming it, so an index never points at a pack
// that is not durable.
func (r *Repository) writePack(ctx context.Context, w *pack.Writer) error {
	data, id, salt, blobs, err := w.FinalizeInto(r.bufs.packBuffer(r.cfg.PackSize))
	if err != nil {
		return fmt.Errorf("finalize pack: %w", err)
	}
	r.bufs.putPackBuffer(w.Buffer())
	if err := r.be.Save(ctx, backend.Handle{Type: backend.PackFile, Name: id.String()}, data); err != nil {
		// Not recycled: an HTTP transport may still be reading a failed
		// request's body after Save returned.
		return fmt.Errorf("save pack %s: %w", id.Short(), err)
	}
	size := int64(len(data))
	// Backends do not keep data once Save has succeeded (backend.Backend).
	r.bufs.putPackBuffer(data)
	f := &index.File{Packs: []index.PackInfo{{ID: id, Salt: salt, Size: size, Blobs: blobs}}}
	if err := r.SaveIndex(ctx, f); err != nil {
		return err
	}
	r.mu.Lock()
	for _, b := range blobs {
		delete(r.pending, b.ID)
	}
	r.stats.BytesAdded += size
	r.stats.PacksWritten++
	r.mu.Unlock()
	return nil
}

// SaveIndex seals and stores an index file and adds it to the cache.
func (r *Repository) SaveIndex(ctx context.Context, f *index.File) error {
	sealed, err := f.Encode(r.fileAEAD)
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	fid := crypto.Hash(sealed)
	if err := r.be.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: fid.String()}, sealed); err != nil {
		return fmt.Errorf("save index %s: %w", fid.Short(), err)
	}
	if err := r.cache.Add(fid, f); err != nil {
		return fmt.Errorf("cache index %s: %w", fid.Short(), err)
	}
	return nil
}

// Flush uploads the partially filled packs. After Flush returns, every blob
// saved so far is in a durable pack and index file.
func (r *Repository) Flush(ctx context.Context) error {
	r.mu.Lock()
	var ws []*pack.Writer
	for t, w := range r.packers {
		if w.Count() > 0 {
			ws = append(ws, w)
		}
		delete(r.packers, t)
	}
	r.mu.Unlock()
	for _, w := range ws {
		if err := r.uploadAsync(ctx, w); err != nil {
			return err
		}
	}
	r.uploads.Wait()
	return r.uploadError()
}

// LookupBlob returns where a blob is stored.
func (r *Repository) LookupBlob(id crypto.ID) (index.Entry, bool, error) {
	return r.cache.Lookup(id)
}

// LoadBlob loads, verifies and decrypts a blob, appending its plaintext to
// dst[:0]. Errors name the blob and the pack.
func (r *Repository) LoadBlob(ctx context.Context, t pack.BlobType, id crypto.ID, dst []byte) ([]byte, error) {
	e, ok, err := r.cache.Lookup(id)
	if err != nil {
		return nil, fmt.Errorf("index lookup %s: %w", id.Short(), err)
	}
	if !ok {
		return nil, fmt.Errorf("load %s blob %s: %w", t, id, ErrBlobNotFound)
	}
	if e.Type != t {
		return nil, fmt.Errorf("load blob %s: stored as %s, wanted %s", id.Short(), e.Type, t)
	}
	return r.LoadEntry(ctx, e, dst)
}

// LoadEntry loads the blob at an index entry.
func (r *Repository) LoadEntry(ctx context.Context, e index.Entry, dst []byte) ([]byte, error) {
	aead, err := r.packAEAD(e.Pack)
	if err != nil {
		return nil, err
	}
	return r.loadEntry(ctx, e, aead, dst)
}

// LoadPackBlob loads the blob at e with the pack salt the caller read from
// an index file itself. Prune needs it: its plan walks the index files in
// the backend, which may name a pack a concurrent backup indexed after
// this handle's cache was last synced.
func (r *Repository) LoadPackBlob(ctx context.Context, e index.Entry, salt pack.Salt, dst []byte) ([]byte, error) {
	aead := r.packKeys.get(e.Pack)
	if aead == nil {
		aead = r.packKeys.put(e.Pack, salt)
	}
	return r.loadEntry(ctx, e, aead, dst)
}

func (r *Repository) loadEntry(ctx context.Context, e index.Entry, aead *crypto.AEAD, dst []byte) ([]byte, error) {
	raw, small, err := r.loadSmall(ctx, e)
	if err == nil && !small {
		raw, err = backend.LoadRange(ctx, r.be, backend.Handle{Type: backend.PackFile, Name: e.Pack.String()}, int64(e.Offset), int(e.Length))
	}
	if err != nil {
		return nil, fmt.Errorf("load blob %s from pack %s: %w", e.ID.Short(), e.Pack, err)
	}
	out, err := pack.DecodeBlob(r.key, aead, raw, pack.Blob{Type: e.Type, ID: e.ID, Offset: e.Offset, Length: e.Length, RawLength: e.RawLength}, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: %w", e.ID.Short(), e.Pack, err)
	}
	return out, nil
}

func (r *Repository) packAEAD(packID crypto.ID) (*crypto.AEAD, error) {
	if a := r.packKeys.get(packID); a != nil {
		return a, nil
	}
	salt, ok, err := r.cache.PackSalt(packID)
	if err != nil {
		return nil, fmt.Errorf("index lookup pack %s: %w", packID.Short(), err)
	}
	if !ok {
		return nil, fmt.Errorf("pack %s: %w", packID, ErrBlobNotFound)
	}
	return r.packKeys.put(packID, salt), nil
}

// IsBlobNotFound reports whether err means a blob is missing from the index.
func IsBlobNotFound(err error) bool { return errors.Is(err, ErrBlobNotFound) }

// BlobSize returns a blob's stored and plaintext size from the index.
func (r *Repository) BlobSize(id crypto.ID) (stored, raw int64, ok bool, err error) {
	e, ok, err := r.cache.Lookup(id)
	if err != nil || !ok {
		return 0, 0, ok, err
	}
	return int64(e.Length), int64(e.RawLength), true, nil
}

// SaveBlobCopy stores a blob again even though the index lists it, when
// its indexed copy is in pack from (being salvaged or repacked) — unless a
// copy in another pack is already known.
func (r *Repository) SaveBlobCopy(ctx context.Context, t pack.BlobType, id crypto.ID, data []byte, from crypto.ID) error {
	r.mu.Lock()
	r.doomed[from] = true
	r.mu.Unlock()
	_, err := r.saveBlobWithID(ctx, t, id, data)
	return err
}
