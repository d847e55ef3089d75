package db

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// mysqlEscape escapes s as mysqldump writes a string value
// (mysql_real_escape_string).
func mysqlEscape(s string) string {
	return strings.NewReplacer("\\", `\\`, "'", `\'`, "\"", `\"`, "\n", `\n`, "\r", `\r`, "\x00", `\0`, "\x1a", `\Z`).Replace(s)
}

// randomValue is one column value as mysqldump writes it.
func randomValue(rnd *rand.Rand) string {
	const tricky = "ab'\"\\(),;\n\r\x00\x1a `é€0x)"
	switch rnd.IntN(8) {
	case 0:
		return "NULL"
	case 1:
		return fmt.Sprint(rnd.Int64N(1<<40) - 1<<39)
	case 2:
		return fmt.Sprintf("%g", rnd.NormFloat64()*1e12)
	case 3:
		return fmt.Sprintf("0x%X", rnd.Uint64())
	case 4:
		return fmt.Sprintf("b'%b'", rnd.IntN(256))
	case 5:
		return "_binary '" + mysqlEscape(string([]byte{byte(rnd.IntN(256)), byte(rnd.IntN(256))})) + "'"
	default:
		var b strings.Builder
		for range rnd.IntN(40) {
			r := []rune(tricky)
			b.WriteRune(r[rnd.IntN(len(r))])
		}
		if rnd.IntN(10) == 0 {
			b.WriteString("'),('x');\nINSERT INTO `t1` VALUES ('y")
		}
		return "'" + mysqlEscape(b.String()) + "'"
	}
}

// randomRows returns n rows "(v,v,...)" with random values.
func randomRows(rnd *rand.Rand, n int) []string {
	rows := make([]string, n)
	for i := range rows {
		vals := []string{fmt.Sprint(i)}
		for range 1 + rnd.IntN(5) {
			vals = append(vals, randomValue(rnd))
		}
		rows[i] = "(" + strings.Join(vals, ",") + ")"
	}
	return rows
}

// dumpOf writes rows of the table as extended INSERTs cut at random, in
// MySQL's style (one line: "VALUES (..),(..);") or MariaDB's (a row per
// line), between text that must pass through unchanged.
func dumpOf(rnd *rand.Rand, table string, rows []string, mariadb bool) string {
	var b strings.Builder
	b.WriteString("-- MySQL dump\n/*!40101 SET NAMES utf8mb4 */;\n")
	b.WriteString("CREATE TABLE `" + table + "` (\n  `id` int NOT NULL\n) COMMENT='a\\nINSERT INTO `x` VALUES (1)';\n")
	// Text that looks like INSERTs but is not a statement of its own.
	b.WriteString("/* INSERT INTO\nINSERT INTO `c` VALUES (1),(2);\n*/\n")
	b.WriteString("SELECT 'x\nINSERT INTO `s` VALUES (1),(2);\n';\n")
	b.WriteString("DELIMITER ;;\nCREATE PROCEDURE p() BEGIN\nINSERT INTO `p` VALUES (1),(2);\nEND ;;\nDELIMITER ;\n")
	sep, first := ",", " "
	if mariadb {
		sep, first = ",\n", "\n"
	}
	for i := 0; i < len(rows); {
		n := 1 + rnd.IntN(50)
		n = min(n, len(rows)-i)
		b.WriteString("INSERT INTO `" + table + "` VALUES" + first + strings.Join(rows[i:i+n], sep) + ";\n")
		i += n
	}
	b.WriteString("UNLOCK TABLES;\n-- Dump completed\n")
	return b.String()
}

// parseRows is an independent reader of well-formed extended INSERTs of
// table at line starts: it returns the rows in order.
func parseRows(t *testing.T, dump, table string) []string {
	t.Helper()
	var rows []string
	prefix := "INSERT INTO `" + table + "` VALUES"
	for _, stmt := range strings.Split(dump, "\n"+prefix)[1:] {
		s := strings.TrimLeft(stmt, " \n")
		for {
			if !strings.HasPrefix(s, "(") {
				t.Fatalf("row expected at %.40q", s)
			}
			end, inStr := 0, false
			for i := 1; end == 0; i++ {
				switch c := s[i]; {
				case inStr && c == '\\':
					i++
				case c == '\'':
					inStr = !inStr
				case !inStr && c == ')':
					end = i + 1
				}
			}
			rows = append(rows, s[:end])
			s = s[end:]
			if strings.HasPrefix(s, ";") {
				break
			}
			s = strings.TrimPrefix(strings.TrimPrefix(s, ","), "\n")
		}
	}
	return rows
}

func recutString(t testing.TB, in string, avgRows int) string {
	t.Helper()
	var out bytes.Buffer
	if _, err := recutRows(&out, strings.NewReader(in), avgRows); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestRecutKeepsRows(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, mariadb := range []bool{false, true} {
		rows := randomRows(rnd, 5000)
		in := dumpOf(rnd, "t1", rows, mariadb)
		out := recutString(t, in, recutAvgRows)
		if got := parseRows(t, out, "t1"); strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Fatalf("mariadb=%v: rows differ after recut (%d rows, want %d)", mariadb, len(got), len(rows))
		}
		// The statements are cut where the rows say, not where the
		// dump cut them.
		if n := strings.Count(out, "\nINSERT INTO `t1` VALUES\n"); n < 5000/recutAvgRows/3 || n > 5000/recutAvgRows*3 {
			t.Errorf("mariadb=%v: %d statements for 5000 rows", mariadb, n)
		}
		// What is not a statement of its own passes through unchanged.
		for _, keep := range []string{"COMMENT='a\\nINSERT INTO `x` VALUES (1)'", "\nINSERT INTO `c` VALUES (1),(2);\n",
			"\nINSERT INTO `s` VALUES (1),(2);\n", "\nINSERT INTO `p` VALUES (1),(2);\nEND ;;\n"} {
			if !strings.Contains(out, keep) {
				t.Errorf("mariadb=%v: %q was changed", mariadb, keep)
			}
		}
		if again := recutString(t, out, recutAvgRows); again != out {
			t.Errorf("mariadb=%v: recut is not idempotent", mariadb)
		}
	}
}

