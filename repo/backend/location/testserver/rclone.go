package testserver

import (
	"os/exec"
	"testing"
)

// REST is `rclone serve restic` serving a temp directory on loopback.
type REST struct {
	// URL is the server's base URL, ending in "/".
	URL string
	// Dir is the directory it serves.
	Dir string
}

// StartRclone starts `rclone serve restic` (Debian package rclone) for
// the test.
func StartRclone(t testing.TB) *REST {
	t.Helper()
	bin, ok := lookBin("CAIRN_RCLONE", "rclone")
	if !ok {
		missing(t, "rclone not found (CAIRN_RCLONE, PATH); apt-get install rclone")
	}
	dir := t.TempDir()
	a := addr(FreePort(t))
	cmd := exec.Command(bin, "serve", "restic", "--config", "/dev/null", "--addr", a, dir)
	process(t, "rclone", cmd, a)
	return &REST{URL: "http://" + a + "/", Dir: dir}
}
