// Package drivetest is the conformance suite for tapeio.Drive
// implementations: the emulator runs it in every test run, the st driver
// runs it against a mock kernel always and against a real drive when
// TAPE_DEVICE is set. A behaviour the suite pins down is one the layers
// above may rely on.
package drivetest
