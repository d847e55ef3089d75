package st

// Options configure Open.
type Options struct {
	// ReadOnly opens the device for reading only.
	ReadOnly bool
	// AllowRewinding accepts a rewinding device (/dev/stN), which rewinds
	// on every close.
	AllowRewinding bool
}

// scsiTapeMajor is the character-device major number of st.
const scsiTapeMajor = 9

// isRewindingTape reports whether a character device with these numbers is
// a rewinding st device: st's minor has the no-rewind flag in bit 7.
func isRewindingTape(major, minor uint32) bool {
	return major == scsiTapeMajor && minor&0x80 == 0
}