// TestRecutLocal checks the point of recut: changing the length of one row
// in the middle changes the output only around that row.
func TestRecutLocal(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	rows := randomRows(rnd, 20000)
	a := recutString(t, dumpOf(rand.New(rand.NewPCG(5, 6)), "t1", rows, true), recutAvgRows)
	rows[10000] = "(10000,'" + strings.Repeat("longer ", 50) + "')"
	// The dump tool cuts differently now: a different seed.
	b := recutString(t, dumpOf(rand.New(rand.NewPCG(7, 8)), "t1", rows, true), recutAvgRows)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	if diff := len(b) - pre - suf; diff > 2000 {
		t.Fatalf("one changed row changed %d bytes of the re-cut dump (%d..%d of %d):\n%q\n%q", diff, pre, len(b)-suf, len(b), a[pre-300:pre+100], b[pre-300:pre+100])
	}
}

// TestRecutPassThrough: input without extended INSERTs, or with ones
// that do not parse, comes out byte for byte.
func TestRecutPassThrough(t *testing.T) {
	for _, in := range []string{
		"",
		"no newline at the end",
		"INSERT INTO `t` (`a`) VALUES (1),(2);\n",
		"INSERT INTO `t",
		"INSERT INTO `t` VALUES",
		"SELECT 1;\n\xff\xfe binary \x00\n",
	} {
		if out := recutString(t, in, recutAvgRows); out != in {
			t.Errorf("%q came out as %q", in, out)
		}
	}
}

// TestRecutOdd: statements mysqldump does not write keep their rows and
// the text around them.
func TestRecutOdd(t *testing.T) {
	for in, want := range map[string]string{
		"INSERT INTO `t` VALUES (1),(2) ON DUPLICATE KEY UPDATE a=1;\n":                         "INSERT INTO `t` VALUES\n(1),\n(2) ON DUPLICATE KEY UPDATE a=1;\n",
		"INSERT INTO `t` VALUES (1,'unterminated":                                               "INSERT INTO `t` VALUES\n(1,'unterminated",
		"INSERT INTO `t` VALUES (1),(2)":                                                        "INSERT INTO `t` VALUES\n(1),\n(2)",
		"INSERT INTO `t` VALUES (1);\nINSERT INTO `t` VALUES (2);\nINSERT INTO `u` VALUES (3);": "INSERT INTO `t` VALUES\n(1),\n(2);\nINSERT INTO `u` VALUES\n(3);",
		"INSERT INTO `t` VALUES (1);\nINSERT INTO `t` VALUES x;\n":                              "INSERT INTO `t` VALUES\n(1);\nINSERT INTO `t` VALUES x;\n",
	} {
		if out := recutString(t, in, recutAvgRows); out != want {
			t.Errorf("%q came out as %q, want %q", in, out, want)
		}
	}
}

// TestRecutLargeRow: a row over the statement cap is streamed into a
// statement of its own.
func TestRecutLargeRow(t *testing.T) {
	big := "(2,'" + strings.Repeat("x", recutMaxStatement+100) + "')"
	in := "INSERT INTO `t` VALUES (1),(1)," + big + ",(3);\n"
	out := recutString(t, in, 1<<30)
	want := "INSERT INTO `t` VALUES\n(1),\n(1);\nINSERT INTO `t` VALUES\n" + big + ";\nINSERT INTO `t` VALUES\n(3);\n"
	if out != want {
		t.Fatalf("got %.200q…", out)
	}
}

// FuzzRecut: on any input recut does not fail, is idempotent, and keeps
// the rows: cutting after every row gives the same text for its output as
// for its input.
func FuzzRecut(f *testing.F) {
	rnd := rand.New(rand.NewPCG(9, 10))
	f.Add(dumpOf(rnd, "t", randomRows(rnd, 20), false))
	f.Add(dumpOf(rnd, "t", randomRows(rnd, 20), true))
	f.Add("INSERT INTO `t` VALUES (1,'a\\'),(b'),(2,\"x\"\"y\");\n")
	f.Fuzz(func(t *testing.T, in string) {
		out := recutString(t, in, recutAvgRows)
		if again := recutString(t, out, recutAvgRows); again != out {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
		if a, b := recutString(t, in, 1), recutString(t, out, 1); a != b {
			t.Fatalf("rows changed:\n%q\n%q", a, b)
		}
	})
}

// BenchmarkRecut measures the filter's throughput on dumps in MariaDB's
// style: random rows full of escapes, and plain rows like the orders of
// TestMariaDB.
func BenchmarkRecut(b *testing.B) {
	rnd := rand.New(rand.NewPCG(11, 12))
	plain := make([]string, 200000)
	for i := range plain {
		plain[i] = fmt.Sprintf("(%d,'customer-%d',%d.25,'%s')", i, i%997, i, strings.Repeat(string(rune('A'+i%26)), 60))
	}
	for name, rows := range map[string][]string{"escapes": randomRows(rnd, 50000), "plain": plain} {
		in := dumpOf(rnd, "t1", rows, true)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := recut(io.Discard, strings.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
