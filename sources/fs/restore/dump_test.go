package restore

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDumpFile(t *testing.T) {
	f := newFakeRepo()
	root := fullSnapshot(t, f)
	var buf bytes.Buffer
	if err := Dump(t.Context(), f, root, "/data/sparse.img", &buf); err != nil {
		t.Fatal(err)
	}
	want := append(pattern4K('h'), make([]byte, holeSize+1<<20)...)
	want = append(want, "tail"...)
	want = append(want, make([]byte, 8192)...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("dump of sparse file differs (%d bytes, want %d)", buf.Len(), len(want))
	}
	buf.Reset()
	if err := Dump(t.Context(), f, root, "data/plain.txt", &buf); err != nil || buf.String() != "hello world\n" {
		t.Errorf("dump plain.txt = %q, %v", buf.String(), err)
	}
	if err := Dump(t.Context(), f, root, "/data/nope", &buf); !errors.Is(err, ErrNotFound) {
		t.Errorf("dump of missing path: %v", err)
	}
}

// tarEntry is what the test checks of one tar entry.
type tarEntry struct {
	hdr  *tar.Header
	data string
}

func readTar(t *testing.T, r io.Reader) ([]string, map[string]tarEntry) {
	t.Helper()
	tr := tar.NewReader(r)
	var names []string
	entries := make(map[string]tarEntry)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if hdr.Typeflag == tar.TypeReg && hdr.Name != "data/sparse.img" {
			if data, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		names = append(names, hdr.Name)
		entries[hdr.Name] = tarEntry{hdr, string(data)}
	}
	return names, entries
}

func TestDumpDirectoryAsTar(t *testing.T) {
	f := newFakeRepo()
	root := fullSnapshot(t, f)
	var buf bytes.Buffer
	if err := Dump(t.Context(), f, root, "/data", &buf); err != nil {
		t.Fatal(err)
	}
	names, e := readTar(t, &buf)
	want := "data/ data/empty data/fifo data/hl1 data/hl3 data/link data/loop data/null data/plain.txt data/ro/ data/ro/inside data/setuid data/sparse.img data/sticky/ data/sub/ data/sub/deep.txt data/sub/hl2 data/" + unicodeName
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names\n  %q\nwant\n  %q", got, want)
	}
	check := func(name string, typ byte, mode int64) *tar.Header {
		t.Helper()
		h := e[name].hdr
		if h.Typeflag != typ || h.Mode != mode {
			t.Errorf("%s: type %c mode %o, want %c %o", name, h.Typeflag, h.Mode, typ, mode)
		}
		return h
	}
	h := check("data/plain.txt", tar.TypeReg, 0o640)
	if e["data/plain.txt"].data != "hello world\n" || h.Uid != 1000 || h.Gid != 1001 || h.Uname != "u" || h.Gname != "g" {
		t.Errorf("plain.txt: %q %+v", e["data/plain.txt"].data, h)
	}
	if !h.ModTime.Equal(t0) || !h.AccessTime.Equal(t1) {
		t.Errorf("plain.txt times %v %v", h.ModTime, h.AccessTime)
	}
	if h.PAXRecords["SCHILY.xattr.user.cairn"] != "v\x00bin" {
		t.Errorf("plain.txt xattr records %q", h.PAXRecords)
	}
	check("data/setuid", tar.TypeReg, 0o6755)
	check("data/sticky/", tar.TypeDir, 0o1777)
	check("data/ro/", tar.TypeDir, 0o555)
	if h := check("data/sparse.img", tar.TypeReg, 0o600); h.Size != 4096+holeSize+1<<20+4+8192 {
		t.Errorf("sparse.img size %d", h.Size)
	}
	if e["data/hl1"].data != "linked content\n" {
		t.Errorf("hl1 = %q", e["data/hl1"].data)
	}
	for _, name := range []string{"data/hl3", "data/sub/hl2"} {
		if h := e[name].hdr; h.Typeflag != tar.TypeLink || h.Linkname != "data/hl1" {
			t.Errorf("%s: type %c link %q", name, h.Typeflag, h.Linkname)
		}
	}
	if h := e["data/link"].hdr; h.Typeflag != tar.TypeSymlink || h.Linkname != "plain.txt" {
		t.Errorf("link: %+v", h)
	}
	check("data/fifo", tar.TypeFifo, 0o620)
	if h := check("data/null", tar.TypeChar, 0o666); h.Devmajor != 1 || h.Devminor != 3 {
		t.Errorf("null: %d,%d", h.Devmajor, h.Devminor)
	}
	if h := check("data/loop", tar.TypeBlock, 0o660); h.Devmajor != 7 || h.Devminor != 200 {
		t.Errorf("loop: %d,%d", h.Devmajor, h.Devminor)
	}
	if e["data/"+unicodeName].data != "unicode\n" {
		t.Errorf("unicode entry = %q", e["data/"+unicodeName].data)
	}

	// Dumping the root names entries from the first component on.
	buf.Reset()
	if err := Dump(t.Context(), f, root, "/", &buf); err != nil {
		t.Fatal(err)
	}
	if names, _ := readTar(t, &buf); len(names) != 18 || names[0] != "data/" {
		t.Errorf("root dump: %d entries, first %q", len(names), names[0])
	}
	// A single special file is dumped as a one-entry tar.
	buf.Reset()
	if err := Dump(t.Context(), f, root, "/data/null", &buf); err != nil {
		t.Fatal(err)
	}
	if names, e := readTar(t, &buf); len(names) != 1 || e["data/null"].hdr.Devminor != int64(unix.Minor(unix.Mkdev(1, 3))) {
		t.Errorf("dump of a device: %q", names)
	}
}
