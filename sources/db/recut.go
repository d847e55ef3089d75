package db

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Re-cutting mysqldump's extended INSERT statements.
//
// mysqldump and mariadb-dump end an extended INSERT when it reaches
// net_buffer_length bytes, so a row that changes length moves every later
// statement boundary, and every content-defined chunk holding a boundary
// changes. recut rewrites the dump so that a statement ends after a row
// chosen by the row's own content (a hash), or when the next row would take
// it past a byte cap: boundaries then move only next to a changed row.
// Rows are copied byte for byte; only the text between two rows changes
// ("),(" becomes "),\n(" or ");\nINSERT INTO `t` VALUES\n("). Everything
// that is not such a statement passes through unchanged.
//
// A lexer follows quotes and comments over the whole dump so that only an
// INSERT that begins a statement at the start of a line, under the ";"
// delimiter, is re-cut (never text inside a string, a comment or a routine
// body). Memory is bounded by the row cap: a longer row is streamed and
// ends its statement.

const (
	// recutAvgRows is the average number of rows per statement for small
	// rows.
	recutAvgRows = 128
	// recutTargetBytes makes the cut probability grow with the row size so
	// that statements of large rows average about this many bytes.
	recutTargetBytes = 256 << 10
	// recutMaxStatement is the byte cap of a statement (mysqldump's own
	// default net_buffer_length, far below max_allowed_packet); it is
	// also the cap of the row buffer.
	recutMaxStatement = 1 << 20
	// recutMaxHeader bounds the INSERT INTO `table` VALUES header.
	recutMaxHeader = 4 << 10
)

// recutStats counts what recut did.
type recutStats = RecutInfo

// recutter holds the state of one pass over a dump.
type recutter struct {
	in  *bufio.Reader
	out *bufio.Writer
	// avgRows is recutAvgRows; tests set 1 to end every statement after
	// one row.
	avgRows int
	// delim is the current statement delimiter (mysql's DELIMITER).
	delim []byte
	// tail holds the last len(delim) bytes seen outside quotes and
	// comments.
	tail []byte
	// lineStart and stmtStart: the next byte begins a line, a statement.
	lineStart, stmtStart bool

	header    []byte // "INSERT INTO `t` VALUES" of the current statement
	row       []byte // the row being read (up to recutMaxStatement)
	hash      uint64 // FNV-1a of the row so far
	streaming bool   // the row outgrew the buffer and is being written out
	rows      int    // rows written in the current output statement
	size      int    // bytes written in the current output statement
	cutNext   bool   // the previous row ends a statement
	stats     recutStats
}

// recut copies the dump in src to dst, re-cutting extended INSERTs. It
// returns src's error (other than io.EOF) or dst's.
func recut(dst io.Writer, src io.Reader) (recutStats, error) {
	return recutRows(dst, src, recutAvgRows)
}

// recutRows is recut with avgRows rows per statement on average.
func recutRows(dst io.Writer, src io.Reader, avgRows int) (recutStats, error) {
	r := &recutter{in: bufio.NewReaderSize(src, 64<<10), out: bufio.NewWriterSize(dst, 64<<10),
		delim: []byte(";"), lineStart: true, stmtStart: true, avgRows: avgRows}
	err := r.run()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if ferr := r.out.Flush(); err == nil {
		err = ferr
	}
	return r.stats, err
}

var (
	insertPrefix = []byte("INSERT INTO `")
	delimiterCmd = []byte("DELIMITER ")
)

// run lexes the dump, handing INSERT statements to statement.
func (r *recutter) run() error {
	for {
		if r.lineStart && r.stmtStart {
			if done, err := r.lineCommand(); err != nil {
				return err
			} else if done {
				continue
			}
		}
		b, err := r.in.ReadByte()
		if err != nil {
			return err
		}
		if err := r.lex(b); err != nil {
			return err
		}
	}
}

// lineCommand handles a line that begins a statement: DELIMITER, or an
// INSERT to re-cut. done says it consumed a line or statement.
func (r *recutter) lineCommand() (done bool, err error) {
	p, _ := r.in.Peek(len(delimiterCmd))
	if len(p) == len(delimiterCmd) && bytes.EqualFold(p, delimiterCmd) {
		line, err := r.copyLine()
		if d := bytes.TrimSpace(line[len(delimiterCmd):]); len(d) > 0 && len(d) <= 16 {
			r.delim = append(r.delim[:0], d...)
		}
		r.lineStart, r.stmtStart = true, true
		return true, err
	}
	if bytes.Equal(r.delim, []byte(";")) {
		if p, _ := r.in.Peek(len(insertPrefix)); bytes.Equal(p, insertPrefix) {
			return true, r.statement()
		}
	}
	return false, nil
}

