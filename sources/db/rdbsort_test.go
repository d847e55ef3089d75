package db

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCRC64Redis(t *testing.T) {
	// The check value in redis src/crc64.c.
	if got := crc64Redis(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %x", got)
	}
	// Split updates agree with one update (the slicing-by-8 path and
	// the byte path meet).
	data := []byte(strings.Repeat("redis rdb checksum ", 100))
	whole := crc64Redis(0, data)
	for _, cut := range []int{1, 7, 8, 9, 100, len(data) - 1} {
		if got := crc64Redis(crc64Redis(0, data[:cut]), data[cut:]); got != whole {
			t.Fatalf("split at %d: %x, want %x", cut, got, whole)
		}
	}
}

func TestLZFDecompress(t *testing.T) {
	// "abc" as a literal, then a back reference of 6 bytes at distance 3
	// (overlapping its own output).
	got, err := lzfDecompress([]byte("x"), []byte{0x02, 'a', 'b', 'c', 0x80, 0x02}, 9)
	if err != nil || string(got) != "xabcabcabc" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range [][]byte{{0x05, 'a'}, {0x00, 'a', 0x80, 0x05}, {0x00, 'a', 0xe0}} {
		if _, err := lzfDecompress(nil, bad, 9); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

// rdbBuilder writes synthetic RDBs (version 10) for the sorter tests.
type rdbBuilder struct {
	buf     bytes.Buffer
	records [][]byte // each key record as written
}

func newRDB() *rdbBuilder {
	b := &rdbBuilder{}
	b.buf.WriteString("REDIS0010")
	b.buf.WriteByte(rdbOpAux)
	b.buf.Write(rdbStr("redis-ver"))
	b.buf.Write(rdbStr("7.0.15"))
	return b
}

func rdbLen(n int) []byte {
	switch {
	case n < 64:
		return []byte{byte(n)}
	case n < 16384:
		return []byte{0x40 | byte(n>>8), byte(n)}
	default:
		return binary.BigEndian.AppendUint32([]byte{0x80}, uint32(n))
	}
}

func rdbStr(s string) []byte { return append(rdbLen(len(s)), s...) }

func (b *rdbBuilder) selectDB(n int) {
	b.buf.WriteByte(rdbOpSelectDB)
	b.buf.Write(rdbLen(n))
	b.buf.WriteByte(rdbOpResizeDB)
	b.buf.Write(rdbLen(10))
	b.buf.Write(rdbLen(0))
}

// record writes one key record made of parts.
func (b *rdbBuilder) record(parts ...[]byte) {
	rec := bytes.Join(parts, nil)
	b.records = append(b.records, rec)
	b.buf.Write(rec)
}

func (b *rdbBuilder) str(key, val string) { b.record([]byte{rdbTypeString}, rdbStr(key), rdbStr(val)) }

// bytes ends the RDB with its checksum.
func (b *rdbBuilder) bytes() []byte {
	out := append(bytes.Clone(b.buf.Bytes()), rdbOpEOF)
	return binary.LittleEndian.AppendUint64(out, crc64Redis(0, out))
}

func sortRDB(t *testing.T, in []byte, runBytes, maxRecord int) ([]byte, RDBSortInfo) {
	t.Helper()
	var out bytes.Buffer
	st, err := rdbSortWith(&out, bytes.NewReader(in), runBytes, maxRecord)
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != len(in) {
		t.Fatalf("sorted RDB has %d bytes, input %d", out.Len(), len(in))
	}
	checkRDBChecksum(t, out.Bytes())
	return out.Bytes(), st
}

func checkRDBChecksum(t *testing.T, rdb []byte) {
	t.Helper()
	n := len(rdb) - 8
	if got, want := binary.LittleEndian.Uint64(rdb[n:]), crc64Redis(0, rdb[:n]); got != want {
		t.Fatalf("checksum %x, want %x", got, want)
	}
}

// recordOrder returns the indexes into records of the records in rdb in
// the order they appear, failing t unless every record appears once.
func recordOrder(t *testing.T, rdb []byte, records [][]byte) []int {
	t.Helper()
	var order []int
	seen := map[int]bool{}
	for p := 0; p < len(rdb); {
		found := -1
		for i, r := range records {
			if !seen[i] && bytes.HasPrefix(rdb[p:], r) && (found < 0 || len(r) > len(records[found])) {
				found = i
			}
		}
		if found < 0 {
			p++
			continue
		}
		seen[found] = true
		order = append(order, found)
		p += len(records[found])
	}
	if len(order) != len(records) {
		t.Fatalf("%d of %d records found in the output", len(order), len(records))
	}
	return order
}

func TestRDBSortOrdersKeys(t *testing.T) {
	b := newRDB()
	b.selectDB(0)
	keys := []string{"user:0042", "user:0007", "session", "user:0100", "a"}
	for _, k := range keys {
		b.str(k, "value of "+k)
	}
	// An expiring key, an int-encoded key ("-5", int8) and an
	// LZF-compressed key ("zzzzzz…", decoded for sorting).
	b.record([]byte{rdbOpExpireTimeMs}, binary.LittleEndian.AppendUint64(nil, 1<<40), []byte{rdbTypeString}, rdbStr("user:0050"), rdbStr("expires"))
	b.record([]byte{rdbTypeString, 0xC0, 0xFB}, rdbStr("int key"))
	b.record([]byte{rdbTypeString, 0xC3}, rdbLen(5), rdbLen(24), []byte{0x00, 'z', 0xe0, 23 - 2 - 7, 0x00}, rdbStr("lzf key"))
	// A hash and a list, so values of several kinds are skipped.
	b.record([]byte{rdbTypeHash}, rdbStr("h"), rdbLen(2), rdbStr("f1"), rdbStr("v1"), rdbStr("f2"), rdbStr("v2"))
	b.record([]byte{rdbTypeList}, rdbStr("l"), rdbLen(1), rdbStr("item"))
	b.selectDB(1)
	b.str("second-db-b", "x")
	b.str("second-db-a", "y")
	in := b.bytes()
	out, st := sortRDB(t, in, rdbRunBytes, rdbMaxSortedRecord)
	if st.Keys != int64(len(b.records)) || st.Runs != 2 || st.Fallback != "" || st.Version != 10 {
		t.Fatalf("stats %+v", st)
	}
	names := []string{"user:0042", "user:0007", "session", "user:0100", "a", "user:0050", "-5", strings.Repeat("z", 24), "h", "l", "second-db-b", "second-db-a"}
	var got []string
	for _, i := range recordOrder(t, out, b.records) {
		got = append(got, names[i])
	}
	want := append(slices.Sorted(slices.Values(names[:10])), "second-db-a", "second-db-b")
	if !slices.Equal(got, want) {
		t.Fatalf("order %q\nwant  %q", got, want)
	}
	// The header and the database opcodes stay where they were.
	if !bytes.HasPrefix(out, in[:bytes.IndexByte(in, rdbOpSelectDB)+4]) {
		t.Fatal("header changed")
	}
	// Sorting is idempotent.
	again, _ := sortRDB(t, out, rdbRunBytes, rdbMaxSortedRecord)
	if !bytes.Equal(again, out) {
		t.Fatal("sorting a sorted RDB changed it")
	}
}

func TestRDBSortBoundedRunsAndLargeRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := newRDB()
	b.selectDB(0)
	perm := rng.Perm(400)
	for _, i := range perm {
		size := 20
		if i == 200 {
			size = 5000 // larger than maxRecord: streamed in place
		}
		b.str(fmt.Sprintf("k%04d", i), strings.Repeat(string(rune('a'+i%26)), size))
	}
	in := b.bytes()
	out, st := sortRDB(t, in, 4096, 1024)
	if st.Runs < 3 || st.Unsorted != 1 || st.Keys != 399 {
		t.Fatalf("stats %+v: want several runs, one unsorted record, 399 sorted", st)
	}
	order := recordOrder(t, out, b.records)
	// Records between run boundaries are ascending; count the descents:
	// at most one per run boundary plus the large record's two sides.
	descents := 0
	for i := 1; i < len(order); i++ {
		if perm[order[i]] < perm[order[i-1]] {
			descents++
		}
	}
	if descents > int(st.Runs)+1 {
		t.Fatalf("%d descents for %d runs", descents, st.Runs)
	}

	// A record made only of empty strings grows one length byte at a
	// time; it too is streamed once past the cap.
	e := newRDB()
	e.selectDB(0)
	e.str("b", "x")
	e.record([]byte{rdbTypeList}, rdbStr("empties"), rdbLen(3000), bytes.Repeat([]byte{0}, 3000))
	e.str("a", "y")
	out, st = sortRDB(t, e.bytes(), 4096, 1024)
	if st.Unsorted != 1 || st.Keys != 2 {
		t.Fatalf("stats %+v: want the list streamed and 2 keys sorted", st)
	}
	if got := recordOrder(t, out, e.records); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("order %v", got)
	}
}

