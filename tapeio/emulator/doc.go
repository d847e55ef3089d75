// Package emulator is a file-backed tape drive with Linux st semantics: one
// volume per file, records of any length, filemarks, a capacity with an
// early-warning zone, variable and fixed block modes, and fault injection
// for tests. It is what the tests of everything above the drivers run
// against, and it is usable as virtual tape on disk (file: URLs), with a
// directory of volume files as a changer (dir: URLs).
//
// A volume file survives the process: it can be closed, reopened and read,
// and a volume torn by a crash reads as ending after its last intact
// entry. The on-disk format is in format.go and docs/tape.md.
package emulator
