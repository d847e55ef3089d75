package chunker

import (
	"fmt"

	rc "github.com/restic/chunker"
)

// Default chunk sizes, as fixed in DESIGN.md ("Chunking").
const (
	// DefaultMinSize is the default minimum chunk size (512 KiB).
	DefaultMinSize = 512 << 10
	// DefaultAverageBits gives an average chunk size of 2^20 bytes (1 MiB).
	DefaultAverageBits = 20
	// DefaultMaxSize is the default maximum chunk size (8 MiB).
	DefaultMaxSize = 8 << 20
)

// Limits enforced by Validate.
const (
	// WindowSize is the width of the rolling-hash window in bytes: a
	// content-defined cut depends on these many bytes before it.
	WindowSize = 64
	// MaxMaxSize bounds MaxSize, because every chunk is held in memory whole.
	MaxMaxSize = 128 << 20
	// maxPolDeg is the largest polynomial degree restic/chunker supports.
	maxPolDeg = 53
	// minPolDeg keeps the fingerprint wide enough for the table lookup
	// (restic shifts the digest right by deg-8).
	minPolDeg      = 9
	maxAverageBits = 30
)

// Params are the chunking parameters of a repository. They are stored in the
// repository config as JSON and must never change for an existing
// repository: different parameters give different boundaries and so defeat
// deduplication against everything stored before.
type Params struct {
	// Polynomial is the irreducible polynomial over GF(2) of the Rabin
	// fingerprint, bit i being the coefficient of x^i.
	Polynomial uint64 `json:"polynomial"`
	// MinSize is the minimum chunk size in bytes (except the last chunk).
	MinSize uint `json:"min_size"`
	// AverageBits sets the cut probability: a cut happens where the low
	// AverageBits bits of the fingerprint are zero, so chunks average about
	// MinSize + 2^AverageBits bytes.
	AverageBits int `json:"average_bits"`
	// MaxSize is the maximum chunk size in bytes.
	MaxSize uint `json:"max_size"`
}

// NewParams returns default sizes with a fresh random irreducible
// polynomial of degree 53, for a new repository. The polynomial is secret
// per repository so that chunk boundaries do not reveal content.
func NewParams() (Params, error) {
	pol, err := rc.RandomPolynomial()
	if err != nil {
		return Params{}, fmt.Errorf("chunker: random polynomial: %w", err)
	}
	return Params{
		Polynomial:  uint64(pol),
		MinSize:     DefaultMinSize,
		AverageBits: DefaultAverageBits,
		MaxSize:     DefaultMaxSize,
	}, nil
}

// Validate reports whether p can be used for chunking: the polynomial is
// irreducible with a degree restic/chunker supports, and the sizes are
// ordered MinSize <= 2^AverageBits <= MaxSize within sane limits. The error
// wraps ErrInvalidParams. The irreducibility test takes milliseconds, so
// call Validate when parameters enter the program (repository init and
// open); New, Split and Resync only run the cheap checks that keep chunking
// itself well-defined.
func (p Params) Validate() error {
	if err := p.check(); err != nil {
		return err
	}
	if pol := rc.Pol(p.Polynomial); !pol.Irreducible() {
		return fmt.Errorf("%w: polynomial %v is reducible", ErrInvalidParams, pol)
	}
	return nil
}

// check is Validate without the irreducibility test. A reducible
// polynomial only weakens the fingerprint; these checks are the ones
// without which restic/chunker would misbehave (negative skips, shifts by
// the wrong amount) or hold unbounded chunks in memory.
func (p Params) check() error {
	pol := rc.Pol(p.Polynomial)
	// restic shifts the digest right by deg-8 and only supports up to 53.
	if d := pol.Deg(); d < minPolDeg || d > maxPolDeg {
		return fmt.Errorf("%w: polynomial %v has degree %d, want %d..%d",
			ErrInvalidParams, pol, d, minPolDeg, maxPolDeg)
	}
	if p.AverageBits < 1 || p.AverageBits > maxAverageBits || p.AverageBits >= pol.Deg() {
		return fmt.Errorf("%w: average bits %d, want 1..%d and below the polynomial degree %d",
			ErrInvalidParams, p.AverageBits, maxAverageBits, pol.Deg())
	}
	// The chunker hashes the last WindowSize bytes before MinSize, so a
	// smaller MinSize would make it skip a negative number of bytes.
	if p.MinSize < WindowSize {
		return fmt.Errorf("%w: min size %d below the %d-byte window", ErrInvalidParams, p.MinSize, WindowSize)
	}
	if p.MaxSize > MaxMaxSize {
		return fmt.Errorf("%w: max size %d above limit %d", ErrInvalidParams, p.MaxSize, MaxMaxSize)
	}
	avg := uint(1) << uint(p.AverageBits)
	if p.MinSize > avg || avg > p.MaxSize {
		return fmt.Errorf("%w: want min size %d <= average 2^%d <= max size %d",
			ErrInvalidParams, p.MinSize, p.AverageBits, p.MaxSize)
	}
	return nil
}
