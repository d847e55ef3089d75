package fuse

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// MountOptions configure how the file system is mounted.
type MountOptions struct {
	// AllowOther lets other users than the one mounting see the files
	// (fuse's allow_other; for non-root users it needs user_allow_other
	// in /etc/fuse.conf). File permissions are then enforced by the
	// kernel (default_permissions), as on the original file system.
	AllowOther bool
	// Fusermount mounts with the fusermount3 helper even as root.
	// Otherwise root mounts directly with mount(2), needing no helper,
	// and other users go through fusermount3.
	Fusermount bool
	// FsName is the source shown in the mount table (default "cairn").
	FsName string
	// NoXattrs answers every extended attribute request with ENOSYS,
	// after which the kernel stops asking: ls -l then costs one FUSE
	// round trip per entry less (it asks for ACLs and security labels),
	// but the recorded xattrs cannot be read.
	NoXattrs bool
	// Debug logs every FUSE request.
	Debug bool
	// Log receives go-fuse's messages (default: the standard logger).
	Log *log.Logger
}

// Mount is a mounted file system.
type Mount struct {
	Dir    string
	server *gofuse.Server
	// Cleared is set when a stale mount was removed before mounting.
	Cleared bool
}

// maxRead is the largest read request: larger requests mean fewer round
// trips through the kernel for sequential reads of big files.
const maxRead = 1 << 20

// Mount mounts f at dir, read only, and serves it until Unmount or an
// external umount; Wait waits for that. A stale mount left at dir by a
// killed process is removed first (lazily, MNT_DETACH).
func (f *FS) Mount(dir string, o MountOptions) (*Mount, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cleared, err := ClearStale(dir)
	if err != nil {
		return nil, err
	}
	if mounted, err := isMountPoint(dir); err != nil {
		return nil, err
	} else if mounted {
		return nil, fmt.Errorf("%s: %w", dir, ErrMounted)
	}
	if o.FsName == "" {
		o.FsName = "cairn"
	}
	if o.Log == nil {
		o.Log = log.Default()
	}
	opts := []string{"ro"}
	if o.AllowOther {
		opts = append(opts, "default_permissions")
	}
	zero := time.Duration(0)
	gopts := &gofs.Options{
		MountOptions: gofuse.MountOptions{
			AllowOther:    o.AllowOther,
			Options:       opts,
			FsName:        strings.NewReplacer(",", "_", " ", "_").Replace(o.FsName),
			Name:          "cairn",
			DirectMount:   os.Geteuid() == 0 && !o.Fusermount,
			MaxWrite:      maxRead,
			MaxReadAhead:  maxRead,
			DisableXAttrs: o.NoXattrs,
			Debug:         o.Debug,
			Logger:        o.Log,
		},
		// Zero defaults: every node sets its own timeouts, and a name not
		// found must be asked again (a new snapshot may have it).
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		// A file recorded with mode 0 must show mode 0.
		NullPermissions: true,
		Logger:          o.Log,
	}
	server, err := gofs.Mount(dir, f.NewRoot(), gopts)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return &Mount{Dir: dir, server: server, Cleared: cleared}, nil
}

// Wait returns when the file system is unmounted.
func (m *Mount) Wait() { m.server.Wait() }

// Unmount unmounts the file system. When it is busy (a shell in it, an
// open file), it is detached lazily instead: it disappears from the
// namespace now and the kernel lets go once the last user is gone.
func (m *Mount) Unmount() error {
	err := m.server.Unmount()
	if err == nil {
		return nil
	}
	if derr := detach(m.Dir); derr != nil {
		return fmt.Errorf("unmount %s: %v; lazy unmount: %w", m.Dir, err, derr)
	}
	return nil
}

// ClearStale removes a dead mount at dir: after its server was killed, a
// FUSE mount point fails every access with ENOTCONN until unmounted. It
// reports whether there was one to remove.
func ClearStale(dir string) (bool, error) {
	var st unix.Stat_t
	err := unix.Stat(dir, &st)
	if !errors.Is(err, unix.ENOTCONN) {
		return false, nil // a real error shows when mounting
	}
	if err := detach(dir); err != nil {
		return false, fmt.Errorf("%s: %w: %v; run `umount -l %s` (or `fusermount3 -uz %s`)", dir, ErrStale, err, dir, dir)
	}
	return true, nil
}

// detach unmounts dir lazily: with umount2(MNT_DETACH) as root, else
// with fusermount3 -uz, which may unmount a user's own FUSE mounts.
func detach(dir string) error {
	err := unix.Unmount(dir, unix.MNT_DETACH)
	if err == nil || !errors.Is(err, unix.EPERM) {
		return err
	}
	out, ferr := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput()
	if ferr != nil {
		return fmt.Errorf("%v; fusermount3: %v: %s", err, ferr, strings.TrimSpace(string(out)))
	}
	return nil
}

// isMountPoint reports whether something is mounted at dir: its device
// differs from its parent's.
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, fmt.Errorf("mount point: %w", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return false, fmt.Errorf("mount point %s: not a directory", dir)
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, fmt.Errorf("mount point: %w", err)
	}
	return st.Dev != parent.Dev && dir != "/", nil
}
