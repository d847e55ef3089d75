// Package vmware backs up the disks of a vSphere virtual machine through
// Changed Block Tracking (CBT), with govmomi.
//
// A run: connect; find the VM; remove a snapshot left by a crashed cairn
// run; enable CBT if it is off; create a snapshot (quiesced when asked
// and possible); for each disk ask QueryChangedDiskAreas which areas to
// read (changeId "*" on a full read, so unallocated areas are skipped; the
// parent's changeId on an incremental); read them from the datastore's
// /folder HTTP endpoint with Range requests; chunk with the CBT re-sync of
// package blockdev, so unchanged regions reuse the parent's chunks without
// being read; save the .vmx, .nvram and disk descriptors; and always remove
// the snapshot, also on error, cancellation and timeout.
//
// CBT is trusted only when it is safe: no parent changeId, a changeId
// from another CBT epoch, a failed query, a disk that changed capacity,
// datastore, backing file or uuid all fall back to a full read, recorded
// per disk in the snapshot's details. See docs/source-vmware.md.
package vmware
