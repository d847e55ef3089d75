package open

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cairn/tapeio"
	"cairn/tapeio/emulator"
	"cairn/tapeio/st"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"262144", 262144}, {"256KiB", 256 << 10}, {"256k", 256 << 10},
		{"64MiB", 64 << 20}, {"64M", 64 << 20}, {"4mb", 4e6}, {"1.5GiB", 3 << 29},
		{"18TB", 18e12}, {"2 GiB", 2 << 30}, {"512B", 512},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "12XB", "-1", "1.2.3M", "99999999999999999999", "9000000TiB"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, n)
		}
	}
}

func TestFileDrive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v1.vtape")
	d, err := Drive("file:" + path + "?capacity=2MiB&earlywarning=256KiB&blocksize=512")
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Status()
	if err != nil || st.BlockSize != 512 {
		t.Fatalf("status = %v, %v; want block size 512 from the URL", st, err)
	}
	if _, ok := d.(*emulator.Drive); !ok {
		t.Fatalf("file: opened a %T", d)
	}
	// The capacity from the URL holds: 2 MiB of 64 KiB blocks, then refused.
	blk := make([]byte, 64<<10)
	var n int
	for ; n < 100; n++ {
		if err := d.WriteRecord(blk); err != nil {
			if !errors.Is(err, tapeio.ErrEndOfMedium) {
				t.Fatal(err)
			}
			break
		}
	}
	if n < 27 || n > 32 {
		t.Fatalf("%d blocks of 64 KiB fit a 2 MiB tape with a 256 KiB early-warning zone", n)
	}
	d.Close()
	// Relative paths and file:/// both work.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	for _, u := range []string{"file:v1.vtape?readonly", "file://" + path + "?readonly=true"} {
		d, err := Drive(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if st, _ := d.Status(); !st.WriteProtected {
			t.Fatalf("%s: not write-protected", u)
		}
		d.Close()
	}
}

func TestBadURLs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, want string }{
		{"/dev/nst0", "no scheme"},
		{"tape:/dev/nst0", "unknown scheme"},
		{"file:" + dir + "/v?capacty=1M", `unknown parameter "capacty"`},
		{"file:" + dir + "/v?capacity=lots", "parameter capacity"},
		{"file://host/v", "host not allowed"},
		{"dir:" + dir, "changer"},
		{"st:" + dir + "/nothing?blocksize=1k", "no such file"},
	} {
		_, err := Drive(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Drive(%q) = %v, want an error mentioning %q", tc.url, err, tc.want)
		}
	}
	if _, err := Changer("file:" + dir + "/v"); err == nil {
		t.Error("Changer(file:...) succeeded")
	}
	if _, err := Changer("dir:" + dir + "?slots=0"); err == nil {
		t.Error("Changer with 0 slots succeeded")
	}
}

func TestSTRefusesRewindingDevice(t *testing.T) {
	// /dev/null is a character device but not st: accepted by the rewinding
	// check, then refused by the driver's MTSETBLK (ENOTTY).
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	_, err := Drive("st:/dev/null?blocksize=0")
	if err == nil {
		t.Fatal("st:/dev/null opened as a tape drive")
	}
	if errors.Is(err, st.ErrRewindingDevice) {
		t.Fatalf("/dev/null taken for a rewinding tape: %v", err)
	}
}

func TestDirChanger(t *testing.T) {
	dir := t.TempDir()
	c, err := Changer("dir:" + dir + "?slots=3&capacity=1MiB")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slots, err := c.Slots()
	if err != nil || len(slots) != 3 {
		t.Fatalf("slots = %v, %v", slots, err)
	}
	d, err := c.Load(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.Unload(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "slot003.vtape")); err != nil {
		t.Fatalf("slot 3 volume file: %v", err)
	}
}
