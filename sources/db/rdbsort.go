package db

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
)

// Sorting the keys of a Redis RDB.
//
// An RDB lists each database's keys in hash-table order: the bucket order
// of a hash seeded randomly at every server start. Keys that belong
// together (a range of ids, one application's prefix) are scattered over
// the whole file, so a change to 1% of them touches every chunk, and after
// a restart of the server the same data comes out in a different order
// altogether. rdbSort rewrites the RDB with each database's key records
// sorted by key name. Records are copied byte for byte (expiry, LRU/LFU
// hints, the value in whatever encoding the server chose); only their order
// and the trailing CRC-64 change, and Redis loads keys in any order.
//
// Memory is bounded: records are sorted in runs of at most rdbRunBytes
// (the buffered records plus their index); a larger database is written as
// several sorted runs, each a slice of the server's order. A record larger
// than rdbMaxSortedRecord is written where it stands, unsorted. A construct
// the sorter does not know (a newer RDB version, a pre-GA module type or
// function) makes it copy the rest of the stream unchanged, with the
// checksum recomputed; the dump stays valid either way. The input's own
// checksum is verified: a damaged dump fails the backup instead of being
// stored with a fresh checksum.

const (
	// rdbRunBytes bounds the records (and their index) sorted at once.
	rdbRunBytes = 64 << 20
	// rdbMaxSortedRecord is the largest record sorted; larger ones are
	// streamed through in place.
	rdbMaxSortedRecord = 8 << 20
	// rdbRecordOverhead is the index cost per buffered record, counted
	// against rdbRunBytes.
	rdbRecordOverhead = 16
	// rdbMaxVersion is the newest RDB version the sorter knows (Redis 7.4).
	rdbMaxVersion = 12
)

// RDB opcodes and value types (redis src/rdb.h).
const (
	rdbOpSlotInfo     = 0xF4
	rdbOpFunction2    = 0xF5
	rdbOpModuleAux    = 0xF7
	rdbOpIdle         = 0xF8
	rdbOpFreq         = 0xF9
	rdbOpAux          = 0xFA
	rdbOpResizeDB     = 0xFB
	rdbOpExpireTimeMs = 0xFC
	rdbOpExpireTime   = 0xFD
	rdbOpSelectDB     = 0xFE
	rdbOpEOF          = 0xFF

	rdbTypeString          = 0
	rdbTypeList            = 1
	rdbTypeSet             = 2
	rdbTypeZSet            = 3
	rdbTypeHash            = 4
	rdbTypeZSet2           = 5
	rdbTypeModule2         = 7
	rdbTypeListQuicklist   = 14
	rdbTypeStreamListpacks = 15
	rdbTypeListQuicklist2  = 18
	rdbTypeStream2         = 19
	rdbTypeStream3         = 21
)

// RDBSortInfo counts what sorting an RDB did.
type RDBSortInfo struct {
	// Version is the RDB format version of the dump.
	Version int `json:"rdb_version"`
	// Keys is the number of key records sorted.
	Keys int64 `json:"keys"`
	// Runs is the number of sorted runs written (one per database when
	// each fits in memory).
	Runs int64 `json:"runs"`
	// Unsorted counts records too large to sort, written in place.
	Unsorted int64 `json:"unsorted,omitempty"`
	// Fallback says why part of the dump was copied unchanged.
	Fallback string `json:"fallback,omitempty"`
}

// errRDBUnknown marks a construct the sorter cannot parse; the rest of the
// stream is then copied through.
var errRDBUnknown = errors.New("unknown RDB construct")

// rdbRecord locates one buffered key record and its sort key.
type rdbRecord struct {
	start, end uint32
	// keyOff/keyLen locate the key in the run buffer, or in the key
	// arena when keyInArena is set (keys stored int- or LZF-encoded).
	keyOff, keyLen uint32
	keyInArena     bool
}

