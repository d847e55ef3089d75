package emulator

import (
	"path/filepath"
	"sync"
	"testing"

	"cairn/tapeio"
	"cairn/tapeio/drivetest"
)

// volumeFor returns an OpenFunc whose drives, within one test, all open the
// same volume file in that test's own directory.
func volumeFor(opts Options) drivetest.OpenFunc {
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
		d, err := Open(p, opts)
		if err != nil {
			t.Fatalf("open emulator: %v", err)
		}
		return d
	}
}

func TestConformance(t *testing.T) {
	drivetest.RunDriveSuite(t, volumeFor(Options{Capacity: 64 << 20}))
}

func TestConformanceUnlimited(t *testing.T) {
	drivetest.RunDriveSuite(t, volumeFor(Options{}))
}

func TestEndOfMedium(t *testing.T) {
	drivetest.RunEndOfMediumSuite(t, volumeFor(Options{Capacity: 4 << 20, EarlyWarning: 512 << 10}))
}
