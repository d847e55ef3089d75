package retention

import (
	"errors"
	"slices"
	"testing"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want Duration
		err  bool
	}{
		{"1y2m3d4h", Duration{Years: 1, Months: 2, Days: 3, Hours: 4}, false},
		{"4h3d", Duration{Days: 3, Hours: 4}, false},
		{"2d", Duration{Days: 2}, false},
		{" 5h ", Duration{Hours: 5}, false},
		{"0d", Duration{}, false},
		{"", Duration{}, false},
		{"1000000h", Duration{Hours: 1000000}, false},
		{"1", Duration{}, true},
		{"y", Duration{}, true},
		{"1x", Duration{}, true},
		{"1D", Duration{}, true},
		{"-1d", Duration{}, true},
		{"1d2d", Duration{}, true},
		{"1d 2h", Duration{}, true},
		{"1000001h", Duration{}, true},
		{"99999999999999999999d", Duration{}, true},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if c.err {
			if !errors.Is(err, ErrInvalidDuration) {
				t.Errorf("ParseDuration(%q) = %v, %v; want ErrInvalidDuration", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestDurationStringRoundTrips(t *testing.T) {
	for _, d := range []Duration{{}, {Years: 1}, {Months: 14}, {Days: 3, Hours: 12}, {Years: 2, Months: 1, Days: 5, Hours: 7}} {
		var back Duration
		if err := back.Set(d.String()); err != nil || back != d {
			t.Errorf("%#v -> %q -> %#v, %v", d, d.String(), back, err)
		}
	}
	if s := (Duration{Years: 1, Months: 2}).String(); s != "1y2m" {
		t.Errorf("String = %q, want 1y2m", s)
	}
	if !(Duration{}).Zero() || (Duration{Hours: 1}).Zero() {
		t.Error("Zero is wrong")
	}
}

func TestParseGroupBy(t *testing.T) {
	cases := []struct {
		in   string
		want GroupBy
		err  bool
	}{
		{"host,paths", DefaultGroupBy(), false},
		{"host,paths,tags", GroupBy{Host: true, Paths: true, Tags: true}, false},
		{"hosts,path,tag", GroupBy{Host: true, Paths: true, Tags: true}, false},
		{"tags", GroupBy{Tags: true}, false},
		{"", GroupBy{}, false},
		{"host,", GroupBy{Host: true}, false},
		{"host, paths", DefaultGroupBy(), false},
		{"hostname", GroupBy{}, true},
		{"host,label", GroupBy{}, true},
	}
	for _, c := range cases {
		got, err := ParseGroupBy(c.in)
		if c.err {
			if !errors.Is(err, ErrInvalidGroupBy) {
				t.Errorf("ParseGroupBy(%q) = %v, %v; want ErrInvalidGroupBy", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseGroupBy(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		var back GroupBy
		if err := back.Set(got.String()); err != nil || back != got {
			t.Errorf("%+v does not round-trip through %q", got, got.String())
		}
	}
}

func TestParseTags(t *testing.T) {
	for in, want := range map[string][]string{
		"a":       {"a"},
		"a,b":     {"a", "b"},
		" a , b ": {"a", "b"},
		"":        {""},
	} {
		if got := ParseTags(in); !slices.Equal(got, want) {
			t.Errorf("ParseTags(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPolicyEmptyAndValidate(t *testing.T) {
	if !(Policy{}).Empty() {
		t.Error("zero policy not empty")
	}
	for _, p := range []Policy{
		{Last: 1}, {Hourly: Unlimited}, {Yearly: 1}, {Within: Duration{Hours: 1}},
		{WithinYearly: Duration{Years: 1}}, {Tags: [][]string{{"a"}}},
	} {
		if p.Empty() {
			t.Errorf("%+v reported empty", p)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, p := range []Policy{
		{Last: -2}, {Monthly: -5}, {Within: Duration{Hours: -1}}, {WithinDaily: Duration{Years: -1}},
		{WithinMonthly: Duration{Days: maxDurationComponent + 1}},
	} {
		if err := p.Validate(); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidPolicy", p, err)
		}
	}
}

func TestPolicyString(t *testing.T) {
	cases := []struct {
		p    Policy
		want string
	}{
		{Policy{}, "remove"},
		{Policy{Daily: 7, Weekly: 4}, "keep 7 daily, 4 weekly snapshots"},
		{Policy{Last: Unlimited}, "keep all latest snapshots"},
		{Policy{WithinDaily: Duration{Days: 7}}, "keep daily snapshots within 7d"},
		{Policy{Tags: [][]string{{"a", "b"}, {"c"}}}, "keep all snapshots with tags [[a, b] [c]]"},
		{Policy{Within: Duration{Years: 1, Months: 2}}, "keep all snapshots within 1y2m of the newest"},
		{
			Policy{Hourly: 24, WithinWeekly: Duration{Months: 1}, Tags: [][]string{{"x"}}, Within: Duration{Days: 2}},
			"keep 24 hourly snapshots, weekly snapshots within 1m and all snapshots with tags [[x]] and all snapshots within 2d of the newest",
		},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("String() = %q\nwant        %q", got, c.want)
		}
	}
}

func TestGroupKeyString(t *testing.T) {
	k := GroupKey{Host: "h", Paths: []string{"/a", "/b"}, Tags: []string{"x"}}
	if got, want := k.String(), "host h, path [/a /b], tags [x]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (GroupKey{}).String(); got != "" {
		t.Errorf("empty key String() = %q", got)
	}
}
