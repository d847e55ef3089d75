package stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/tree"
)

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed)})
	_, _ = r.Read(b)
	return b
}

func TestBackupRoundTripAndDedup(t *testing.T) {
	ctx := context.Background()
	r := testRepo(t)
	sr := Repository{r}
	data := randomBytes(24<<20, 1)
	req := Request{Kind: repo.KindStdin, Name: "data.bin", Save: SaveOptions{Chunker: r.ChunkerParams(), Workers: 3}}
	sn, err := Backup(ctx, sr, bytes.NewReader(data), req)
	if err != nil {
		t.Fatal(err)
	}
	if sn.Summary.TotalBytes != int64(len(data)) || sn.Summary.BytesAddedRaw != int64(len(data)) || sn.Paths[0] != "/data.bin" {
		t.Fatalf("summary %+v paths %v", sn.Summary, sn.Paths)
	}
	n, err := Find(ctx, sr, sn.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Copy(ctx, sr, n, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("restored stream differs")
	}
	// Change 64 KiB in the middle: only the chunks around it are new.
	copy(data[12<<20:], randomBytes(64<<10, 2))
	sn2, err := Backup(ctx, sr, bytes.NewReader(data), req)
	if err != nil {
		t.Fatal(err)
	}
	if sn2.Parent == nil || *sn2.Parent != sn.ID {
		t.Fatalf("parent %v, want %s", sn2.Parent, sn.ID.Short())
	}
	if added := sn2.Summary.BytesAddedRaw; added > 10<<20 {
		t.Fatalf("second backup added %d bytes for a 64 KiB change", added)
	}
	rd := Reader(ctx, sr, mustFind(t, sr, sn2.Tree))
	got, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("second restore: %v, equal=%v", err, bytes.Equal(got, data))
	}
}

func mustFind(t *testing.T, l Loader, root crypto.ID) *tree.Node {
	t.Helper()
	n, err := Find(context.Background(), l, root)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEmptyStream(t *testing.T) {
	r := testRepo(t)
	sn, err := Backup(context.Background(), Repository{r}, strings.NewReader(""), Request{Kind: repo.KindStdin, Name: "empty", Save: SaveOptions{Chunker: r.ChunkerParams()}})
	if err != nil {
		t.Fatal(err)
	}
	if sn.Summary.TotalBytes != 0 {
		t.Fatalf("%+v", sn.Summary)
	}
}

func TestCommandFailuresLeaveNoSnapshot(t *testing.T) {
	r := testRepo(t)
	sr := Repository{r}
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, randomBytes(6<<20, 3), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		argv   []string
		code   int
		signal string
		stderr string
	}{
		{"exit status", []string{"sh", "-c", `cat "$0"; echo "dump broke" >&2; exit 3`, big}, 3, "", "dump broke"},
		{"killed", []string{"sh", "-c", `cat "$0"; kill -9 $$`, big}, -1, "killed", ""},
		{"no output", []string{"false"}, 1, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var passed bytes.Buffer
			cmd, err := Command(context.Background(), tc.argv, CommandOptions{Stderr: &passed})
			if err != nil {
				t.Fatal(err)
			}
			defer cmd.Close()
			_, err = Backup(context.Background(), sr, cmd, Request{Kind: repo.KindStdin, Name: "x", Save: SaveOptions{Chunker: r.ChunkerParams()}})
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v, want *ExitError", err)
			}
			if ee.ExitCode != tc.code || ee.Signal != tc.signal || !strings.Contains(ee.StderrTail, tc.stderr) {
				t.Fatalf("status %+v", ee.Status)
			}
			if !strings.Contains(passed.String(), tc.stderr) {
				t.Fatalf("stderr not passed through: %q", passed.String())
			}
			if n := snapshotCount(t, r); n != 0 {
				t.Fatalf("%d snapshots after a failed command", n)
			}
		})
	}
	if _, err := Command(context.Background(), nil, CommandOptions{}); !errors.Is(err, ErrEmptyCommand) {
		t.Fatalf("empty argv: %v", err)
	}
}

func TestCommandStatusAndNoShell(t *testing.T) {
	r := testRepo(t)
	// An argument full of shell syntax reaches the program verbatim.
	arg := `$(touch /tmp/cairn-pwned); echo hi | cat`
	cmd, err := Command(context.Background(), []string{"printf", "%s", arg}, CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	var st Status
	sn, err := Backup(context.Background(), Repository{r}, cmd, Request{Kind: repo.KindStdin, Name: "x",
		Save: SaveOptions{Chunker: r.ChunkerParams()}, Source: func() any { st = cmd.Status(); return st }})
	if err != nil {
		t.Fatal(err)
	}
	if sn.Summary.TotalBytes != int64(len(arg)) || st.ExitCode != 0 || st.Command[2] != arg {
		t.Fatalf("summary %+v status %+v", sn.Summary, st)
	}
	if _, err := os.Stat("/tmp/cairn-pwned"); err == nil {
		t.Fatal("argument was run by a shell")
	}
}

// failingSaver fails after n blobs.
type failingSaver struct {
	Saver
	n int
}

var errBoom = errors.New("boom")

func (f *failingSaver) SaveBlobWithID(ctx context.Context, t pack.BlobType, id crypto.ID, data []byte) (bool, error) {
	f.n--
	if f.n < 0 {
		return false, errBoom
	}
	return f.Saver.SaveBlobWithID(ctx, t, id, data)
}

func TestSaveFailureStopsTheStream(t *testing.T) {
	r := testRepo(t)
	s := &failingSaver{Saver: Repository{r}, n: 2}
	_, err := Save(context.Background(), s, bytes.NewReader(randomBytes(16<<20, 4)), SaveOptions{Chunker: r.ChunkerParams(), Workers: 1})
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestCancelKillsCommand(t *testing.T) {
	r := testRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd, err := Command(ctx, []string{"sh", "-c", "head -c 3000000 /dev/zero; sleep 60"}, CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	done := make(chan error, 1)
	go func() {
		_, err := Backup(ctx, Repository{r}, cmd, Request{Kind: repo.KindStdin, Name: "x", Save: SaveOptions{Chunker: r.ChunkerParams()}})
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled backup succeeded")
	}
	if n := snapshotCount(t, r); n != 0 {
		t.Fatalf("%d snapshots", n)
	}
}
