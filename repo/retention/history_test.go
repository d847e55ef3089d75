package retention

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo
)

// baseTime is the fixed start of every generated history.
func baseTime() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }

// hostSpec describes one host of a generated history.
type hostSpec struct {
	host  string
	loc   *time.Location
	paths [][]string // each snapshot backs up one of these, chosen at random
	seed  uint64
}

// genHistory returns about one snapshot per hour for hours [0, hours) after
// baseTime: each moved by -25 to +50 minutes of jitter (so hours are
// sometimes empty and sometimes hold two snapshots), 10% of hours skipped and
// occasional outages of one day to three weeks. Times are in spec.loc. Some
// snapshots carry tags: "nightly" at local hour 0, "manual" and "keep" at
// random.
func genHistory(spec hostSpec, hours int) []Item {
	rng := rand.New(rand.NewPCG(spec.seed, 0x5eed))
	var items []Item
	outage := 0
	for h := range hours {
		switch {
		case outage > 0:
			outage--
			continue
		case rng.IntN(2000) == 0:
			outage = 24 + rng.IntN(24*20)
			continue
		case rng.IntN(10) == 0:
			continue
		}
		jitter := time.Duration(rng.IntN(75*60)-25*60)*time.Second + time.Duration(rng.IntN(1e9))
		t := baseTime().Add(time.Duration(h)*time.Hour + jitter).In(spec.loc)
		var tags []string
		if t.Hour() == 0 {
			tags = append(tags, "nightly")
		}
		if rng.IntN(150) == 0 {
			tags = append(tags, "manual")
		}
		if rng.IntN(200) == 0 {
			tags = append(tags, "keep")
		}
		items = append(items, Item{
			ID:    fmt.Sprintf("%s-%06d", spec.host, h),
			Time:  t,
			Host:  spec.host,
			Paths: spec.paths[rng.IntN(len(spec.paths))],
			Tags:  tags,
		})
	}
	return items
}

// genHosts concatenates the histories of several hosts and shuffles them, so
// Apply cannot rely on its input being sorted or grouped.
func genHosts(specs []hostSpec, hours int) []Item {
	var all []Item
	for _, s := range specs {
		all = append(all, genHistory(s, hours)...)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load location %s: %v", name, err)
	}
	return loc
}

// fixedZoneHosts are hosts whose locations have no DST, so the reference
// model can build hour periods with time.Date.
func fixedZoneHosts() []hostSpec {
	return []hostSpec{
		{host: "alpha", loc: time.UTC, paths: [][]string{{"/home", "/etc"}, {"/srv"}}, seed: 1},
		{host: "beta", loc: time.FixedZone("IST", 5*3600+1800), paths: [][]string{{"/var/lib/db"}}, seed: 2},
		{host: "gamma", loc: time.FixedZone("BRT", -3*3600), paths: [][]string{{"/data"}}, seed: 3},
	}
}

func TestGenHistoryShape(t *testing.T) {
	items := genHistory(fixedZoneHosts()[0], 24*365)
	if n := len(items); n < 24*365*7/10 || n > 24*365*9/10 {
		t.Fatalf("generated %d snapshots for a year, want roughly 80%% of hours", n)
	}
	var tagged, twoPerHour int
	for i, it := range items {
		if len(it.Tags) > 0 {
			tagged++
		}
		if i > 0 && byHour(it.Time, 0) == byHour(items[i-1].Time, 0) {
			twoPerHour++
		}
	}
	if tagged == 0 || twoPerHour == 0 {
		t.Fatalf("history lacks variety: %d tagged, %d hours with two snapshots", tagged, twoPerHour)
	}
}
