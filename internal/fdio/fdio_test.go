package fdio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadAt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 100)
	if n, err := ReadAt(fd, buf, 5); n != 100 || err != nil || !bytes.Equal(buf, data[5:105]) {
		t.Fatalf("ReadAt inside the file: %d %v", n, err)
	}
	if n, err := ReadAt(fd, buf, int64(len(data))-30); n != 30 || err != io.EOF || !bytes.Equal(buf[:30], data[len(data)-30:]) {
		t.Fatalf("ReadAt across the end: %d %v, want 30 io.EOF", n, err)
	}
	if _, err := ReadAt(-1, buf, 0); !errors.Is(err, unix.EBADF) {
		t.Fatalf("ReadAt on a bad descriptor: %v, want EBADF", err)
	}
}
