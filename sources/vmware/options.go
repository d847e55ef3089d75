package vmware

import (
	"context"

	"cairn/chunker"
	"cairn/internal/crypto"
)

// Quiesce chooses how the VM snapshot is taken.
type Quiesce string

// Quiesce modes.
const (
	// QuiesceAuto tries a quiesced snapshot (VMware Tools) and falls back
	// to a crash-consistent one when quiescing fails.
	QuiesceAuto Quiesce = "auto"
	// QuiesceAlways fails the backup when quiescing fails.
	QuiesceAlways Quiesce = "always"
	// QuiesceNever takes a crash-consistent snapshot.
	QuiesceNever Quiesce = "never"
)

// Parent is the previous backup of the same VM.
type Parent struct {
	Root    crypto.ID
	Details *Details
}

// Options configure one Backup run.
type Options struct {
	// VM names the VM; Moref (a moref value like "vm-42") wins if set.
	VM    string
	Moref string
	// Chunker are the repository's chunking parameters.
	Chunker chunker.Params
	// Parent is the parent snapshot. When nil, LookupParent (if set) is
	// asked once the VM is resolved, so that the caller can find the
	// previous backup by the VM's name; nil from both means a full backup.
	Parent       *Parent
	LookupParent func(ctx context.Context, vcenter, vm string) (*Parent, error)
	// Quiesce defaults to QuiesceAuto.
	Quiesce Quiesce
	// Workers bounds the parallel Range requests and blob saves per disk;
	// 0 means 4.
	Workers int
	// Log, if set, receives the run's messages (CBT enabled, fallbacks,
	// leftover snapshot removed); they are also kept in Details.Notes.
	Log func(msg string)
	// Progress, if set, is called with bytes done and total over all disks.
	Progress func(done, total int64)

	// retry overrides the Range request retry policy (tests).
	retry *retryPolicy
	// afterSnapshot, if set, runs once the VM snapshot exists (tests
	// inject failures there).
	afterSnapshot func()
}
