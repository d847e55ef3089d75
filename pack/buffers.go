package pack

// Buffers is scratch space that a reader of many blobs reuses from call to
// call: Raw for the sealed bytes read from a pack, Plain for a decoded
// blob. It carries no state between calls; use one per goroutine.
type Buffers struct {
	Raw, Plain []byte
}
