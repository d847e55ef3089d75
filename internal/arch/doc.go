// Package arch holds no code: its test enforces the package arrows drawn
// in DESIGN.md (nothing imports cmd; pack, index and chunker know nothing
// of sources; sources see the repository only from above).
package arch
