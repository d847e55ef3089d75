package db

import (
	"bytes"
	"io"
)

// statement re-cuts one INSERT INTO `t` VALUES (...),(...); statement at
// the reader. Anything unexpected (a column list, a clause after the rows)
// ends the re-cut: the rest goes through the lexer unchanged, which keeps
// the SQL equivalent because only separators between whole rows were
// rewritten.
func (r *recutter) statement() error {
	raw, ok, err := r.readHeader()
	if !ok || err != nil {
		if _, werr := r.out.Write(raw); werr != nil {
			return werr
		}
		r.lineStart, r.stmtStart = false, false
		return err
	}
	r.header = append(r.header[:0], bytes.TrimRight(raw, " \n")...)
	r.rows, r.cutNext = 0, false
	if err := r.startStatement(); err != nil {
		return err
	}
	for {
		if err := r.readRow(); err != nil {
			return err
		}
		b, err := r.in.ReadByte()
		if err != nil {
			return err
		}
		switch b {
		case ',':
			if p, _ := r.in.Peek(2); len(p) > 0 && p[0] == '(' {
				continue
			} else if len(p) == 2 && p[0] == '\n' && p[1] == '(' {
				r.in.ReadByte()
				continue
			}
		case ';':
			if r.continues() {
				continue
			}
			r.stats.Statements++
			if err := r.out.WriteByte(';'); err != nil {
				return err
			}
			r.lineStart, r.stmtStart = false, true
			return nil
		}
		// Unexpected: hand the byte to the lexer.
		r.lineStart, r.stmtStart = false, false
		return r.lex(b)
	}
}

// continues consumes "\nINSERT INTO `t` VALUES (" after a ';' when it
// continues the same table: the dump tool's statement boundary is dropped,
// else it would still move every later statement.
func (r *recutter) continues() bool {
	n := 1 + len(r.header)
	p, _ := r.in.Peek(n + 2)
	if len(p) < n+2 || p[0] != '\n' || !bytes.Equal(p[1:n], r.header) || (p[n] != ' ' && p[n] != '\n') || p[n+1] != '(' {
		return false
	}
	r.in.Discard(n + 1)
	return true
}

// readHeader reads `INSERT INTO `t` VALUES` and the space or newline before
// the first '('. ok is false (and raw what was read) if the text differs.
func (r *recutter) readHeader() (raw []byte, ok bool, err error) {
	raw = make([]byte, 0, 64)
	next := func() (byte, error) {
		b, err := r.in.ReadByte()
		if err == nil {
			raw = append(raw, b)
		}
		return b, err
	}
	for range insertPrefix {
		if _, err := next(); err != nil {
			return raw, false, err
		}
	}
	for { // the table name up to the closing backtick; `` is a backtick
		b, err := next()
		if err != nil || len(raw) > recutMaxHeader {
			return raw, false, err
		}
		if b == '`' {
			if p, _ := r.in.Peek(1); len(p) == 1 && p[0] == '`' {
				next()
				continue
			}
			break
		}
	}
	const values = " VALUES"
	p, _ := r.in.Peek(len(values) + 2)
	if len(p) < len(values)+2 || string(p[:len(values)]) != values || (p[len(values)] != ' ' && p[len(values)] != '\n') || p[len(values)+1] != '(' {
		return raw, false, nil
	}
	for range len(values) + 1 {
		next()
	}
	return raw, true, nil
}

// startStatement writes the header of a new statement.
func (r *recutter) startStatement() error {
	r.out.Write(r.header)
	err := r.out.WriteByte('\n')
	r.rows, r.size, r.cutNext = 0, len(r.header)+1, false
	return err
}

// separate writes what goes before a row of n bytes: nothing for the first
// row of a statement, ",\n", or ";\n" and a new header when the previous
// row ends the statement or this one would take it past the cap.
func (r *recutter) separate(n int) error {
	if r.rows == 0 {
		return nil
	}
	if r.cutNext || r.size+2+n > recutMaxStatement {
		r.stats.Statements++
		if _, err := r.out.WriteString(";\n"); err != nil {
			return err
		}
		return r.startStatement()
	}
	r.size += 2
	_, err := r.out.WriteString(",\n")
	return err
}

// readRow reads one parenthesised row, quotes and nested parentheses
// included, and writes it after its separator.
func (r *recutter) readRow() error {
	r.row, r.streaming = r.row[:0], false
	r.hash = 14695981039346656037 // FNV-1a offset basis
	depth := 0
	for {
		b, err := r.in.ReadByte()
		if err != nil {
			if err == io.EOF {
				// A truncated dump: write what there is (the dump
				// command's failure fails the backup).
				if ferr := r.flushRow(); ferr != nil {
					return ferr
				}
			}
			return err
		}
		if err := r.rowByte(b); err != nil {
			return err
		}
		switch b {
		case '\'', '"':
			if err := r.quoted(b, false); err != nil {
				if err == io.EOF {
					r.flushRow()
				}
				return err
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth <= 0 {
				return r.endRow()
			}
		}
	}
}

// rowByte adds b to the row, streaming the row out once it outgrows the
// buffer: such a row starts a statement of its own.
func (r *recutter) rowByte(b byte) error {
	r.hash = (r.hash ^ uint64(b)) * 1099511628211 // FNV-1a prime
	r.row = append(r.row, b)
	if len(r.row) < recutMaxStatement {
		return nil
	}
	if !r.streaming {
		r.streaming = true
		r.cutNext = true
		if err := r.separate(recutMaxStatement); err != nil {
			return err
		}
	}
	return r.writeRowBuf()
}

// rowBytes adds p to the row like rowByte, byte by byte only where the
// row reaches the buffer's cap.
func (r *recutter) rowBytes(p []byte) (int, error) {
	if len(r.row)+len(p) >= recutMaxStatement {
		for _, b := range p {
			if err := r.rowByte(b); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	}
	h := r.hash
	for _, b := range p {
		h = (h ^ uint64(b)) * 1099511628211
	}
	r.hash = h
	r.row = append(r.row, p...)
	return len(p), nil
}

// writeRowBuf writes the buffered part of the row.
func (r *recutter) writeRowBuf() error {
	_, err := r.out.Write(r.row)
	r.size += len(r.row)
	r.row = r.row[:0]
	return err
}

// flushRow writes a row cut short by the end of the input.
func (r *recutter) flushRow() error {
	if !r.streaming {
		if err := r.separate(len(r.row)); err != nil {
			return err
		}
	}
	return r.writeRowBuf()
}

// endRow writes a complete row and decides from its content whether it
// ends its statement.
func (r *recutter) endRow() error {
	n := len(r.row)
	if !r.streaming {
		if err := r.separate(n); err != nil {
			return err
		}
	}
	if err := r.writeRowBuf(); err != nil {
		return err
	}
	r.rows++
	r.stats.Rows++
	if r.streaming {
		r.cutNext = true
		return nil
	}
	// A row ends its statement with probability 1/recutAvgRows, or
	// higher for large rows so that statements average about
	// recutTargetBytes: a function of the row alone.
	every := uint64(r.avgRows)
	if n > 0 && recutTargetBytes/n < r.avgRows {
		every = uint64(max(1, recutTargetBytes/n))
	}
	r.cutNext = mix64(r.hash)%every == 0
	return nil
}

// mix64 is the splitmix64 finalizer: it spreads FNV's weak low bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}
