package arch

import (
	"os/exec"
	"strings"
	"testing"
)

// allowed lists, for each package prefix, the cairn packages it may
// import (prefix match). A package matches the longest rule prefix.
var allowed = map[string][]string{
	"cairn/internal/crypto": {},
	"cairn/chunker":         {},
	"cairn/pack":            {"cairn/internal/crypto"},
	"cairn/index":           {"cairn/internal/crypto", "cairn/pack"},
	"cairn/repo/backend":    {"cairn/repo/backend", "cairn/internal"},
	// The metadata cache recognises tree packs by their headers.
	"cairn/repo/backend/cache": {"cairn/repo/backend", "cairn/internal", "cairn/pack"},
	"cairn/repo/tree":          {"cairn/internal/crypto"},
	"cairn/repo":               {"cairn/repo", "cairn/pack", "cairn/index", "cairn/chunker", "cairn/internal"},
	"cairn/sources":            {"cairn/sources", "cairn/repo", "cairn/pack", "cairn/index", "cairn/chunker", "cairn/internal"},
	"cairn/fuse":               {"cairn/fuse", "cairn/repo", "cairn/pack", "cairn/index", "cairn/chunker", "cairn/internal"},
	"cairn/tapeio":             {"cairn/tapeio", "cairn/repo", "cairn/pack", "cairn/index", "cairn/chunker", "cairn/internal"},
	// tape restore reuses the file-system restore for entries and metadata.
	"cairn/tapeio/scan": {"cairn/tapeio", "cairn/repo", "cairn/pack", "cairn/index", "cairn/chunker", "cairn/internal", "cairn/sources/fs/restore"},
	"cairn/internal":    {"cairn/internal", "cairn/repo", "cairn/pack", "cairn/index", "cairn/chunker", "cairn/sources"},
	"cairn/notify":      {},
	"cairn/metrics":     {},
	"cairn/profile":     {"cairn/"}, // everything but cmd (checked below for every package)
	"cairn/cmd":         {"cairn/"},

	// The vcsim test harness of sources/vmware and cmd/cairn: govmomi only.
	"cairn/sources/vmware/vmtest": {},
}

func rule(pkg string) (string, []string) {
	best := ""
	for p := range allowed {
		if (pkg == p || strings.HasPrefix(pkg, p+"/")) && len(p) > len(best) {
			best = p
		}
	}
	return best, allowed[best]
}

func TestPackageArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "cairn/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list found only %d packages", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		pkg := f[0]
		r, ok := rule(pkg)
		if r == "" {
			t.Errorf("package %s has no arrow rule in arch_test.go: add one", pkg)
			continue
		}
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, "cairn/") {
				continue
			}
			if strings.HasPrefix(imp, "cairn/cmd") {
				t.Errorf("%s imports %s: nothing may import cmd", pkg, imp)
			}
			if imp == "cairn/sources/vmware/vmtest" {
				t.Errorf("%s imports the test harness %s outside its tests", pkg, imp)
			}
			fine := false
			for _, a := range ok {
				if imp == a || strings.HasPrefix(imp, strings.TrimSuffix(a, "/")+"/") || a == "cairn/" {
					fine = true
				}
			}
			if !fine {
				t.Errorf("%s (rule %s) may not import %s", pkg, r, imp)
			}
		}
	}
}
