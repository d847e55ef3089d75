// Package profile runs cairn unattended: it reads the TOML configuration
// file of named profiles (docs/profiles.md), validates it with a line number
// for every problem, and runs one profile's night of work — before hooks,
// every configured source's backup, forget/prune by the retention policy, a
// check when one is due, after hooks, metrics and notifications — with one
// combined exit code and summary.
//
// Each step is carried out by running the cairn binary itself with --json
// (see Exec): every source the command line knows, now or later, works in a
// profile without this package knowing its internals, a step that crashes
// cannot take the orchestration down with it, and the JSON summaries the
// command line documents are the contract between the two.
package profile
