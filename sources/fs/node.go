package fs

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

// nodeFromStat fills a node from lstat data. Times are stored in UTC so
// that the same file encodes to the same tree blob whatever the TZ of the
// process that backed it up (a cron job and a shell often differ).
func nodeFromStat(name string, st *unix.Stat_t, ids *idNames) *tree.Node {
	n := &tree.Node{
		Name:       name,
		Type:       nodeType(st.Mode),
		Mode:       st.Mode & 0o7777,
		UID:        st.Uid,
		GID:        st.Gid,
		User:       ids.user(st.Uid),
		Group:      ids.group(st.Gid),
		ModTime:    timespec(st.Mtim),
		ChangeTime: timespec(st.Ctim),
		AccessTime: timespec(st.Atim),
		Inode:      st.Ino,
		DeviceID:   st.Dev,
		Links:      uint64(st.Nlink),
	}
	switch n.Type {
	case tree.TypeFile, tree.TypeSymlink:
		n.Size = uint64(st.Size)
	case tree.TypeDev, tree.TypeCharDev:
		n.Rdev = st.Rdev
	}
	return n
}

func timespec(ts unix.Timespec) time.Time {
	return time.Unix(ts.Sec, ts.Nsec).UTC()
}

// nodeType maps the file type bits of st_mode to a tree node type.
func nodeType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return tree.TypeDir
	case unix.S_IFLNK:
		return tree.TypeSymlink
	case unix.S_IFBLK:
		return tree.TypeDev
	case unix.S_IFCHR:
		return tree.TypeCharDev
	case unix.S_IFIFO:
		return tree.TypeFifo
	case unix.S_IFSOCK:
		return tree.TypeSocket
	default:
		return tree.TypeFile
	}
}

// lstat wraps unix.Lstat with an *os.PathError naming the path.
func lstat(p string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	for {
		err := unix.Lstat(p, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		return &st, nil
	}
}

// idNames caches uid and gid lookups for one run: a tree has few distinct
// owners, and os/user lookups may read /etc/passwd or ask NSS each time.
type idNames struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

func newIDNames() *idNames {
	return &idNames{users: map[uint32]string{}, groups: map[uint32]string{}}
}

// user returns the name of uid, or "" when it has none.
func (c *idNames) user(uid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.users[uid]; ok {
		return name
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	c.users[uid] = name
	return name
}

// group returns the name of gid, or "" when it has none.
func (c *idNames) group(gid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.groups[gid]; ok {
		return name
	}
	name := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		name = g.Name
	}
	c.groups[gid] = name
	return name
}

// readXattrs returns the extended attributes of p itself (not of a symlink
// target) in all namespaces the process may read, sorted by name. A file
// system without xattr support yields none; an attribute removed between
// listing and reading is skipped.
func readXattrs(p string) ([]tree.Xattr, error) {
	names, err := listXattrs(p)
	if err != nil {
		return nil, err
	}
	var out []tree.Xattr
	for _, name := range names {
		val, err := getXattr(p, name)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, tree.Xattr{Name: name, Value: val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func listXattrs(p string) ([]string, error) {
	for {
		sz, err := unix.Llistxattr(p, nil)
		if err == unix.ENOTSUP || err == unix.EOPNOTSUPP {
			return nil, nil
		}
		if err != nil {
			return nil, &os.PathError{Op: "llistxattr", Path: p, Err: err}
		}
		if sz == 0 {
			return nil, nil
		}
		buf := make([]byte, sz)
		sz, err = unix.Llistxattr(p, buf)
		if err == unix.ERANGE {
			continue // grew between the two calls
		}
		if err != nil {
			return nil, &os.PathError{Op: "llistxattr", Path: p, Err: err}
		}
		var names []string
		for _, b := range splitNul(buf[:sz]) {
			names = append(names, string(b))
		}
		return names, nil
	}
}

func getXattr(p, name string) ([]byte, error) {
	for {
		sz, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			return nil, xattrErr(p, name, err)
		}
		buf := make([]byte, sz)
		if sz == 0 {
			return buf, nil
		}
		sz, err = unix.Lgetxattr(p, name, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, xattrErr(p, name, err)
		}
		return buf[:sz], nil
	}
}

func xattrErr(p, name string, err error) error {
	return &os.PathError{Op: fmt.Sprintf("lgetxattr %s", name), Path: p, Err: err}
}

// splitNul splits the NUL-terminated list Llistxattr returns.
func splitNul(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}