// rdbSorter holds the state of one pass over an RDB.
type rdbSorter struct {
	in  rdbInput
	out *bufio64
	// run holds the buffered records of the current run, then the
	// record being read (from recStart).
	run      []byte
	recStart int
	refs     []rdbRecord
	arena    []byte
	// key is the sort key of the record being read, if hasKey.
	key    rdbRecord
	hasKey bool
	// streaming: bytes taken go straight to out (non-record items and
	// records too large to sort).
	streaming bool
	// runBytes and maxRecord are the constants above; tests lower them.
	runBytes, maxRecord int
	stats               RDBSortInfo
}

// rdbSort copies the RDB in src to dst with each database's keys sorted.
func rdbSort(dst io.Writer, src io.Reader) (RDBSortInfo, error) {
	return rdbSortWith(dst, src, rdbRunBytes, rdbMaxSortedRecord)
}

func rdbSortWith(dst io.Writer, src io.Reader, runBytes, maxRecord int) (RDBSortInfo, error) {
	s := &rdbSorter{in: rdbInput{src: src, buf: make([]byte, 256<<10)}, out: newBufio64(dst), runBytes: runBytes, maxRecord: maxRecord}
	err := s.sort()
	if err == nil {
		err = s.out.flush()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("RDB ends early (the dump was cut short): %w", err)
	}
	return s.stats, err
}

func (s *rdbSorter) sort() error {
	head, err := s.in.peek(9)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
		return err
	}
	ver := 0
	if len(head) == 9 && bytes.HasPrefix(head, []byte("REDIS")) {
		ver, _ = strconv.Atoi(string(head[5:9]))
	}
	s.stats.Version = ver
	switch {
	case len(head) < 9 || !bytes.HasPrefix(head, []byte("REDIS")):
		s.stats.Fallback = "not an RDB"
		return s.copyRest(false)
	case ver < 5 || ver > rdbMaxVersion:
		// Before version 5 there is no checksum; after the known
		// versions the layout may differ.
		s.stats.Fallback = fmt.Sprintf("RDB version %d not sorted", ver)
		return s.copyRest(false)
	}
	s.streaming = true
	if _, err := s.take(9); err != nil {
		return err
	}
	s.streaming = false
	prefix := false // expiry/LRU/LFU opcodes of the next record were read
	for {
		op, err := s.in.readByte()
		if err != nil {
			return noEOF(err)
		}
		switch op {
		case rdbOpExpireTime, rdbOpExpireTimeMs, rdbOpIdle, rdbOpFreq:
			if !prefix {
				s.recStart = len(s.run)
			}
			prefix = true
			s.put(op)
			err = s.recordPrefix(op)
		case rdbOpAux, rdbOpResizeDB, rdbOpSelectDB, rdbOpModuleAux, rdbOpFunction2, rdbOpSlotInfo:
			if prefix {
				return fmt.Errorf("RDB: opcode %#x after a key's expiry: damaged dump", op)
			}
			s.flushRun()
			s.streaming = true
			s.put(op)
			err = s.item(op)
			s.streaming = false
		case rdbOpEOF:
			if prefix {
				return errors.New("RDB: end of file after a key's expiry: damaged dump")
			}
			s.flushRun()
			s.streaming = true
			s.put(op)
			return s.finish()
		default:
			if !prefix {
				s.recStart = len(s.run)
			}
			prefix = false
			s.put(op)
			err = s.record(op)
		}
		if errors.Is(err, errRDBUnknown) {
			s.stats.Fallback = err.Error()
			return s.fallback()
		}
		if err != nil {
			return err
		}
	}
}

