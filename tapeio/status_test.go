package tapeio

import "testing"

func TestStatusString(t *testing.T) {
	s := Status{Online: true, Filemark: true, EarlyWarning: true, File: 3, Record: 0, BlockSize: 512}
	if got, want := s.String(), "file=3 record=0 blocksize=512 ONLINE EOF EW"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
