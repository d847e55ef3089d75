package export

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"cairn/internal/crypto"
	"cairn/repo/backend"
	"cairn/tapeio/volume"
)

// Names of the tape files of an export set. Packs are named "data/<id>".
const (
	NameConfig    = "config"
	NameKeys      = "keys"
	NameSnapshots = "snapshots"
	NameIndex     = "index"
	NameCatalog   = "catalog"
	packPrefix    = "data/"
)

// PackName is the tape file name of a pack.
func PackName(id crypto.ID) string { return packPrefix + id.String() }

// ParsePackName returns the pack id of a tape file name "data/<id>".
func ParsePackName(name string) (crypto.ID, bool) {
	rest, ok := strings.CutPrefix(name, packPrefix)
	if !ok {
		return crypto.ID{}, false
	}
	id, err := crypto.ParseID(rest)
	return id, err == nil
}

// bundleKinds maps the bundled file types to their tape file kind and name.
var bundleKinds = map[backend.FileType]struct {
	kind volume.Kind
	name string
}{
	backend.KeyFile:      {volume.KindKeys, NameKeys},
	backend.SnapshotFile: {volume.KindSnapshot, NameSnapshots},
	backend.IndexFile:    {volume.KindIndex, NameIndex},
}

// Small repository files are bundled, many to one tape file, as a POSIX
// tar stream: a tape file costs at least a block and a filemark, and tar
// can be read with standard tools in a disaster. Entries are named
// "<type>/<name>" exactly as in the repository, and every name is the
// BLAKE3 hash of the content, so a reader checks each entry on its own.

// writeBundle streams the files of type t named names from be as a tar
// stream into w. The modification time is fixed (epoch) so that equal
// bundles are equal bytes.
func writeBundle(ctx context.Context, be backend.Backend, t backend.FileType, names []string, w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, name := range names {
		h := backend.Handle{Type: t, Name: name}
		data, err := backend.LoadAll(ctx, be, h)
		if err != nil {
			return fmt.Errorf("load %s: %w", h, err)
		}
		hdr := &tar.Header{Name: h.String(), Mode: 0o600, Size: int64(len(data)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// ReadBundle calls fn for every entry of a bundle whose content matches
// its name (type/hash). Entries that do not match are counted in bad; a
// damaged stream ends the walk, and the entries before the damage count.
func ReadBundle(r io.Reader, fn func(t backend.FileType, name string, data []byte) error) (bad int, err error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return bad, nil
		}
		if err != nil {
			return bad, fmt.Errorf("bundle: %w", err)
		}
		if hdr.Size > 1<<30 {
			return bad, fmt.Errorf("bundle: entry %q of %d bytes", hdr.Name, hdr.Size)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return bad, fmt.Errorf("bundle: entry %q: %w", hdr.Name, err)
		}
		typ, name, ok := strings.Cut(hdr.Name, "/")
		id, perr := crypto.ParseID(name)
		if !ok || perr != nil || crypto.Hash(data) != id {
			bad++
			continue
		}
		if err := fn(backend.FileType(typ), name, data); err != nil {
			return bad, err
		}
	}
}
