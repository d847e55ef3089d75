package vmware

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"cairn/sources/vmware/vmtest"
)

// countingAt counts the bytes read from a ReaderAt and can fail reads at
// or after an offset.
type countingAt struct {
	ra     io.ReaderAt
	n      atomic.Int64
	failAt int64
}

func (c *countingAt) ReadAt(p []byte, off int64) (int, error) {
	if c.failAt > 0 && off+int64(len(p)) > c.failAt {
		return 0, errors.New("injected read error")
	}
	n, err := c.ra.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func TestReadAhead(t *testing.T) {
	data := vmtest.RandBytes(5, 10<<20+123)
	src := &countingAt{ra: bytes.NewReader(data)}
	ra := newReadAhead(context.Background(), src, int64(len(data)), 1<<20, 3)
	// Sequential reads of odd sizes, as a chunker does.
	var got []byte
	buf := make([]byte, 300_001)
	for off := int64(0); ; {
		n, err := ra.ReadAt(buf, off)
		got = append(got, buf[:n]...)
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatal("sequential reads differ from the source")
	}
	if n := src.n.Load(); n != int64(len(data)) {
		t.Fatalf("read %d bytes from the source for %d sequential bytes", n, len(data))
	}
	// A jump back and a jump forward restart the window.
	for _, off := range []int64{5 << 20, 1 << 10, 9<<20 + 7} {
		p := make([]byte, 2<<20)
		n, err := ra.ReadAt(p, off)
		if end := min(off+int64(len(p)), int64(len(data))); int64(n) != end-off || !bytes.Equal(p[:n], data[off:end]) {
			t.Fatalf("read at %d: %d bytes, %v", off, n, err)
		}
	}
	// A failing fetch is reported, not served as zeros.
	bad := newReadAhead(context.Background(), &countingAt{ra: bytes.NewReader(data), failAt: 3 << 20}, int64(len(data)), 1<<20, 2)
	if _, err := bad.ReadAt(make([]byte, 4<<20), 0); err == nil {
		t.Fatal("read error not reported")
	}
	// Cancellation ends a read.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	defer close(release)
	if _, err := newReadAhead(ctx, blockingAt(release), 1<<20, 1<<10, 2).ReadAt(make([]byte, 10), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
}

// blockingAt answers only once the channel is closed.
type blockingAt chan struct{}

func (b blockingAt) ReadAt([]byte, int64) (int, error) {
	<-b
	return 0, errors.New("released")
}
