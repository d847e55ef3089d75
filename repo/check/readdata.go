package check

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
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
func ReadData(ctx context.Context, r *repo.Repository, rep *Report, opts DataOptions) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
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
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for _, j := range jobs {
		if !deadline.IsZero() && opts.Now().After(deadline) {
			rep.TimedOut = true
			break
		}
		g.Go(func() error {
			probs, damaged, n, err := readPack(gctx, r, j.info)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			rep.PacksRead++
			rep.BytesRead += n
			for _, p := range probs {
				rep.add(p)
			}
			for _, id := range damaged {
				rep.damagedBlobs[id] = true
			}
			if len(probs) == 0 {
				state[j.info.ID] = opts.Now()
			} else {
				delete(state, j.info.ID)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return saveState(opts.StatePath, state)
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

// readPack verifies one pack: its hash, its trailer against the index, and
// every blob.
func readPack(ctx context.Context, r *repo.Repository, p index.PackInfo) ([]Problem, []crypto.ID, int64, error) {
	var probs []Problem
	var damaged []crypto.ID
	bad := func(kind, msg string, blobs ...crypto.ID) {
		probs = append(probs, Problem{Kind: kind, Pack: p.ID.String(), Message: fmt.Sprintf("pack %s: %s", p.ID.Short(), msg)})
		damaged = append(damaged, blobs...)
	}
	all := func() []crypto.ID {
		ids := make([]crypto.ID, 0, len(p.Blobs))
		for _, b := range p.Blobs {
			ids = append(ids, b.ID)
		}
		return ids
	}
	data, err := backend.LoadAll(ctx, r.Backend(), backend.Handle{Type: backend.PackFile, Name: p.ID.String()})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, 0, ctx.Err()
		}
		bad("missing_pack", fmt.Sprintf("cannot be read: %v", err), all()...)
		return probs, damaged, 0, nil
	}
	if got := crypto.Hash(data); got != p.ID {
		bad("damaged_pack", fmt.Sprintf("content hashes to %s (damaged)", got.Short()))
	}
	salt, listed, err := pack.List(r.Key(), byteReaderAt(data), int64(len(data)))
	if err != nil {
		bad("damaged_pack", fmt.Sprintf("trailer unreadable: %v", err))
	} else {
		if salt != p.Salt {
			bad("index", "salt differs from the index")
		}
		inPack := map[crypto.ID]pack.Blob{}
		for _, b := range listed {
			inPack[b.ID] = b
		}
		for _, b := range p.Blobs {
			if lb, ok := inPack[b.ID]; !ok || lb != b {
				bad("index", fmt.Sprintf("index entry for blob %s does not match the pack's trailer", b.ID.Short()))
			}
		}
	}
	aead := pack.KeyFor(r.Key(), p.Salt)
	var buf []byte
	for _, b := range p.Blobs {
		end := int64(b.Offset) + int64(b.Length)
		if end > int64(len(data)) {
			bad("damaged_blob", fmt.Sprintf("blob %s lies past the end of the pack", b.ID.Short()), b.ID)
			continue
		}
		out, err := pack.DecodeBlob(r.Key(), aead, data[b.Offset:end], b, buf[:0])
		if err != nil {
			probs = append(probs, Problem{Kind: "damaged_blob", Pack: p.ID.String(), Blob: b.ID.String(), Message: fmt.Sprintf("pack %s: blob %s: %v", p.ID.Short(), b.ID.Short(), err)})
			damaged = append(damaged, b.ID)
			continue
		}
		buf = out
	}
	return probs, damaged, int64(len(data)), nil
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
	if err := checkSnapshots(ctx, r, rep); err != nil {
		return nil, err
	}
	return rep, nil
}
