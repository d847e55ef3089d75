// Package retention decides which snapshots a forget policy keeps and which
// it removes. It is pure logic with no I/O and no clock of its own: the caller
// converts its snapshots to Items and passes the current time explicitly, so
// `forget --dry-run` and the real run compute the same plan from the same
// inputs.
//
// The semantics follow restic's `forget` (0.16 and later) rule for rule:
// snapshots are grouped (by default by host and paths), sorted newest first,
// and each rule of the Policy is evaluated independently; a snapshot is kept
// when at least one rule keeps it, and every rule that keeps it is listed as
// a reason. docs/retention.md describes each rule with examples.
package retention
