package db

import (
	"os"
	"os/exec"
	"testing"
)

// TestMongoDB is skipped: Debian 12 packages neither a MongoDB server nor
// mongodump/mongorestore, and this machine reaches no other package source,
// so the mongodb engine (mongodump --archive, mongorestore --archive) is
// untested. It is not failed under CAIRN_REQUIRE_DB=1 for that reason.
func TestMongoDB(t *testing.T) {
	if _, err := exec.LookPath("mongod"); err != nil || os.Getenv("CAIRN_TEST_MONGODB") == "" {
		t.Skip("MongoDB support is UNTESTED: Debian 12 ships no MongoDB server or tools (mongod, mongodump); see docs/source-db.md")
	}
	t.Fatal("a MongoDB server is installed: write the test (start mongod on a temp dir, seed, dump, change, restore)")
}
