// Package tapeio defines how cairn talks to tape: the Drive and Changer
// interfaces that the Linux st driver (package st) and the file-backed
// emulator (package emulator) implement, and the sentinel errors through
// which both report the conditions a tape program must react to
// (filemarks, end of data, end of medium).
//
// The semantics follow the Linux st driver on a no-rewind device
// (/dev/nstN), because that is what a real drive gives us; the emulator
// reproduces them so that code tested against it behaves the same on a
// real drive. docs/tape.md is the normative description.
//
// Sub-packages: emulator (virtual tape files and a directory changer), st
// (the Linux driver), open (drive and changer URLs), drivetest (the
// conformance suite every Drive must pass) and volume (the on-tape volume
// and block format).
package tapeio
