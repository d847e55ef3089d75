// Package scan reads export sets back: Scan rebuilds a working repository
// from volumes alone (no catalog, no original repository), Verify re-reads
// every block of a set and checks every file, List reads labels and
// catalogs, and Restore restores one snapshot's files straight from the
// volumes into a directory (planned from the trees, which a set holds
// before its data, then written as the data streams by).
//
// Scan reads every volume block by block, in any order, and keeps every
// intact block: a damaged block costs only the bytes it carried, because
// every block says which file and offset its data belongs to. The
// volume package's readers deliberately drop the rest of a tape file after
// damage (they present files as streams); scan needs the opposite, so it
// decodes blocks itself from the normative format in docs/tape.md, as
// Bacula's bscan does. Verify uses the volume package's SetReader, so the
// two readers check each other.
package scan
