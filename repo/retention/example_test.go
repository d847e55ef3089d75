package retention_test

import (
	"fmt"
	"time"

	"cairn/repo/retention"
)

// The example from docs/retention.md: --keep-daily 3 --keep-weekly 2.
func ExampleApply() {
	at := func(s string) time.Time {
		t, _ := time.Parse(time.DateTime, s)
		return t
	}
	var items []retention.Item
	for _, s := range []string{
		"2024-03-10 18:00:00", "2024-03-10 06:00:00", "2024-03-09 06:00:00", "2024-03-08 06:00:00",
		"2024-03-04 06:00:00", "2024-03-03 06:00:00", "2024-02-25 06:00:00",
	} {
		items = append(items, retention.Item{ID: s[:16], Time: at(s), Host: "web1", Paths: []string{"/srv"}})
	}
	p := retention.Policy{Daily: 3, Weekly: 2}
	groups, err := retention.Apply(items, p, retention.DefaultGroupBy(), at("2024-03-11 00:00:00"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	for _, g := range groups {
		fmt.Printf("snapshots for (%v):\n", g.Key)
		for _, d := range g.Keep {
			fmt.Printf("  keep   %s  %v\n", d.Item.ID, d.Reasons)
		}
		for _, d := range g.Remove {
			fmt.Printf("  remove %s\n", d.Item.ID)
		}
	}
	// Output:
	// keep 3 daily, 2 weekly snapshots
	// snapshots for (host web1, path [/srv]):
	//   keep   2024-03-10 18:00  [daily snapshot weekly snapshot]
	//   keep   2024-03-09 06:00  [daily snapshot]
	//   keep   2024-03-08 06:00  [daily snapshot]
	//   keep   2024-03-03 06:00  [weekly snapshot]
	//   remove 2024-03-10 06:00
	//   remove 2024-03-04 06:00
	//   remove 2024-02-25 06:00
}

// An empty policy is refused rather than removing everything.
func ExampleApply_emptyPolicy() {
	_, err := retention.Apply(nil, retention.Policy{}, retention.DefaultGroupBy(), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(err)
	// Output:
	// retention: policy is empty, refusing to remove every snapshot
}