func TestRDBSortFallbackAndDamage(t *testing.T) {
	b := newRDB()
	b.selectDB(0)
	b.str("b", "1")
	b.str("a", "2")
	b.record([]byte{6}, rdbStr("module"), []byte{1, 2, 3}) // pre-GA module: not parsable
	b.str("d", "3")
	b.str("c", "4")
	in := b.bytes()
	out, st := sortRDB(t, in, rdbRunBytes, rdbMaxSortedRecord)
	if st.Fallback == "" || st.Keys != 2 {
		t.Fatalf("stats %+v: want a fallback after 2 sorted keys", st)
	}
	if got := recordOrder(t, out, b.records); !slices.Equal(got, []int{1, 0, 2, 3, 4}) {
		t.Fatalf("order %v: want the first two sorted, the rest as they were", got)
	}

	// Unknown versions and non-RDB input pass through unchanged.
	for _, raw := range [][]byte{append([]byte("REDIS0099"), in[9:]...), []byte("not an rdb at all")} {
		var o bytes.Buffer
		st, err := rdbSort(&o, bytes.NewReader(raw))
		if err != nil || !bytes.Equal(o.Bytes(), raw) || st.Fallback == "" {
			t.Fatalf("%.9s: %v, %+v, changed %v", raw, err, st, !bytes.Equal(o.Bytes(), raw))
		}
	}

	// A checksum of zero (rdbchecksum no) stays zero.
	zero := bytes.Clone(b.bytes())
	binary.LittleEndian.PutUint64(zero[len(zero)-8:], 0)
	var o bytes.Buffer
	if _, err := rdbSort(&o, bytes.NewReader(zero)); err != nil || binary.LittleEndian.Uint64(o.Bytes()[o.Len()-8:]) != 0 {
		t.Fatalf("zero checksum: %v", err)
	}

	// Damage fails instead of being stored under a fresh checksum; so
	// does a dump cut short.
	good := newRDB()
	good.selectDB(0)
	good.str("k", "value")
	good.str("j", "value")
	clean := good.bytes()
	flipped := bytes.Clone(clean)
	flipped[len(flipped)-12] ^= 1
	for name, raw := range map[string][]byte{"bit flip": flipped, "truncated": clean[:len(clean)-20], "no checksum": clean[:len(clean)-3]} {
		if _, err := rdbSort(&bytes.Buffer{}, bytes.NewReader(raw)); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// FuzzRDBSort: no input panics the sorter; what it accepts it returns at
// the same length with a valid checksum, and sorting again changes
// nothing.
func FuzzRDBSort(f *testing.F) {
	b := newRDB()
	b.selectDB(0)
	b.str("b", "1")
	b.record([]byte{rdbOpExpireTime, 1, 2, 3, 4, rdbTypeSet}, rdbStr("s"), rdbLen(2), rdbStr("x"), rdbStr("y"))
	b.record([]byte{rdbTypeZSet}, rdbStr("z"), rdbLen(1), rdbStr("m"), []byte{3, '1', '.', '5'})
	b.record([]byte{rdbTypeStream2}, rdbStr("st"), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0), rdbLen(0))
	b.str("a", "2")
	f.Add(b.bytes())
	f.Add([]byte("REDIS0010\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		// Runs large enough for one per database: run boundaries
		// depend on arrival order, so only then is sorting idempotent.
		if _, err := rdbSortWith(&out, bytes.NewReader(in), 1<<20, 64); err != nil {
			return
		}
		if out.Len() != len(in) {
			t.Fatalf("output %d bytes, input %d", out.Len(), len(in))
		}
		var again bytes.Buffer
		if _, err := rdbSortWith(&again, bytes.NewReader(out.Bytes()), 1<<20, 64); err != nil {
			t.Fatalf("sorted output rejected: %v", err)
		}
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatal("sorting twice differs")
		}
	})
}

