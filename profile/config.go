package profile

// Config is a parsed configuration file: global settings and named
// profiles. The TOML key names are documented in docs/profiles.md.
type Config struct {
	// Path is the file the configuration was read from.
	Path     string              `toml:"-"`
	Global   Global              `toml:"global"`
	Profiles map[string]*Profile `toml:"profile"`
}

// Global holds settings that apply to every profile.
type Global struct {
	CacheDir  string `toml:"cache-dir"`
	LogFile   string `toml:"log-file"`
	LogFormat string `toml:"log-format"` // text or json
	LogLevel  string `toml:"log-level"`  // debug, info, warn, error
}

// Profile is one named unit of unattended work.
type Profile struct {
	// Name is the profile's key in the file.
	Name string `toml:"-"`

	Repository      string   `toml:"repository"`
	PasswordFile    string   `toml:"password-file"`
	PasswordCommand string   `toml:"password-command"`
	Options         []string `toml:"options"` // backend options KEY=VALUE (-o)
	CacheDir        string   `toml:"cache-dir"`
	Host            string   `toml:"host"` // recorded in snapshots instead of the host name

	Paths         []string `toml:"paths"`
	Exclude       []string `toml:"exclude"`
	ExcludeFile   []string `toml:"exclude-file"`
	ExcludeCaches bool     `toml:"exclude-caches"`
	OneFileSystem bool     `toml:"one-file-system"`
	Tags          []string `toml:"tags"`

	DB      []DBSource      `toml:"db"`
	Command []CommandSource `toml:"command"`
	Source  []RawSource     `toml:"source"`

	Retention *Retention `toml:"retention"`
	Check     *Check     `toml:"check"`
	Hooks     Hooks      `toml:"hooks"`
	Metrics   *Metrics   `toml:"metrics"`
	Notify    []Notify   `toml:"notify"`
}

// DBSource is a database dumped by `cairn backup db`.
type DBSource struct {
	Engine       string `toml:"engine"`
	URL          string `toml:"url"`
	Host         string `toml:"host"`
	Port         int    `toml:"port"`
	User         string `toml:"user"`
	Database     string `toml:"database"`
	All          bool   `toml:"all"`
	Format       string `toml:"format"`
	Name         string `toml:"name"`
	PasswordFile string `toml:"password-file"`
	BinDir       string `toml:"bin-dir"`
}

// CommandSource backs up a command's standard output
// (`cairn backup --stdin-from-command`).
type CommandSource struct {
	Run      []string `toml:"run"` // argv; no shell unless you name one
	Filename string   `toml:"filename"`
}

// RawSource passes its arguments to `cairn backup` unchanged: the way to use
// a source this file has no table for (docker, vm, block, …).
type RawSource struct {
	Args []string `toml:"args"`
}

// Retention is the forget policy applied after the backups; prune follows
// unless Prune is false.
type Retention struct {
	KeepLast          int      `toml:"keep-last"`
	KeepHourly        int      `toml:"keep-hourly"`
	KeepDaily         int      `toml:"keep-daily"`
	KeepWeekly        int      `toml:"keep-weekly"`
	KeepMonthly       int      `toml:"keep-monthly"`
	KeepYearly        int      `toml:"keep-yearly"`
	KeepWithin        string   `toml:"keep-within"`
	KeepWithinHourly  string   `toml:"keep-within-hourly"`
	KeepWithinDaily   string   `toml:"keep-within-daily"`
	KeepWithinWeekly  string   `toml:"keep-within-weekly"`
	KeepWithinMonthly string   `toml:"keep-within-monthly"`
	KeepWithinYearly  string   `toml:"keep-within-yearly"`
	KeepTag           []string `toml:"keep-tag"`
	GroupBy           string   `toml:"group-by"`
	// AllHosts applies the policy to every host's snapshots; by default only
	// this profile's host (and tags) are touched, so one profile cannot
	// forget another machine's backups in a shared repository.
	AllHosts      bool    `toml:"all-hosts"`
	Prune         *bool   `toml:"prune"`
	MaxUnused     float64 `toml:"max-unused"`
	MaxRepackSize string  `toml:"max-repack-size"`
}

// Check says how and how often the repository is verified after a run.
type Check struct {
	ReadData       bool   `toml:"read-data"`
	ReadDataSubset string `toml:"read-data-subset"`
	MaxDuration    string `toml:"max-duration"`
	// Every is the least time between two checks ("24h", "7d"); empty means
	// every run. The last check time is kept in the cache dir.
	Every string `toml:"every"`
}

// Hooks are shell commands (sh -c) run around the profile's work. Each
// field is a string or an array of strings.
type Hooks struct {
	Before    any    `toml:"before"`
	After     any    `toml:"after"`
	OnSuccess any    `toml:"on-success"`
	OnFailure any    `toml:"on-failure"`
	Timeout   string `toml:"timeout"` // per command; empty: none
}

// Metrics says where the run's Prometheus metrics go.
type Metrics struct {
	File        string `toml:"file"`
	Pushgateway string `toml:"pushgateway"`
	Job         string `toml:"job"`     // Pushgateway job label, default "cairn"
	Timeout     string `toml:"timeout"` // Pushgateway request timeout, default 10s
}

// Notify is one notification target and the events it wants.
type Notify struct {
	On           []string `toml:"on"` // success, warning, failure (default: warning, failure)
	Webhook      string   `toml:"webhook"`
	Slack        string   `toml:"slack"`
	Discord      string   `toml:"discord"`
	Teams        string   `toml:"teams"`
	SMTP         string   `toml:"smtp"`
	PasswordFile string   `toml:"password-file"` // SMTP password
	Timeout      string   `toml:"timeout"`       // per attempt, default 10s
	Retries      *int     `toml:"retries"`       // extra attempts, default 2
}

// Commands returns the hook commands of one kind: "before", "after",
// "on-success" or "on-failure". Load has checked their shape.
func (h Hooks) Commands(kind string) []string {
	var v any
	switch kind {
	case "before":
		v = h.Before
	case "after":
		v = h.After
	case "on-success":
		v = h.OnSuccess
	case "on-failure":
		v = h.OnFailure
	}
	cmds, _ := commandList(v)
	return cmds
}
