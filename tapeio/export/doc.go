// Package export writes repository snapshots to tape as export sets: per
// set the sealed config and key files, the snapshots, the index files, then
// every pack the snapshots need (copied verbatim: data stays encrypted as in
// the repository), a second copy of config, keys and snapshots, and at the
// end a catalog. Volumes are spanned through package volume.
//
// Export is plan-then-execute: Plan decides what goes to tape (and, for an
// incremental set, which packs earlier sets already hold) without touching
// a drive; Execute writes the plan. The local catalog in the repository's
// cache directory remembers which sets hold which packs; every set also
// carries its own catalog at its end, so tapes describe themselves.
//
// The layout of an export set is normative in docs/tape.md ("Export sets").
package export
