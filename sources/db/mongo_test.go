package db

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mongoPassword has a quote, a backslash and a space: the engine's YAML
// --config file must escape them.
const mongoPassword = `mongo "secret" \ pw`

// mongoServer is a private FerretDB v1 (the MongoDB wire protocol over
// SQLite; Debian has no MongoDB server) on 127.0.0.1 with SCRAM
// authentication and one user, backup, in the admin database. The tools
// are the real mongodump, mongorestore, mongoimport and mongoexport
// (scripts/db-deps.sh builds both from the Go module proxy).
type mongoServer struct {
	dir  string
	port int
	cnf  string // the tools' --config file holding the password
}

func startMongo(t *testing.T) *mongoServer {
	t.Helper()
	requireTools(t, "ferretdb", "mongodump", "mongorestore", "mongoimport", "mongoexport")
	s := &mongoServer{dir: t.TempDir(), port: freePort(t)}
	s.cnf = filepath.Join(s.dir, "tools.yaml")
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(mongoPassword) + `"`
	if err := os.WriteFile(s.cnf, []byte("password: "+q+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(s.dir, "data"), 0o700)
	cmd := exec.Command(lookTool(t, "ferretdb"), "--handler=sqlite", "--sqlite-url=file:"+s.dir+"/data/",
		"--state-dir="+s.dir, "--listen-addr=127.0.0.1:"+strconv.Itoa(s.port), "--debug-addr=-",
		"--telemetry=disable", "--log-level=error", "--test-enable-new-auth",
		"--setup-database=admin", "--setup-username=backup", "--setup-password="+mongoPassword)
	log, err := os.Create(filepath.Join(s.dir, "ferretdb.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); log.Close() })
	for i := 0; ; i++ {
		// mongoexport of a missing collection succeeds once the server
		// accepts the login.
		if _, err := s.tool("mongoexport", "--db=admin", "--collection=none"); err == nil {
			return s
		}
		if i > 200 {
			b, _ := os.ReadFile(filepath.Join(s.dir, "ferretdb.log"))
			t.Fatalf("ferretdb did not start: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lookTool finds a program in PATH or the Go bin directory.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := tool(Conn{}, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tool runs one of the mongo tools as backup against the server.
func (s *mongoServer) tool(name string, args ...string) (string, error) {
	argv := append([]string{"--host=127.0.0.1", "--port=" + strconv.Itoa(s.port), "--username=backup",
		"--config=" + s.cnf, "--authenticationDatabase=admin", "--quiet"}, args...)
	p, err := tool(Conn{}, name)
	if err != nil {
		return "", err
	}
	out, err := exec.Command(p, argv...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = fmt.Errorf("%s: %w: %s", name, err, ee.Stderr)
	}
	return string(out), err
}

func (s *mongoServer) must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := s.tool(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *mongoServer) conn(db string) Conn {
	return Conn{Engine: "mongodb", Host: "127.0.0.1", Port: s.port, User: "backup", Password: mongoPassword, Database: db}
}

func (s *mongoServer) target(db string) string { return db }

// mongoOrders is the number of documents in the orders collection.
const mongoOrders = 100000

// importDocs writes docs as JSON lines and imports them, replacing the
// collection if drop is set.
func (s *mongoServer) importDocs(t *testing.T, db, coll string, drop bool, docs []map[string]any) {
	t.Helper()
	f, err := os.CreateTemp(s.dir, "docs-*.json")
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	defer os.Remove(f.Name())
	// In file order: FerretDB, like MongoDB, dumps in insertion order, and
	// parallel batches would shuffle the documents of a re-import.
	args := []string{"--db=" + db, "--collection=" + coll, "--file=" + f.Name(), "--maintainInsertionOrder"}
	if drop {
		args = append(args, "--drop")
	}
	s.must(t, "mongoimport", args...)
}

func mongoOrder(i int, note string) map[string]any {
	return map[string]any{"_id": i, "customer": fmt.Sprintf("customer-%d", i%997), "amount": float64(i) * 1.25,
		"note": note, "tags": []string{"a", strconv.Itoa(i % 7)}}
}

// orderNote is a document's ~900 bytes of text, different for every
// order: runs of one letter would give the chunker no boundaries (its
// rolling hash is constant over them), so chunks would all be 8 MiB.
func orderNote(i int) string {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	b := make([]byte, 900)
	for j := range b {
		b[j] = "abcdefghijklmnopqrstuvwxyz      "[rng.IntN(32)]
	}
	return string(b)
}

// orders returns the orders collection, with the contiguous 1% from
// the middle changed if changed is set.
func orders(changed bool) []map[string]any {
	docs := make([]map[string]any, 0, mongoOrders)
	for i := 1; i <= mongoOrders; i++ {
		note := orderNote(i)
		if changed && i >= mongoOrders/2 && i < mongoOrders/2+mongoOrders/100 {
			note = "changed"
		}
		docs = append(docs, mongoOrder(i, note))
	}
	return docs
}

func (s *mongoServer) seed(t *testing.T, db string) {
	s.importDocs(t, db, "orders", false, orders(false))
	var cust []map[string]any
	for i := 1; i <= 997; i++ {
		cust = append(cust, map[string]any{"_id": i, "name": fmt.Sprintf("name-%d", i), "quote": `it's "quoted" \ and ünïcode`})
	}
	s.importDocs(t, db, "customers", false, cust)
}

// change changes 1% of the orders, a contiguous range in the middle, by
// importing the collection anew: FerretDB's SQLite backend scans the whole
// collection for every update (1 000 upserts take minutes), so an in-place
// update is not practical here.
func (s *mongoServer) change(t *testing.T, db string) {
	s.importDocs(t, db, "orders", true, orders(true))
}

// checksums are per collection the document count and a hash of the
// documents exported in _id order as canonical extended JSON.
func (s *mongoServer) checksums(t *testing.T, db string) map[string]string {
	out := map[string]string{}
	for _, coll := range []string{"orders", "customers"} {
		exp := s.must(t, "mongoexport", "--db="+db, "--collection="+coll, "--sort={\"_id\":1}", "--jsonFormat=canonical")
		out[coll] = fmt.Sprintf("%d %s", strings.Count(exp, "\n"), hashString(exp))
	}
	return out
}

func TestMongoDB(t *testing.T) {
	t.Parallel()
	s := startMongo(t)
	t.Run("incremental and restore", func(t *testing.T) { incrementalAndRestore(t, s, "shop_restored") })
	t.Run("failures", func(t *testing.T) {
		wrong := s.conn("shop")
		wrong.Password = "nope"
		down := s.conn("shop")
		down.Port = freePort(t)
		checkFailures(t, s.conn("shop"), map[string]Conn{"wrong password": wrong, "no server": down}, 200*time.Millisecond)
	})
}
