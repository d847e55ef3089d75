package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SSH is an OpenSSH sshd serving sftp on loopback, with a throwaway host
// key and user key.
type SSH struct {
	// Port is the listening port on 127.0.0.1.
	Port int
	// User logs in with the user key (the current user).
	User string
	// Args are the ssh client arguments that use the user key and trust
	// only this server's host key, non-interactively.
	Args []string
	// Dir is a directory the user can write, for repositories.
	Dir string
}

// StartSSHD starts Debian's sshd (`sshd -D -f CONFIG`) in a temp dir. It
// needs root (sshd's privilege separation), openssh-server and ssh-keygen.
func StartSSHD(t testing.TB) *SSH {
	t.Helper()
	sshd, ok := lookBin("CAIRN_SSHD", "sshd", "/usr/sbin")
	keygen, ok2 := lookBin("CAIRN_SSH_KEYGEN", "ssh-keygen")
	if !ok || !ok2 {
		missing(t, "sshd or ssh-keygen not found; apt-get install openssh-server")
	}
	if os.Geteuid() != 0 {
		missing(t, "sshd tests need root (privilege separation)")
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, k := range []string{"host_key", "user_key"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	copyFile(t, filepath.Join(dir, "user_key.pub"), filepath.Join(dir, "authorized_keys"))
	port := FreePort(t)
	hostPub, err := os.ReadFile(filepath.Join(dir, "host_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	known := fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub)
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Join([]string{
		fmt.Sprintf("Port %d", port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"StrictModes no", "UsePAM no", "PasswordAuthentication no",
		"KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
		"MaxSessions 100", "MaxStartups 100",
		"Subsystem sftp internal-sftp", "LogLevel ERROR",
	}, "\n") + "\n"
	cfgFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	process(t, "sshd", exec.Command(sshd, "-D", "-e", "-f", cfgFile), addr(port))
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	return &SSH{Port: port, User: user, Dir: data, Args: []string{
		"-i", filepath.Join(dir, "user_key"),
		"-o", "UserKnownHostsFile=" + filepath.Join(dir, "known_hosts"),
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-F", "/dev/null",
	}}
}

// URL returns the sftp: location of path (absolute) on the server.
func (s *SSH) URL(path string) string {
	return fmt.Sprintf("sftp://%s@127.0.0.1:%d/%s", s.User, s.Port, path)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
