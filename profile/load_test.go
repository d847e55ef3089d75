package profile

import (
	"errors"
	"strings"
	"testing"
)

const goodConfig = `
[global]
log-format = "json"

[profile.nightly]
repository = "/srv/backup/repo"
password-file = "/etc/cairn/password"
paths = ["/etc", "/home"]
exclude = ["*.tmp"]
tags = ["nightly"]

[[profile.nightly.db]]
engine = "postgres"
host = "/run/postgresql"
database = "app"

[profile.nightly.retention]
keep-daily = 7
keep-weekly = 4

[profile.nightly.check]
read-data-subset = "5%"
every = "7d"

[profile.nightly.hooks]
before = "systemctl is-active postgresql"
on-failure = ["logger cairn failed", "true"]

[profile.nightly.metrics]
file = "/var/lib/node_exporter/textfile/cairn.prom"

[[profile.nightly.notify]]
on = ["failure", "success"]
webhook = "http://127.0.0.1:9000/hook"

[[profile.nightly.notify]]
smtp = "smtp://mail.example.org:25?to=ops@example.org"
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse("cairn.toml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("nightly")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "nightly" || p.Retention.KeepDaily != 7 || len(p.DB) != 1 || len(p.Notify) != 2 || p.Check.ReadDataSubset != "5%" {
		t.Fatalf("%+v", p)
	}
	if got := p.Hooks.Commands("on-failure"); len(got) != 2 || got[0] != "logger cairn failed" {
		t.Fatalf("on-failure %q", got)
	}
	if got := p.Hooks.Commands("before"); len(got) != 1 {
		t.Fatalf("before %q", got)
	}
	if _, err := cfg.Profile("weekly"); !errors.Is(err, ErrNoProfile) {
		t.Fatal(err)
	}
}

// Every problem is reported, each with the line of its key.
func TestParseProblemsWithLines(t *testing.T) {
	doc := `[profile.nightly]
repository = "/srv/repo"
paths = ["relative/dir"]
colour = "blue"

[profile.nightly.retention]
keep-daly = 7

[profile.nightly.check]
read-data-subset = "lots"

[profile.nightly.hooks]
before = 42

[[profile.nightly.notify]]
on = ["sometimes"]
webhook = "ftp://example.org/x"

[profile."bad name"]
repository = "/r"
paths = ["/x"]

[profile.empty]
repository = "/r"
`
	_, err := Parse("c.toml", []byte(doc))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want ConfigError, got %v", err)
	}
	want := map[string]int{
		"profile.nightly.paths":                  3,
		"profile.nightly.colour":                 4,
		"profile.nightly.retention":              6, // no keep rule (keep-daly is unknown)
		"profile.nightly.retention.keep-daly":    7,
		"profile.nightly.check.read-data-subset": 10,
		"profile.nightly.hooks.before":           13,
		"profile.nightly.notify[0].on":           16,
		"profile.nightly.notify[0].webhook":      17,
		"profile.bad name":                       19,
		"profile.empty":                          23,
	}
	got := map[string]int{}
	for _, p := range ce.Problems {
		got[p.Key] = p.Line
		if !strings.HasPrefix(p.String(), "c.toml:") {
			t.Errorf("problem without file: %s", p)
		}
	}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("%s: line %d, want %d (problems: %v)", k, got[k], line, err)
		}
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse("c.toml", []byte("[profile.a]\nrepository = \"/r\"\npaths = [\"/x\"\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Problems[0].Line == 0 {
		t.Fatalf("%v", err)
	}
}

func TestParseTypeError(t *testing.T) {
	_, err := Parse("c.toml", []byte("[profile.a]\nrepository = \"/r\"\npaths = [\"/x\"]\n\n[profile.a.retention]\nkeep-daily = \"seven\"\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Problems[0].Line != 6 {
		t.Fatalf("%v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"": "0s", "90m": "1h30m0s", "7d": "168h0m0s", "1d12h": "36h0m0s"} {
		d, err := ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
	for _, bad := range []string{"d", "x", "-1h", "3 days"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