// noEOF turns a clean end of input inside the RDB into an error: the dump
// ended before its EOF opcode (a killed dump).
func noEOF(err error) error {
	if err == io.EOF {
		return fmt.Errorf("RDB ends before its EOF opcode: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// recordPrefix takes the payload of an expiry or eviction-hint opcode.
func (s *rdbSorter) recordPrefix(op byte) error {
	switch op {
	case rdbOpExpireTime:
		_, err := s.take(4)
		return err
	case rdbOpExpireTimeMs:
		_, err := s.take(8)
		return err
	case rdbOpFreq:
		_, err := s.take(1)
		return err
	default: // idle
		_, _, err := s.length()
		return err
	}
}

// item takes the payload of a non-record opcode (streamed).
func (s *rdbSorter) item(op byte) error {
	switch op {
	case rdbOpAux:
		if err := s.str(false); err != nil {
			return err
		}
		return s.str(false)
	case rdbOpResizeDB:
		return s.lengths(2)
	case rdbOpSelectDB:
		return s.lengths(1)
	case rdbOpSlotInfo:
		return s.lengths(3)
	case rdbOpFunction2:
		return s.str(false)
	default: // module aux: module id, when-opcode, when, then module values
		if err := s.lengths(3); err != nil {
			return err
		}
		return s.moduleValues()
	}
}

// record takes one key record after its type byte, then files it in the
// run (or, if it grew too large, ends its streaming).
func (s *rdbSorter) record(typ byte) error {
	if !rdbKnownType(typ) {
		// Checked before reading on: the bytes after an unknown
		// opcode need not be a key.
		return fmt.Errorf("%w: value type %d", errRDBUnknown, typ)
	}
	s.hasKey = false
	if err := s.str(true); err != nil {
		return err
	}
	if err := s.value(typ); err != nil {
		return err
	}
	if s.streaming {
		s.streaming = false
		s.stats.Unsorted++
		return nil
	}
	if !s.hasKey {
		return errors.New("RDB sort: record without a key") // not reached
	}
	ref := s.key
	ref.start, ref.end = uint32(s.recStart), uint32(len(s.run))
	s.refs = append(s.refs, ref)
	s.hasKey = false
	s.recStart = len(s.run)
	if len(s.run)+rdbRecordOverhead*len(s.refs) >= s.runBytes {
		s.flushRun()
	}
	return nil
}

// value takes a value of type typ.
func (s *rdbSorter) value(typ byte) error {
	switch typ {
	case rdbTypeString, 9, 10, 11, 12, 13, 16, 17, 20:
		// A string, or one serialized blob (zipmap, ziplist, intset,
		// listpack encodings).
		return s.str(false)
	case rdbTypeList, rdbTypeSet, rdbTypeListQuicklist:
		return s.strings(1)
	case rdbTypeHash:
		return s.strings(2)
	case rdbTypeZSet, rdbTypeZSet2:
		n, _, err := s.length()
		if err != nil {
			return err
		}
		for range n {
			if err := s.str(false); err != nil {
				return err
			}
			if typ == rdbTypeZSet2 {
				_, err = s.take(8)
			} else {
				err = s.oldDouble()
			}
			if err != nil {
				return err
			}
		}
		return nil
	case rdbTypeListQuicklist2:
		n, _, err := s.length()
		if err != nil {
			return err
		}
		for range n {
			if err := s.lengths(1); err != nil { // container kind
				return err
			}
			if err := s.str(false); err != nil {
				return err
			}
		}
		return nil
	case rdbTypeStreamListpacks, rdbTypeStream2, rdbTypeStream3:
		return s.stream(typ)
	case rdbTypeModule2:
		if err := s.lengths(1); err != nil { // module id
			return err
		}
		return s.moduleValues()
	default:
		return fmt.Errorf("%w: value type %d", errRDBUnknown, typ)
	}
}

// rdbKnownType reports whether value reads type typ.
func rdbKnownType(typ byte) bool {
	switch typ {
	case rdbTypeString, 9, 10, 11, 12, 13, 16, 17, 20,
		rdbTypeList, rdbTypeSet, rdbTypeListQuicklist, rdbTypeHash,
		rdbTypeZSet, rdbTypeZSet2, rdbTypeListQuicklist2,
		rdbTypeStreamListpacks, rdbTypeStream2, rdbTypeStream3, rdbTypeModule2:
		return true
	}
	return false
}

// stream takes a stream value (rdb.c rdbLoadObject, STREAM_LISTPACKS*).
func (s *rdbSorter) stream(typ byte) error {
	if err := s.strings(2); err != nil { // listpacks: node key, listpack
		return err
	}
	// length, last id; v2+: first id, max deleted id, entries added
	meta := 3
	if typ >= rdbTypeStream2 {
		meta = 8
	}
	if err := s.lengths(meta); err != nil {
		return err
	}
	groups, _, err := s.length()
	if err != nil {
		return err
	}
	for range groups {
		if err := s.str(false); err != nil { // name
			return err
		}
		n := 2 // last id; v2+: entries read
		if typ >= rdbTypeStream2 {
			n = 3
		}
		if err := s.lengths(n); err != nil {
			return err
		}
		pel, _, err := s.length()
		if err != nil {
			return err
		}
		for range pel {
			if _, err := s.take(16 + 8); err != nil { // id, delivery time
				return err
			}
			if err := s.lengths(1); err != nil { // delivery count
				return err
			}
		}
		consumers, _, err := s.length()
		if err != nil {
			return err
		}
		for range consumers {
			if err := s.str(false); err != nil {
				return err
			}
			times := 8 // seen time; v3: active time
			if typ >= rdbTypeStream3 {
				times = 16
			}
			if _, err := s.take(times); err != nil {
				return err
			}
			pel, _, err := s.length()
			if err != nil {
				return err
			}
			if err := s.skip(pel * 16); err != nil {
				return err
			}
		}
	}
	return nil
}

// moduleValues takes module-serialized values up to their EOF marker
// (rdbLoadCheckModuleValue).
func (s *rdbSorter) moduleValues() error {
	for {
		op, _, err := s.length()
		if err != nil {
			return err
		}
		switch op {
		case 0: // EOF
			return nil
		case 1, 2: // signed, unsigned integer
			err = s.lengths(1)
		case 3: // float
			_, err = s.take(4)
		case 4: // double
			_, err = s.take(8)
		case 5:
			err = s.str(false)
		default:
			return fmt.Errorf("%w: module value opcode %d", errRDBUnknown, op)
		}
		if err != nil {
			return err
		}
	}
}

// oldDouble takes a zset score in the old text encoding.
func (s *rdbSorter) oldDouble() error {
	b, err := s.take(1)
	if err != nil {
		return err
	}
	if b[0] >= 253 { // NaN, +inf, -inf
		return nil
	}
	return s.skip(uint64(b[0]))
}

func (s *rdbSorter) strings(per int) error {
	n, _, err := s.length()
	if err != nil {
		return err
	}
	for range n * uint64(per) {
		if err := s.str(false); err != nil {
			return err
		}
	}
	return nil
}

func (s *rdbSorter) lengths(n int) error {
	for range n {
		if _, _, err := s.length(); err != nil {
			return err
		}
	}
	return nil
}

// length takes a length; enc reports the special string encodings, whose
// kind is then n.
func (s *rdbSorter) length() (n uint64, enc bool, err error) {
	b, err := s.take(1)
	if err != nil {
		return 0, false, err
	}
	switch b[0] >> 6 {
	case 0:
		return uint64(b[0] & 0x3f), false, nil
	case 1:
		lo, err := s.take(1)
		if err != nil {
			return 0, false, err
		}
		return uint64(b[0]&0x3f)<<8 | uint64(lo[0]), false, nil
	case 3:
		return uint64(b[0] & 0x3f), true, nil
	}
	switch b[0] {
	case 0x80:
		v, err := s.take(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(v)), false, nil
	case 0x81:
		v, err := s.take(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(v), false, nil
	}
	return 0, false, fmt.Errorf("%w: length byte %#x", errRDBUnknown, b[0])
}

// str takes a string. With key set it records the string, decoded, as
// the sort key of the record being read (s.key).
func (s *rdbSorter) str(key bool) error {
	n, enc, err := s.length()
	if err != nil {
		return err
	}
	var intVal int64
	var lzfLen uint64
	start := len(s.run)
	switch {
	case !enc:
		if err := s.skip(n); err != nil {
			return err
		}
	case n <= 2: // int8, int16, int32
		size := 1 << n
		b, err := s.take(size)
		if err != nil {
			return err
		}
		switch size {
		case 1:
			intVal = int64(int8(b[0]))
		case 2:
			intVal = int64(int16(binary.LittleEndian.Uint16(b)))
		default:
			intVal = int64(int32(binary.LittleEndian.Uint32(b)))
		}
	case n == 3: // LZF
		clen, _, err := s.length()
		if err != nil {
			return err
		}
		if lzfLen, _, err = s.length(); err != nil {
			return err
		}
		start = len(s.run)
		if err := s.skip(clen); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: string encoding %d", errRDBUnknown, n)
	}
	if !key {
		return nil
	}
	ref := rdbRecord{}
	if !s.streaming {
		switch {
		case !enc:
			ref.keyOff, ref.keyLen = uint32(start), uint32(n)
		case n <= 2:
			ref.keyOff, ref.keyInArena = uint32(len(s.arena)), true
			s.arena = strconv.AppendInt(s.arena, intVal, 10)
			ref.keyLen = uint32(len(s.arena)) - ref.keyOff
		default:
			if lzfLen > uint64(s.maxRecord) {
				return s.startStreaming()
			}
			ref.keyOff, ref.keyInArena = uint32(len(s.arena)), true
			s.arena, err = lzfDecompress(s.arena, s.run[start:], int(lzfLen))
			if err != nil {
				return fmt.Errorf("RDB key: %w", err)
			}
			ref.keyLen = uint32(len(s.arena)) - ref.keyOff
		}
	}
	if !s.streaming {
		s.key, s.hasKey = ref, true
	}
	return nil
}

// put files one byte already read from the input.
func (s *rdbSorter) put(b byte) {
	if s.streaming {
		s.out.writeByte(b)
		return
	}
	s.run = append(s.run, b)
}

// take consumes a few bytes (at most the input buffer) and returns them;
// the slice is valid until the next call.
func (s *rdbSorter) take(n int) ([]byte, error) {
	if !s.streaming && len(s.run)-s.recStart+n > s.maxRecord {
		// A record of many empty strings grows only through take.
		if err := s.startStreaming(); err != nil {
			return nil, err
		}
	}
	b, err := s.in.read(n)
	if err != nil {
		return nil, noEOF(err)
	}
	if s.streaming {
		s.out.write(b)
		return b, nil
	}
	start := len(s.run)
	s.run = append(s.run, b...)
	return s.run[start:], nil
}

// skip consumes n bytes into the record, switching to streaming when the
// record outgrows maxRecord.
func (s *rdbSorter) skip(n uint64) error {
	for n > 0 {
		if !s.streaming && len(s.run)-s.recStart+int(min(n, 1<<30)) > s.maxRecord {
			if err := s.startStreaming(); err != nil {
				return err
			}
		}
		step := int(min(n, uint64(len(s.in.buf))))
		b, err := s.in.read(step)
		if err != nil {
			return noEOF(err)
		}
		if s.streaming {
			s.out.write(b)
		} else {
			s.run = append(s.run, b...)
		}
		n -= uint64(step)
	}
	return nil
}

// startStreaming writes the run so far and the partial record, and sends
// the rest of the record straight to the output.
func (s *rdbSorter) startStreaming() error {
	if s.streaming {
		return nil
	}
	partial := s.run[s.recStart:]
	s.hasKey = false
	s.run = s.run[:s.recStart]
	s.flushRunKeep(partial)
	s.streaming = true
	return nil
}

// flushRun writes the buffered records in key order and empties the run.
func (s *rdbSorter) flushRun() { s.flushRunKeep(nil) }

// flushRunKeep is flushRun followed by writing tail as is.
func (s *rdbSorter) flushRunKeep(tail []byte) {
	if len(s.refs) > 0 {
		key := func(r rdbRecord) []byte {
			if r.keyInArena {
				return s.arena[r.keyOff : r.keyOff+r.keyLen]
			}
			return s.run[r.keyOff : r.keyOff+r.keyLen]
		}
		slices.SortFunc(s.refs, func(a, b rdbRecord) int { return bytes.Compare(key(a), key(b)) })
		for _, r := range s.refs {
			s.out.write(s.run[r.start:r.end])
		}
		s.stats.Keys += int64(len(s.refs))
		s.stats.Runs++
	}
	s.out.write(tail)
	s.run, s.refs, s.arena, s.recStart = s.run[:0], s.refs[:0], s.arena[:0], 0
}

// finish takes the checksum after the EOF opcode and writes the
// output's own, then copies anything that follows.
func (s *rdbSorter) finish() error {
	if err := s.checksum(); err != nil {
		return err
	}
	return s.copyRest(false)
}

// checksum takes the input's checksum, which covers everything before
// it, verifies it and writes the output's.
func (s *rdbSorter) checksum() error {
	inSum := s.in.crc
	b, err := s.in.read(8)
	if err != nil {
		return fmt.Errorf("RDB checksum: %w", noEOF(err))
	}
	stored := binary.LittleEndian.Uint64(b)
	if stored != 0 && stored != inSum {
		return fmt.Errorf("RDB checksum mismatch (stored %016x, computed %016x): the dump is damaged", stored, inSum)
	}
	sum := s.out.crc
	if stored == 0 {
		sum = 0 // the server saves without checksums (rdbchecksum no)
	}
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], sum)
	s.out.writeRaw(le[:])
	return nil
}

// fallback writes the run and the record being read unchanged, then
// copies the rest of the input, replacing the trailing checksum.
func (s *rdbSorter) fallback() error {
	partial := s.run[s.recStart:]
	s.hasKey = false
	s.run = s.run[:s.recStart]
	s.flushRunKeep(partial)
	s.run, s.refs, s.arena = nil, nil, nil
	return s.copyRest(true)
}

// copyRest copies the input to the output. With checksum set the last 8
// bytes are the RDB's checksum: verified and replaced by the output's.
func (s *rdbSorter) copyRest(checksum bool) error {
	for {
		avail, err := s.in.fill()
		keep := 0
		if checksum {
			keep = 8
		}
		if n := len(avail) - keep; n > 0 {
			b, _ := s.in.read(n)
			if checksum {
				s.out.write(b)
			} else {
				s.out.writeRaw(b)
			}
		}
		if err == io.EOF {
			if !checksum {
				return nil
			}
			return s.checksum()
		}
		if err != nil {
			return err
		}
	}
}

// rdbInput is a buffered reader that keeps the CRC-64 of what was
// consumed (bufio would hide how far the consumer got).
type rdbInput struct {
	src  io.Reader
	buf  []byte
	r, w int
	err  error
	crc  uint64
}

// fill reads more input unless the buffer is full; it returns the
// unconsumed bytes and the read error once the input is exhausted.
func (in *rdbInput) fill() ([]byte, error) {
	if in.r > 0 && in.r == in.w {
		in.r, in.w = 0, 0
	}
	if in.w == len(in.buf) && in.r > 0 {
		in.w = copy(in.buf, in.buf[in.r:in.w])
		in.r = 0
	}
	if in.err == nil && in.w < len(in.buf) {
		n, err := in.src.Read(in.buf[in.w:])
		in.w += n
		in.err = err
	}
	if in.err != nil && in.r == in.w {
		return nil, in.err
	}
	if in.err == io.EOF {
		return in.buf[in.r:in.w], io.EOF
	}
	if in.err != nil {
		return in.buf[in.r:in.w], in.err
	}
	return in.buf[in.r:in.w], nil
}

// peek returns up to n unconsumed bytes without consuming them.
func (in *rdbInput) peek(n int) ([]byte, error) {
	for in.w-in.r < n {
		if _, err := in.fill(); err != nil {
			return in.buf[in.r:in.w], err
		}
	}
	return in.buf[in.r : in.r+n], nil
}

// read consumes exactly n ≤ len(buf) bytes; the slice is valid until the
// next call.
func (in *rdbInput) read(n int) ([]byte, error) {
	b, err := in.peek(n)
	if len(b) < n {
		if err == nil || err == io.EOF {
			if len(b) == 0 && err == io.EOF {
				return nil, io.EOF
			}
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	in.r += n
	in.crc = crc64Redis(in.crc, b)
	return b, nil
}

func (in *rdbInput) readByte() (byte, error) {
	b, err := in.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// bufio64 is a buffered writer that keeps the CRC-64 of what passed
// through write (not writeRaw). Its first write error sticks.
type bufio64 struct {
	dst io.Writer
	buf []byte
	crc uint64
	err error
	one [1]byte
}

func newBufio64(dst io.Writer) *bufio64 {
	return &bufio64{dst: dst, buf: make([]byte, 0, 256<<10)}
}

func (w *bufio64) write(p []byte) {
	w.crc = crc64Redis(w.crc, p)
	w.writeRaw(p)
}

func (w *bufio64) writeByte(b byte) {
	w.one[0] = b
	w.write(w.one[:])
}

func (w *bufio64) writeRaw(p []byte) {
	if w.err != nil {
		return
	}
	if len(w.buf)+len(p) > cap(w.buf) {
		if w.flush() != nil {
			return
		}
		if len(p) >= cap(w.buf) {
			_, w.err = w.dst.Write(p)
			return
		}
	}
	w.buf = append(w.buf, p...)
}

func (w *bufio64) flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.dst.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}

// crc64RedisTables are slicing-by-8 tables of Redis's CRC-64 (Jones
// polynomial, reflected, no inversion: redis src/crc64.c).
var crc64RedisTables = sync.OnceValue(func() *[8][256]uint64 {
	const poly = 0x95AC9329AC4BC9B5 // 0xad93d23594c935a9 reflected
	var t [8][256]uint64
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return &t
})

// crc64Redis continues Redis's CRC-64 crc over p.
func crc64Redis(crc uint64, p []byte) uint64 {
	t := crc64RedisTables()
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// lzfDecompress appends the n bytes LZF-compressed in src (liblzf's
// format, as Redis writes it) to dst.
func lzfDecompress(dst, src []byte, n int) ([]byte, error) {
	base := len(dst)
	dst = slices.Grow(dst, n)
	for i := 0; i < len(src); {
		ctrl := int(src[i])
		i++
		if ctrl < 32 { // literal run of ctrl+1 bytes
			l := ctrl + 1
			if i+l > len(src) || len(dst)-base+l > n {
				return dst[:base], errors.New("LZF: literal run past the end")
			}
			dst = append(dst, src[i:i+l]...)
			i += l
			continue
		}
		l := ctrl >> 5 // back reference
		if l == 7 {
			if i >= len(src) {
				return dst[:base], errors.New("LZF: truncated length")
			}
			l += int(src[i])
			i++
		}
		if i >= len(src) {
			return dst[:base], errors.New("LZF: truncated offset")
		}
		ref := len(dst) - (ctrl&0x1f)<<8 - int(src[i]) - 1
		i++
		l += 2
		if ref < base || len(dst)-base+l > n {
			return dst[:base], errors.New("LZF: back reference out of range")
		}
		for k := range l { // may overlap its own output
			dst = append(dst, dst[ref+k])
		}
	}
	if len(dst)-base != n {
		return dst[:base], fmt.Errorf("LZF: %d bytes decompressed, %d expected", len(dst)-base, n)
	}
	return dst, nil
}
