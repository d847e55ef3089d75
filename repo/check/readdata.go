package check

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/backend"
)

// Subset selects the packs a data check reads.
type Subset struct {
	All     bool
	N, M    int     // read group N of M (1-based)
	Percent float64 // read this share of packs, chosen at random
	Bytes   int64   // read packs totalling about this many bytes
}

// ParseSubset parses "n/m", "x%" or a size such as "500M" / "2G".
func ParseSubset(s string) (Subset, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.Contains(s, "/"):
		var n, m int
		if _, err := fmt.Sscanf(s, "%d/%d", &n, &m); err != nil || m < 1 || n < 1 || n > m {
			return Subset{}, fmt.Errorf("invalid subset %q: want n/m with 1 <= n <= m", s)
		}
		return Subset{N: n, M: m}, nil
	case strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || p <= 0 || p > 100 {
			return Subset{}, fmt.Errorf("invalid subset %q: want a percentage in (0,100]", s)
		}
		return Subset{Percent: p}, nil
	}
	mult := int64(1)
	u := strings.ToUpper(s)
	for suf, m := range map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40} {
		if strings.HasSuffix(u, suf) {
			mult, u = m, strings.TrimSuffix(u, suf)
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 {
		return Subset{}, fmt.Errorf("invalid subset %q: want n/m, x%% or a size like 500M", s)
	}
	return Subset{Bytes: n * mult}, nil
}

// DataOptions configure reading data.
type DataOptions struct {
	Subset      Subset
	MaxDuration time.Duration // 0: no limit
	Workers     int
	// StatePath is where verified pack ids are remembered across runs, so
	// that time-boxed runs cover the whole repository over time ("" = none).
	StatePath string
	Now       func() time.Time
}

type packJob struct {
	info     index.PackInfo
	verified time.Time
}

// ReadData reads and verifies the selected packs, recording damage in rep.
//
// It is a two-stage pipeline: Workers loaders read whole packs into a pool
// of 2×Workers reused buffers (so memory is bounded by that many packs,
// and remote backends get Workers requests in flight), and Workers
// verifiers check each loaded pack in one pass over its bytes (see
// verifyPack). Every pack is read exactly once.
func ReadData(ctx context.Context, r *repo.Repository, rep *Report, opts DataOptions) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	state := loadState(opts.StatePath)
	var jobs []packJob
	err := r.ForEachIndexedPack(ctx, func(p index.PackInfo) error {
		jobs = append(jobs, packJob{info: p, verified: state[p.ID]})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	jobs = selectPacks(jobs, opts.Subset)
	deadline := time.Time{}
	if opts.MaxDuration > 0 {
		deadline = opts.Now().Add(opts.MaxDuration)
	}

	var mu sync.Mutex // guards rep and state
	record := func(p index.PackInfo, res packResult) {
		mu.Lock()
		defer mu.Unlock()
		rep.PacksRead++
		rep.BytesRead += res.size
		for _, pr := range res.probs {
			rep.add(pr)
		}
		for _, id := range res.damaged {
			rep.damagedBlobs[id] = true
		}
		if len(res.probs) == 0 {
			state[p.ID] = opts.Now()
		} else {
			delete(state, p.ID)
		}
	}

	bufs := make(chan *[]byte, 2*opts.Workers)
	for range cap(bufs) {
		bufs <- new([]byte)
	}
	todo := make(chan index.PackInfo)
	loaded := make(chan loadedPack)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(todo)
		for _, j := range jobs {
			if !deadline.IsZero() && opts.Now().After(deadline) {
				mu.Lock()
				rep.TimedOut = true
				mu.Unlock()
				return nil
			}
			select {
			case todo <- j.info:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	var loaders errgroup.Group
	for range opts.Workers {
		loaders.Go(func() error {
			for p := range todo {
				var buf *[]byte
				select {
				case buf = <-bufs:
				case <-gctx.Done():
					return gctx.Err()
				}
				lp := loadedPack{info: p, buf: buf}
				*buf, lp.err = loadPack(gctx, r.Backend(), p, (*buf)[:0])
				if lp.err != nil && gctx.Err() != nil {
					return gctx.Err()
				}
				select {
				case loaded <- lp:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(loaded)
		return loaders.Wait()
	})
	for range opts.Workers {
		g.Go(func() error {
			var scratch []byte
			for lp := range loaded {
				var res packResult
				if lp.err != nil {
					res = missingPack(lp.info, lp.err)
				} else {
					res, scratch = verifyPack(r.Key(), lp.info, *lp.buf, scratch)
				}
				bufs <- lp.buf
				record(lp.info, res)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return saveState(opts.StatePath, state)
}

// loadedPack is a pack read into buf (or the error reading it).
type loadedPack struct {
	info index.PackInfo
	buf  *[]byte
	err  error
}

// loadPack reads the whole pack file into buf's storage, sized from the
// index so that a pack is read with one allocation-free pass; a file that
// turns out longer than indexed still is read to its end (checkPacks
// reports the size difference). The backend may call the callback again
// on a retry, so it starts from an empty buffer each time.
func loadPack(ctx context.Context, be backend.Backend, p index.PackInfo, buf []byte) ([]byte, error) {
	if want := int(p.Size) + 1; p.Size > 0 && cap(buf) < want {
		buf = make([]byte, 0, want) // +1: reaching EOF needs no growth
	}
	err := be.Load(ctx, backend.Handle{Type: backend.PackFile, Name: p.ID.String()}, 0, 0, func(rd io.Reader) error {
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := rd.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	return buf, err
}

// selectPacks orders packs never verified first, then the longest ago, and
// keeps the subset.
func selectPacks(jobs []packJob, s Subset) []packJob {
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].info.ID.String() < jobs[j].info.ID.String() })
	switch {
	case s.M > 0:
		var out []packJob
		for _, j := range jobs {
			// Group by the pack id's first bytes, as stable as the ids.
			if int(binary.BigEndian.Uint32(j.info.ID[:4])%uint32(s.M)) == s.N-1 {
				out = append(out, j)
			}
		}
		return out
	case s.Percent > 0 || s.Bytes > 0:
		shuffle(jobs)
		sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].verified.Before(jobs[j].verified) })
		if s.Percent > 0 {
			n := int(float64(len(jobs))*s.Percent/100 + 0.999)
			return jobs[:min(n, len(jobs))]
		}
		var total int64
		for i, j := range jobs {
			total += j.info.Size
			if total >= s.Bytes {
				return jobs[:i+1]
			}
		}
	}
	return jobs
}

func shuffle(jobs []packJob) {
	for i := len(jobs) - 1; i > 0; i-- {
		var b [8]byte
		rand.Read(b[:])
		k := int(binary.LittleEndian.Uint64(b[:]) % uint64(i+1))
		jobs[i], jobs[k] = jobs[k], jobs[i]
	}
}

type byteReaderAt []byte

func (b byteReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(b)) {
		return 0, fmt.Errorf("read at %d: out of range", off)
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, fmt.Errorf("read at %d: short", off)
	}
	return n, nil
}

// State file: 32-byte pack id + 8-byte unix time, repeated.
func loadState(p string) map[crypto.ID]time.Time {
	m := map[crypto.ID]time.Time{}
	if p == "" {
		return m
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return m
	}
	for len(b) >= 40 {
		var id crypto.ID
		copy(id[:], b[:32])
		m[id] = time.Unix(int64(binary.LittleEndian.Uint64(b[32:40])), 0)
		b = b[40:]
	}
	return m
}

func saveState(p string, m map[crypto.ID]time.Time) error {
	if p == "" {
		return nil
	}
	buf := make([]byte, 0, len(m)*40)
	for id, t := range m {
		buf = append(buf, id[:]...)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(t.Unix()))
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		return fmt.Errorf("save check state: %w", err)
	}
	return os.Rename(tmp, p)
}

// Run is the whole check: packs against the index, optionally data, then
// the snapshots (so damage found in data is traced to files).
//
// The snapshot walk runs after the data on purpose: run at the same time
// it took as long overall and 0.5–0.9 s more CPU on the bench repository
// (GC marking the walk's tree cache while the verifiers allocate, and a
// contended walk), see docs/performance.md.
func Run(ctx context.Context, r *repo.Repository, readData bool, opts DataOptions) (*Report, error) {
	rep := &Report{damagedBlobs: map[crypto.ID]bool{}}
	if err := checkPacks(ctx, r, rep); err != nil {
		return nil, err
	}
	if readData {
		if err := ReadData(ctx, r, rep, opts); err != nil {
			return nil, err
		}
	}
	wr, err := checkSnapshots(ctx, r, &rep.indexedBlobs, rep.damagedBlobs)
	if err != nil {
		return nil, err
	}
	wr.mergeInto(rep)
	return rep, nil
}
