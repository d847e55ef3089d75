// Package open turns drive and changer URLs into tapeio drivers. It sits
// above the driver packages so that tapeio itself imports none of them:
//
//	st:/dev/nst0?blocksize=262144          Linux st drive
//	file:/path/to/vtape?capacity=64MiB     emulator volume file
//	dir:/path?slots=8&capacity=64MiB       directory of emulator volumes (a changer)
//
// The set of schemes is fixed here rather than registered at init time, so
// there is no package-level mutable state. Unknown query parameters are
// errors: a misspelt capacity must not silently become unlimited.
package open

import (
	"fmt"
	"net/url"
	"strconv"

	"cairn/tapeio"
	"cairn/tapeio/emulator"
	"cairn/tapeio/st"
)

// Drive opens the drive named by rawURL. See the package comment for the
// schemes; parameters are documented in docs/tape.md.
func Drive(rawURL string) (tapeio.Drive, error) {
	scheme, path, q, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "st":
		return openST(rawURL, path, q)
	case "file":
		opts, err := emulatorOptions(q)
		if err != nil {
			return nil, fmt.Errorf("drive %q: %w", rawURL, err)
		}
		if err := q.unused(); err != nil {
			return nil, fmt.Errorf("drive %q: %w", rawURL, err)
		}
		d, err := emulator.Open(path, opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	case "dir":
		return nil, fmt.Errorf("drive %q: dir: names a changer, not a drive", rawURL)
	}
	return nil, fmt.Errorf("drive %q: unknown scheme %q (want st:/dev/nstN or file:/path)", rawURL, scheme)
}

// Changer opens the changer named by rawURL (dir:/path?slots=N&...).
func Changer(rawURL string) (tapeio.Changer, error) {
	scheme, path, q, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if scheme != "dir" {
		return nil, fmt.Errorf("changer %q: unknown scheme %q (want dir:/path?slots=N)", rawURL, scheme)
	}
	slots, err := q.int("slots", 8)
	if err != nil {
		return nil, fmt.Errorf("changer %q: %w", rawURL, err)
	}
	opts, err := emulatorOptions(q)
	if err != nil {
		return nil, fmt.Errorf("changer %q: %w", rawURL, err)
	}
	if err := q.unused(); err != nil {
		return nil, fmt.Errorf("changer %q: %w", rawURL, err)
	}
	c, err := emulator.NewDirChanger(path, slots, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func openST(rawURL, path string, q query) (tapeio.Drive, error) {
	blockSize, err := q.size("blocksize", 0)
	if err != nil {
		return nil, fmt.Errorf("drive %q: %w", rawURL, err)
	}
	var opts st.Options
	if opts.ReadOnly, err = q.bool("readonly"); err != nil {
		return nil, fmt.Errorf("drive %q: %w", rawURL, err)
	}
	if opts.AllowRewinding, err = q.bool("rewinding"); err != nil {
		return nil, fmt.Errorf("drive %q: %w", rawURL, err)
	}
	if err := q.unused(); err != nil {
		return nil, fmt.Errorf("drive %q: %w", rawURL, err)
	}
	d, err := st.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if _, set := q.v["blocksize"]; set {
		if err := d.SetBlockSize(int(blockSize)); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

func emulatorOptions(q query) (emulator.Options, error) {
	var o emulator.Options
	var err error
	if o.Capacity, err = q.size("capacity", 0); err != nil {
		return o, err
	}
	if o.EarlyWarning, err = q.size("earlywarning", 0); err != nil {
		return o, err
	}
	bs, err := q.size("blocksize", 0)
	if err != nil {
		return o, err
	}
	mr, err := q.size("maxrecord", 0)
	if err != nil {
		return o, err
	}
	o.BlockSize, o.MaxRecordSize = int(bs), int(mr)
	o.ReadOnly, err = q.bool("readonly")
	return o, err
}

// parse splits a URL into scheme, path and query.
func parse(rawURL string) (scheme, path string, q query, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", q, fmt.Errorf("tape URL %q: %w", rawURL, err)
	}
	if u.Scheme == "" {
		return "", "", q, fmt.Errorf("tape URL %q: no scheme (want st:/dev/nstN, file:/path or dir:/path)", rawURL)
	}
	if u.Host != "" || u.User != nil {
		return "", "", q, fmt.Errorf("tape URL %q: host not allowed, use %s:/path", rawURL, u.Scheme)
	}
	path = u.Path
	if u.Opaque != "" {
		path = u.Opaque // relative: file:vol1.vtape
	}
	if path == "" {
		return "", "", q, fmt.Errorf("tape URL %q: no path", rawURL)
	}
	return u.Scheme, path, query{v: u.Query(), used: map[string]bool{}}, nil
}

// query tracks which parameters were consumed, to reject the others.
type query struct {
	v    url.Values
	used map[string]bool
}

func (q query) get(key string) (string, bool) {
	q.used[key] = true
	vs, ok := q.v[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

func (q query) size(key string, def int64) (int64, error) {
	s, ok := q.get(key)
	if !ok {
		return def, nil
	}
	n, err := ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", key, err)
	}
	return n, nil
}

func (q query) int(key string, def int) (int, error) {
	s, ok := q.get(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", key, err)
	}
	return n, nil
}

func (q query) bool(key string) (bool, error) {
	s, ok := q.get(key)
	if !ok {
		return false, nil
	}
	if s == "" {
		return true, nil // ?readonly
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("parameter %s: %w", key, err)
	}
	return b, nil
}

func (q query) unused() error {
	for k := range q.v {
		if !q.used[k] {
			return fmt.Errorf("unknown parameter %q", k)
		}
	}
	return nil
}
