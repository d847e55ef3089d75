//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"cairn/tapeio"
	"cairn/tapeio/drivetest"
	"cairn/tapeio/emulator"
)

// mockDrives returns an OpenFunc for st drives over a fake kernel whose
// tape is an emulator volume, one per test.
func mockDrives(opts emulator.Options) drivetest.OpenFunc {
	var mu sync.Mutex
	paths := map[*testing.T]string{}
	return func(t *testing.T) tapeio.Drive {
		t.Helper()
		mu.Lock()
		p, ok := paths[t]
		if !ok {
			p = filepath.Join(t.TempDir(), "vol.vtape")
			paths[t] = p
		}
		mu.Unlock()
		tape, err := emulator.Open(p, opts)
		if err != nil {
			t.Fatalf("open emulator: %v", err)
		}
		return newDrive("/dev/nst-mock", 42, &fakeKernel{t: t, fd: 42, tape: tape}, false)
	}
}

func TestConformanceMockKernel(t *testing.T) {
	drivetest.RunDriveSuite(t, mockDrives(emulator.Options{Capacity: 64 << 20}))
}

func TestEndOfMediumMockKernel(t *testing.T) {
	drivetest.RunEndOfMediumSuite(t, mockDrives(emulator.Options{Capacity: 4 << 20, EarlyWarning: 512 << 10}))
}

// TestConformanceRealDrive runs the suite against the drive named by
// TAPE_DEVICE (e.g. /dev/nst0). It overwrites the loaded tape. The
// end-of-medium suite fills the whole tape, so it also needs TAPE_EOM=1.
func TestConformanceRealDrive(t *testing.T) {
	dev := os.Getenv("TAPE_DEVICE")
	if dev == "" {
		t.Skip("TAPE_DEVICE not set: no real tape drive to test (the mock-kernel tests cover the driver)")
	}
	open := func(t *testing.T) tapeio.Drive {
		t.Helper()
		d, err := Open(dev, Options{})
		if err != nil {
			t.Fatalf("open %s: %v", dev, err)
		}
		return d
	}
	drivetest.RunDriveSuite(t, open)
	if os.Getenv("TAPE_EOM") == "1" {
		drivetest.RunEndOfMediumSuite(t, open)
	}
}
