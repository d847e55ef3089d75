// Package st drives a real tape drive through the Linux SCSI tape driver:
// read(2) and write(2) move records, MTIOCTOP/MTIOCGET ioctls position the
// tape and report its state. Use the no-rewind device (/dev/nstN): the
// rewinding /dev/stN rewinds on every close, so a program that closes and
// reopens it overwrites the tape from the start. Open refuses it unless
// asked.
//
// golang.org/x/sys/unix lacks the mtio definitions, so mtio.go carries
// them for the 64-bit Linux ports with the generic ioctl encoding; other
// platforms get an Open that fails.
//
// No SCSI tape (nor st, scsi_debug or mhvtl) runs on the test machines:
// the tests drive the ioctl layer through a mock kernel backed by the
// emulator, and the drivetest conformance suite runs against a real drive
// only when TAPE_DEVICE names one.
package st