// rdbGenerator produces a synthetic RDB of n string keys in a scrambled
// order without holding it, for the memory benchmark.
type rdbGenerator struct {
	n, i int
	buf  []byte
	crc  uint64
	done bool
}

func (g *rdbGenerator) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.done:
			return 0, io.EOF
		case g.i == 0 && g.crc == 0:
			g.buf = append([]byte("REDIS0010"), rdbOpSelectDB, 0)
		case g.i < g.n:
			k := (g.i * 7919) % g.n // scrambled: 7919 is prime, n not a multiple
			g.buf = append(g.buf, rdbTypeString)
			g.buf = append(g.buf, rdbStr(fmt.Sprintf("key:%09d", k))...)
			g.buf = append(g.buf, rdbStr(strings.Repeat(strconv.Itoa(k), 200/len(strconv.Itoa(k))))...)
			g.i++
		default:
			g.buf = binary.LittleEndian.AppendUint64([]byte{rdbOpEOF}, crc64Redis(g.crc, []byte{rdbOpEOF}))
			g.done = true
			n := copy(p, g.buf)
			g.buf = g.buf[n:]
			return n, nil
		}
		g.crc = crc64Redis(g.crc, g.buf)
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// BenchmarkRDBSort sorts synthetic RDBs of 64 MiB to 1 GiB and reports
// the peak Go heap: it must stay near rdbRunBytes whatever the size.
func BenchmarkRDBSort(b *testing.B) {
	for _, mib := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			keys := mib << 20 / 220
			if keys%7919 == 0 {
				keys++
			}
			var peak atomic.Uint64
			stop := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
				}
			}()
			var size int64
			for b.Loop() {
				cw := &countingWriter{}
				st, err := rdbSort(cw, &rdbGenerator{n: keys})
				if err != nil {
					b.Fatal(err)
				}
				if st.Keys != int64(keys) {
					b.Fatalf("%d keys sorted of %d", st.Keys, keys)
				}
				size = cw.n
			}
			close(stop)
			b.SetBytes(size)
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
