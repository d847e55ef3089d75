// Package volume is cairn's on-tape format: a set of volumes, each a label
// then tape files separated by filemarks, every record one fixed-size block
// with a self-describing, checksummed header. A Writer splits a stream of
// logical files (config, keys, snapshots, index, packs, catalog) into
// blocks and spans volumes at the end of medium; a VolumeReader reads one
// volume, and a SetReader reassembles the logical files of a set, reporting
// damaged blocks by volume and block number and files made incomplete by a
// missing volume.
//
// The format is normative in docs/tape.md; block.go and label.go encode it.
// Nothing here knows the repository: payloads are opaque bytes.
package volume
