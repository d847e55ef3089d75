package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
	fsrestore "cairn/sources/fs/restore"
)

// restorePlan is what a tape restore knows once the snapshot's trees are
// in: for every data blob the file offsets it goes to. Its size follows
// the snapshot's metadata (one entry per chunk), never its data.
type restorePlan struct {
	target  string
	staging string
	// trees holds tree plaintexts by id until the plan is made; only the
	// snapshot's are kept after.
	trees map[crypto.ID][]byte
	files []*plannedFile
	// byDst finds a file by the target path Restore will ask about.
	byDst map[string]int
	// need lists, per data blob not yet written, where it goes.
	need map[crypto.ID][]blobTarget
	// missingTrees counts subtrees the walk could not load.
	missingTrees int
	open         map[int]*os.File
}

type plannedFile struct {
	dst  string
	node *tree.Node
	// firstLost is the offset of the first chunk that could not be
	// written (-1: none), and why.
	firstLost int64
	lostWhy   error
}

type blobTarget struct {
	file int32
	off  int64
}

// maxOpenStaged bounds the staged files kept open between writes.
const maxOpenStaged = 64

// makePlan walks the snapshot from root with the trees read so far and
// plans every regular file Restore will create with content. It reports
// false, and plans nothing, while a tree is missing, unless partial: then
// the missing subtrees are left out (Restore reports them).
func makePlan(root crypto.ID, trees map[crypto.ID][]byte, sel *fsrestore.Selector, target string, partial bool) (*restorePlan, bool, error) {
	p := &restorePlan{
		target: target, staging: filepath.Join(target, ".cairn-tape-restore"), trees: trees,
		byDst: map[string]int{}, need: map[crypto.ID][]blobTarget{}, open: map[int]*os.File{},
	}
	links := map[[2]uint64]bool{}
	used := map[crypto.ID]bool{}
	var walk func(id crypto.ID, comps []string, dst string) (bool, error)
	walk = func(id crypto.ID, comps []string, dst string) (bool, error) {
		t, err := p.tree(id)
		if err != nil {
			if !partial {
				return false, nil
			}
			p.missingTrees++
			return true, nil
		}
		used[id] = true
		for _, n := range t.Nodes {
			c := append(comps[:len(comps):len(comps)], n.Name)
			if sel.Skip(c, n.Type == tree.TypeDir) || tree.ValidName(n.Name) != nil {
				continue
			}
			d := dst + "/" + n.Name
			switch {
			case n.Type == tree.TypeDir && n.Subtree != nil:
				if ok, err := walk(*n.Subtree, c, d); !ok || err != nil {
					return ok, err
				}
			case n.Type == tree.TypeFile:
				// Restore gives a hardlinked inode's content to its first path.
				if n.Links >= 2 && n.Inode != 0 {
					k := [2]uint64{n.DeviceID, n.Inode}
					if links[k] {
						continue
					}
					links[k] = true
				}
				p.addFile(n, d)
			}
		}
		return true, nil
	}
	ok, err := walk(root, nil, target)
	if !ok || err != nil {
		return nil, ok, err
	}
	for id := range p.trees {
		if !used[id] {
			delete(p.trees, id)
		}
	}
	return p, true, nil
}

func (p *restorePlan) tree(id crypto.ID) (*tree.Tree, error) {
	data, ok := p.trees[id]
	if !ok {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), errTreeMissing)
	}
	return tree.Decode(data)
}

// errTreeMissing: a tree blob was not (yet) read from tape.
var errTreeMissing = errors.New("not read from tape")

func (p *restorePlan) addFile(n *tree.Node, dst string) {
	i := len(p.files)
	var off int64
	has := false
	for _, c := range n.Content {
		if !c.IsHole() {
			p.need[c.ID] = append(p.need[c.ID], blobTarget{file: int32(i), off: off})
			has = true
		}
		off += int64(c.Size)
	}
	if !has {
		return // empty or all holes: Restore writes it from the tree alone
	}
	p.files = append(p.files, &plannedFile{dst: dst, node: n, firstLost: -1})
	p.byDst[dst] = i
}