// copyLine copies up to and including the next newline, returning the
// line's first bytes (up to the reader's buffer).
func (r *recutter) copyLine() ([]byte, error) {
	var first []byte
	for {
		line, err := r.in.ReadSlice('\n')
		if first == nil {
			first = append([]byte{}, line...)
		}
		if _, werr := r.out.Write(line); werr != nil {
			return first, werr
		}
		if err != bufio.ErrBufferFull {
			return first, err
		}
	}
}

// lex copies one byte outside an INSERT being re-cut, following quotes and
// comments so that lineStart and stmtStart are only true where a statement
// can begin.
func (r *recutter) lex(b byte) error {
	if err := r.out.WriteByte(b); err != nil {
		return err
	}
	r.lineStart = b == '\n'
	switch b {
	case '\'', '"', '`':
		r.stmtStart = false
		return r.quoted(b, true)
	case '#':
		return r.lineComment()
	case '-':
		if p, _ := r.in.Peek(2); len(p) == 2 && p[0] == '-' && (p[1] == ' ' || p[1] == '\t' || p[1] == '\n') {
			return r.lineComment()
		}
	case '/':
		// /* */ is a comment; /*! and /*M! are executable and lexed
		// as SQL.
		if p, _ := r.in.Peek(3); len(p) >= 2 && p[0] == '*' && p[1] != '!' && !(len(p) == 3 && p[1] == 'M' && p[2] == '!') {
			return r.blockComment()
		}
	}
	r.tail = append(r.tail, b)
	if len(r.tail) > len(r.delim) {
		r.tail = r.tail[len(r.tail)-len(r.delim):]
	}
	switch {
	case bytes.Equal(r.tail, r.delim):
		r.stmtStart = true
	case b != ' ' && b != '\t' && b != '\n' && b != '\r':
		r.stmtStart = false
	}
	return nil
}

// quoted reads the rest of a quoted string, identifier or literal opened
// by q: a doubled q, or (in strings) a backslash, escapes. It copies the
// bytes out if copyOut, else appends them to the row.
func (r *recutter) quoted(q byte, copyOut bool) error {
	put, putAll := r.out.WriteByte, r.out.Write
	if !copyOut {
		put, putAll = r.rowByte, r.rowBytes
	}
	for {
		// Plain bytes up to the next quote or backslash, in bulk.
		if buf, _ := r.in.Peek(r.in.Buffered()); len(buf) > 0 {
			n := plainLen(buf, q)
			if n > 0 {
				if _, err := putAll(buf[:n]); err != nil {
					return err
				}
				r.in.Discard(n)
				continue
			}
		}
		b, err := r.in.ReadByte()
		if err != nil {
			return err
		}
		if err := put(b); err != nil {
			return err
		}
		switch {
		case b == '\\' && q != '`':
			b, err := r.in.ReadByte()
			if err != nil {
				return err
			}
			if err := put(b); err != nil {
				return err
			}
		case b == q:
			if p, _ := r.in.Peek(1); len(p) == 1 && p[0] == q {
				r.in.ReadByte()
				if err := put(q); err != nil {
					return err
				}
				continue
			}
			return nil
		}
	}
}

// plainLen is the length of buf's prefix without q or (unless q is a
// backtick) a backslash.
func plainLen(buf []byte, q byte) int {
	for i, b := range buf {
		if b == q || (b == '\\' && q != '`') {
			return i
		}
	}
	return len(buf)
}

// lineComment copies to the end of the line.
func (r *recutter) lineComment() error {
	_, err := r.copyLine()
	r.lineStart = true
	return err
}

// blockComment copies a /* */ comment; the '/' is written already.
func (r *recutter) blockComment() error {
	if err := r.copyByte(); err != nil { // the '*'
		return err
	}
	var prev byte
	for {
		b, err := r.in.ReadByte()
		if err != nil {
			return err
		}
		if err := r.out.WriteByte(b); err != nil {
			return err
		}
		if prev == '*' && b == '/' {
			r.lineStart = false
			return nil
		}
		prev = b
	}
}

// copyByte copies one byte.
func (r *recutter) copyByte() error {
	b, err := r.in.ReadByte()
	if err != nil {
		return err
	}
	return r.out.WriteByte(b)
}
