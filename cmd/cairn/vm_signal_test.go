package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupVMSignal interrupts the real binary while it reads a VM's
// disks (the simulator holds every ranged datastore GET back) and checks
// that it exits with 130, removes its VM snapshot, writes no cairn
// snapshot, and that the next backup succeeds.
func TestBackupVMSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			tr := newTestRepo(t)
			env, vm, disk := cliVM(t)
			env.SlowReads(time.Hour) // until the request is cancelled
			args := []string{"backup-vm", "--vcenter", env.URL(), "--insecure", "--vm", "web01"}
			code, stderr := interrupt(t, tr, vmCreds(env), args, func() bool { return env.RangeReads() > 0 }, sig)
			if code != exitInterrupted {
				t.Fatalf("exit code %d after %v, want %d\n%s", code, sig, exitInterrupted, stderr)
			}
			t.Logf("interrupted after %d disk reads: %s", env.RangeReads(), strings.TrimSpace(stderr))
			if strings.Contains(stderr, "NOT removed") {
				t.Errorf("snapshot removal failed: %s", stderr)
			}
			if got := env.Snapshots(vm); len(got) != 0 {
				t.Fatalf("VM snapshots left after %v: %v", sig, got)
			}
			var sns []json.RawMessage
			if err := json.Unmarshal([]byte(tr.mustRun("snapshots", "--json")), &sns); err != nil || len(sns) != 0 {
				t.Fatalf("cairn snapshots after %v: %d (%v)", sig, len(sns), err)
			}

			env.SlowReads(0)
			r := tr.runEnv(vmCreds(env), append(args, "--json")...)
			if r.code != 0 {
				t.Fatalf("backup after %v: exit %d\n%s\n%s", sig, r.code, r.stdout, r.stderr)
			}
			s := parseSummary(t, r.stdout)
			if got := env.Snapshots(vm); len(got) != 0 {
				t.Fatalf("VM snapshots left: %v", got)
			}
			dst := t.TempDir() + "/disk.img"
			tr.mustRun("restore-vm", s.SnapshotID, "--to", dst)
			got, _ := os.ReadFile(dst)
			want, _ := os.ReadFile(disk.Flat)
			if !bytes.Equal(got, want) {
				t.Fatal("disk restored from the backup after the interrupted one differs")
			}
			tr.mustRun("check", "--read-data")
		})
	}
}

// TestRestoreVMDatastoreSignal interrupts restore-vm --to-datastore while
// the flat extent is being uploaded: exit 130, neither the partial flat
// file nor a descriptor is left, and the same restore then succeeds.
func TestRestoreVMDatastoreSignal(t *testing.T) {
	tr := newTestRepo(t)
	env, _, disk := cliVM(t)
	conn := []string{"--vcenter", env.URL(), "--insecure"}
	r := tr.runEnv(vmCreds(env), append([]string{"backup-vm", "--json", "--vm", "web01"}, conn...)...)
	if r.code != 0 {
		t.Fatalf("backup-vm: exit %d\n%s", r.code, r.stderr)
	}
	id := parseSummary(t, r.stdout).SnapshotID
	env.SlowWrites(100 * time.Millisecond) // 8 MiB take 13 s
	args := append([]string{"restore-vm", id, "--to-datastore", "--datastore-path", "restored/web.vmdk"}, conn...)
	code, stderr := interrupt(t, tr, vmCreds(env), args, func() bool { return env.UploadedBytes() > 0 }, syscall.SIGINT)
	if code != exitInterrupted {
		t.Fatalf("exit code %d, want %d\n%s", code, exitInterrupted, stderr)
	}
	t.Logf("interrupted after %d bytes uploaded: %s", env.UploadedBytes(), strings.TrimSpace(stderr))
	dir := filepath.Join(env.DSDir, "restored")
	for _, f := range []string{"web-flat.vmdk", "web.vmdk"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("interrupted upload left %s (%v)", f, err)
		}
	}
	env.SlowWrites(0)
	if r := tr.runEnv(vmCreds(env), args...); r.code != 0 {
		t.Fatalf("restore after the interrupted one: exit %d\n%s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "web-flat.vmdk"))
	want, _ := os.ReadFile(disk.Flat)
	if !bytes.Equal(got, want) {
		t.Fatal("restore after the interrupted one: uploaded disk differs")
	}
}

// interrupt runs the binary with args, sends sig once started() holds,
// and returns the exit code and standard error.
func interrupt(t *testing.T, tr *testRepo, extraEnv, args []string, started func() bool, sig syscall.Signal) (int, string) {
	t.Helper()
	cmd := exec.Command(cairnBin, args...)
	cmd.Env = append(append(cleanEnv(), tr.env...), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for !started() {
		select {
		case err := <-done:
			t.Fatalf("cairn %s ended before it could be interrupted: %v\n%s\n%s", args[0], err, stdout.String(), stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("cairn %s: nothing to interrupt within 2 minutes", args[0])
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-deadline:
		_ = cmd.Process.Kill()
		t.Fatalf("cairn %s did not stop after %v", args[0], sig)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}
