package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
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
			cmd := exec.Command(cairnBin, args...)
			cmd.Env = append(append(cleanEnv(), tr.env...), vmCreds(env)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Wait for the first disk read, which cannot complete.
			deadline := time.After(2 * time.Minute)
			for env.RangeReads() == 0 {
				select {
				case err := <-done:
					t.Fatalf("backup ended before reading a disk: %v\n%s\n%s", err, stdout.String(), stderr.String())
				case <-deadline:
					_ = cmd.Process.Kill()
					t.Fatal("no disk read within 2 minutes")
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
				t.Fatalf("backup did not stop after %v", sig)
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != exitInterrupted {
				t.Fatalf("exit code %d after %v, want %d\n%s\n%s", code, sig, exitInterrupted, stdout.String(), stderr.String())
			}
			t.Logf("interrupted after %d disk reads: %s", env.RangeReads(), strings.TrimSpace(stderr.String()))
			if strings.Contains(stderr.String(), "NOT removed") {
				t.Errorf("snapshot removal failed: %s", stderr.String())
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
