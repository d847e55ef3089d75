package vmware

import "errors"

// Errors callers can tell apart with errors.Is.
var (
	// ErrVMHasSnapshots: the VM has snapshots that are not cairn's, so its
	// disks are delta chains, which cannot be read over the datastore's
	// /folder endpoint (it serves the raw sparse delta files). Backup
	// refuses such a VM before creating a snapshot of its own.
	ErrVMHasSnapshots = errors.New("VM has snapshots of its own")
	// ErrTargetExists: RestoreToDatastore found the descriptor or flat
	// file it would write, and DatastoreTarget.Force is off.
	ErrTargetExists = errors.New("exists on the datastore")

	// errNotFound: a datastore file is missing (HTTP 404).
	errNotFound = errors.New("not found on the datastore")
)
