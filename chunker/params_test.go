package chunker

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestNewParams(t *testing.T) {
	a, err := NewParams()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("NewParams returned invalid params: %v", err)
	}
	if a.MinSize != 512<<10 || a.AverageBits != 20 || a.MaxSize != 8<<20 {
		t.Errorf("sizes %d/%d/%d, want 512 KiB / 20 bits / 8 MiB", a.MinSize, a.AverageBits, a.MaxSize)
	}
	b, err := NewParams()
	if err != nil {
		t.Fatal(err)
	}
	if a.Polynomial == b.Polynomial {
		t.Errorf("two NewParams calls gave the same polynomial %#x", a.Polynomial)
	}
}

func TestValidate(t *testing.T) {
	ok := defaultTestParams()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default params: %v", err)
	}
	if err := smallParams().Validate(); err != nil {
		t.Fatalf("small params: %v", err)
	}
	mod := func(f func(*Params)) Params { p := ok; f(&p); return p }
	bad := map[string]Params{
		"zero polynomial":   mod(func(p *Params) { p.Polynomial = 0 }),
		"one":               mod(func(p *Params) { p.Polynomial = 1 }),
		"reducible (x+1)":   mod(func(p *Params) { p.Polynomial = 1<<53 | 1 }),
		"degree 60":         mod(func(p *Params) { p.Polynomial = 1<<60 | 1<<1 | 1 }),
		"degree 63":         mod(func(p *Params) { p.Polynomial = 1<<63 | 1 }),
		"min below window":  mod(func(p *Params) { p.MinSize = 63; p.AverageBits = 6 }),
		"max below min":     mod(func(p *Params) { p.MaxSize = p.MinSize - 1 }),
		"average above max": mod(func(p *Params) { p.AverageBits = 24 }),
		"average below min": mod(func(p *Params) { p.AverageBits = 18 }),
		"zero average bits": mod(func(p *Params) { p.AverageBits = 0 }),
		"negative bits":     mod(func(p *Params) { p.AverageBits = -3 }),
		"max too large":     mod(func(p *Params) { p.MaxSize = MaxMaxSize + 1 }),
		"zero value":        {},
	}
	for name, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidParams", name, err)
		}
	}
	edge := mod(func(p *Params) { p.MinSize = WindowSize; p.AverageBits = 6; p.MaxSize = WindowSize })
	if err := edge.Validate(); err != nil {
		t.Errorf("min = avg = max = window: %v", err)
	}
}

func TestParamsJSON(t *testing.T) {
	p := defaultTestParams()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"polynomial":17349423945073011,"min_size":524288,"average_bits":20,"max_size":8388608}`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var q Params
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if q != p {
		t.Errorf("round trip gave %+v, want %+v", q, p)
	}
}
