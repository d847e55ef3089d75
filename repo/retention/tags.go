package retention

import "strings"

// ParseTags splits one --keep-tag value into a tag list: "a,b" is the list
// [a b] (a snapshot must carry both), surrounding spaces are trimmed, and ""
// yields [""], which matches snapshots that have no tags at all.
func ParseTags(s string) []string {
	parts := strings.Split(s, ",")
	for i, t := range parts {
		parts[i] = strings.TrimSpace(t)
	}
	return parts
}

// hasTags reports whether an item with tags have satisfies the tag list want,
// with restic's exact semantics: every tag of want must be present, except
// that reaching an empty tag while the item is untagged matches at once.
func hasTags(have, want []string) bool {
	for _, w := range want {
		if w == "" && len(have) == 0 {
			return true
		}
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// formatTagList renders a tag list as restic does in reasons: "[a, b]".
func formatTagList(l []string) string {
	return "[" + strings.Join(l, ", ") + "]"
}