// stagedPath is where file i's content is written before Restore moves
// it into place (on the target's file system, so the move is a rename).
func (p *restorePlan) stagedPath(i int) string {
	return filepath.Join(p.staging, strconv.Itoa(i))
}

// createStaged makes the staging directory. A staged file is created when
// its first blob arrives, and content is written into it at its offsets,
// leaving holes unwritten.
func (p *restorePlan) createStaged() error {
	if err := os.MkdirAll(p.staging, 0o700); err != nil {
		return fmt.Errorf("tape restore: %w", err)
	}
	return nil
}

// wants reports whether blob id is still to be written.
func (p *restorePlan) wants(id crypto.ID) bool {
	_, ok := p.need[id]
	return ok
}

// write puts a data blob's plaintext at every offset it belongs to.
func (p *restorePlan) write(b pack.Blob, plain []byte) error {
	for _, t := range p.need[b.ID] {
		f, err := p.file(int(t.file))
		if err == nil {
			_, err = f.WriteAt(plain, t.off)
		}
		if err != nil {
			return fmt.Errorf("tape restore: write %s: %w", p.files[t.file].dst, err)
		}
	}
	delete(p.need, b.ID)
	return nil
}

func (p *restorePlan) file(i int) (*os.File, error) {
	if f := p.open[i]; f != nil {
		return f, nil
	}
	if len(p.open) >= maxOpenStaged {
		for k, f := range p.open {
			f.Close()
			delete(p.open, k)
			break
		}
	}
	f, err := os.OpenFile(p.stagedPath(i), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	p.open[i] = f
	return f, nil
}

// closeStaged closes the staged files kept open.
func (p *restorePlan) closeStaged() error {
	var first error
	for k, f := range p.open {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
		delete(p.open, k)
	}
	return first
}

// settle marks, for every blob never written, the files it belonged to:
// each is cut at its first missing chunk.
func (p *restorePlan) settle(why map[crypto.ID]error) {
	for id, ts := range p.need {
		reason := why[id]
		if reason == nil {
			reason = fmt.Errorf("blob %s was not found on the volumes read", id.Short())
		}
		for _, t := range ts {
			f := p.files[t.file]
			if f.firstLost < 0 || t.off < f.firstLost {
				f.firstLost, f.lostWhy = t.off, fmt.Errorf("content from offset %d: %w", t.off, reason)
			}
		}
	}
}

// prewritten implements fsrestore.Options.Prewritten.
func (p *restorePlan) prewritten(n *tree.Node, dst string) (string, int64, error) {
	i, ok := p.byDst[dst]
	if !ok {
		return "", 0, nil
	}
	f := p.files[i]
	if f.firstLost >= 0 {
		// Nothing may have arrived for it at all.
		sf, err := os.OpenFile(p.stagedPath(i), os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return "", 0, err
		}
		if err := sf.Close(); err != nil {
			return "", 0, err
		}
		return p.stagedPath(i), f.firstLost, f.lostWhy
	}
	return p.stagedPath(i), int64(n.ContentSize()), nil
}

// affected lists the files whose content is incomplete, relative to the
// target.
func (p *restorePlan) affected() []AffectedFile {
	var out []AffectedFile
	for _, f := range p.files {
		if f.firstLost >= 0 {
			out = append(out, AffectedFile{Path: strings.TrimPrefix(f.dst, p.target+"/"), Error: f.lostWhy.Error()})
		}
	}
	return out
}

// treeLoader gives Restore the snapshot's trees from the plan; it has no
// data blobs (every file with content is prewritten).
type treeLoader struct{ p *restorePlan }

func (l treeLoader) LoadTree(_ context.Context, id crypto.ID) (*tree.Tree, error) {
	return l.p.tree(id)
}

func (l treeLoader) LoadBlob(_ context.Context, _ pack.BlobType, id crypto.ID, _ []byte) ([]byte, error) {
	return nil, fmt.Errorf("blob %s: %w", id.Short(), errTreeMissing)
}
