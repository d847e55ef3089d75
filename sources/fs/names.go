package fs

// Names and symlink targets are stored as the raw bytes the file system
// returned: repo/tree encodes names that are not valid UTF-8 losslessly
// (as raw bytes beside a readable rendering), so "caf\xe9" is restored as
// "caf\xe9". These helpers are kept as the single place that decides how
// a name is stored.

// escapeInvalid returns the name to store for s: s itself.
func escapeInvalid(s string) string { return s }

// nameProblem returns the error for an entry whose name cannot be stored
// as is: none can fail since tree blobs hold raw bytes.
func nameProblem(p, name string) error { return nil }
