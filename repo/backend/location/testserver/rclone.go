package testserver

import (
	"os"
	"os/exec"
	"testing"
)

// REST is `rclone serve restic` on loopback.
type REST struct {
	// URL is the server's base URL, ending in "/".
	URL string
}

// StartRclone starts `rclone serve restic` (Debian package rclone) for
// the test, serving a temp directory. rclone 1.60's local backend writes
// files in place, so a reader racing a rewrite of the same name can see
// a partial file (see docs/backends.md); StartRcloneOnS3 has atomic saves.
func StartRclone(t testing.TB) *REST {
	t.Helper()
	return startRclone(t, t.TempDir())
}

// StartRcloneOnS3 starts `rclone serve restic` storing into bucket of the
// S3 server s (which it must already hold): every save is one atomic PUT.
func StartRcloneOnS3(t testing.TB, s *S3, bucket string) *REST {
	t.Helper()
	remote := ":s3,provider=Other,endpoint='http://" + s.Endpoint + "',access_key_id=" + S3AccessKey +
		",secret_access_key=" + S3SecretKey + ",force_path_style=true,no_check_bucket=true:" + bucket
	return startRclone(t, remote)
}

func startRclone(t testing.TB, remote string) *REST {
	t.Helper()
	bin, ok := lookBin("CAIRN_RCLONE", "rclone")
	if !ok {
		missing(t, "rclone not found (CAIRN_RCLONE, PATH); apt-get install rclone")
	}
	a := addr(FreePort(t))
	// No object cache: with it rclone answers with stale sizes after a
	// file is rewritten.
	cmd := exec.Command(bin, "serve", "restic", "--config", "/dev/null", "--cache-objects=false", "--addr", a, remote)
	// rclone 1.60's AWS SDK refuses a custom CA bundle with its own HTTP
	// transport; loopback needs none.
	for _, kv := range os.Environ() {
		if len(kv) < 14 || kv[:14] != "AWS_CA_BUNDLE=" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	process(t, "rclone", cmd, a)
	return &REST{URL: "http://" + a + "/"}
}
