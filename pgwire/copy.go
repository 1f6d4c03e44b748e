package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// binaryCopySignature starts a binary COPY stream (11 bytes), followed by
// an int32 flags field and an int32 header-extension length.
const binaryCopySignature = "PGCOPY\n\xff\r\n\x00"

// errCopyConsumerDone closes the pipe once Session.CopyIn returned, so
// writes of further client data fail fast instead of blocking.
var errCopyConsumerDone = errors.New("pgwire: COPY consumer finished")

func copyFormats(spec *api.CopySpec) (overall byte, cols []uint16) {
	if spec.Format == api.CopyBinary {
		overall = 1
	}
	cols = make([]uint16, len(spec.Columns))
	for i := range cols {
		cols[i] = uint16(overall)
	}
	return overall, cols
}

// copyIn runs the COPY FROM STDIN sub-protocol. A reader goroutine takes
// the client's CopyData messages and streams them through a pipe to
// Session.CopyIn, which runs on the connection goroutine (so the Session is
// only ever called from there).
func (c *conn) copyIn(ctx context.Context, spec *api.CopySpec) error {
	overall, cols := copyFormats(spec)
	c.send(&pgproto3.CopyInResponse{OverallFormat: overall, ColumnFormatCodes: cols})
	if err := c.flush(); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	readDone := make(chan error, 1)
	go func() { readDone <- c.readCopyData(pw) }()
	n, err := c.sess.CopyIn(ctx, spec, pr)
	// Further client data is drained and dropped by readCopyData.
	_ = pr.CloseWithError(errCopyConsumerDone)
	// The reader's error wins: the client failed the copy, broke the
	// protocol or went away.
	if rerr := <-readDone; rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	c.send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "COPY %d", n)})
	return nil
}

// readCopyData forwards CopyData to pw until CopyDone (nil), CopyFail or a
// protocol error (an ERROR to report), or a connection failure (fatal).
func (c *conn) readCopyData(pw *io.PipeWriter) error {
	for {
		msg, err := c.receive(false)
		if err != nil {
			_ = pw.CloseWithError(err)
			var fe *fatalError
			if errors.As(err, &fe) {
				return err
			}
			return &connLost{err: err}
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			// A failed write means the consumer already finished; the rest
			// of the data is dropped. Write returns only once the consumer
			// has taken all of m.Data, before the next receive reuses it.
			_, _ = pw.Write(m.Data)
		case *pgproto3.CopyDone:
			_ = pw.Close()
			return nil
		case *pgproto3.CopyFail:
			err := pgerror.New(pgerror.QueryCanceled, "COPY from stdin failed: %s", m.Message)
			_ = pw.CloseWithError(err)
			return err
		case *pgproto3.Flush, *pgproto3.Sync:
			// Ignored during COPY, as PostgreSQL does.
		case *pgproto3.Terminate:
			_ = pw.CloseWithError(io.ErrUnexpectedEOF)
			return &connLost{err: io.ErrUnexpectedEOF}
		default:
			err := pgerror.New(pgerror.ProtocolViolation,
				"unexpected message type 0x%02X during COPY from stdin", msgTypeByte(msg))
			_ = pw.CloseWithError(err)
			return err
		}
	}
}

func msgTypeByte(msg pgproto3.FrontendMessage) byte {
	b, err := msg.Encode(nil)
	if err != nil || len(b) == 0 {
		return 0
	}
	return b[0]
}

// copyOut runs COPY TO STDOUT: every row of rows becomes one CopyData.
func (c *conn) copyOut(ctx context.Context, spec *api.CopySpec, rows api.Rows) (err error) {
	if rows != nil {
		defer func() {
			if cerr := rows.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}
	overall, colFormats := copyFormats(spec)
	c.send(&pgproto3.CopyOutResponse{OverallFormat: overall, ColumnFormatCodes: colFormats})
	var line []byte
	switch {
	case spec.Format == api.CopyBinary:
		line = append(line, binaryCopySignature...)
		line = binary.BigEndian.AppendUint32(line, 0)
		line = binary.BigEndian.AppendUint32(line, 0)
		c.sendCopyData(line)
	case spec.Header:
		line = line[:0]
		for i, col := range spec.Columns {
			if i > 0 {
				line = append(line, delimiter(spec))
			}
			line = appendCopyField(line, []byte(col.Name), spec)
		}
		line = append(line, '\n')
		c.sendCopyData(line)
	}
	var n int64
	if rows != nil {
		cols := rows.Columns()
		var scratch []byte
		for {
			b, err := rows.Next(ctx)
			if err != nil {
				return err
			}
			if b == nil {
				break
			}
			if int(b.NumCols()) != len(cols) {
				return pgerror.Internal("result batch has %d columns, expected %d", b.NumCols(), len(cols))
			}
			for i := 0; i < int(b.NumRows()); i++ {
				line, scratch, err = c.appendCopyRow(line[:0], scratch, b, i, cols, spec)
				if err != nil {
					return err
				}
				c.sendCopyData(line)
				n++
				if err := c.maybeFlush(); err != nil {
					return err
				}
			}
		}
	}
	if spec.Format == api.CopyBinary {
		c.sendCopyData([]byte{0xff, 0xff})
	}
	c.send(&pgproto3.CopyDone{})
	c.send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "COPY %d", n)})
	return c.maybeFlush()
}

// sendCopyData appends a CopyData message holding data.
func (c *conn) sendCopyData(data []byte) {
	if c.werr != nil {
		return
	}
	c.out = append(c.out, 'd')
	c.out = binary.BigEndian.AppendUint32(c.out, uint32(len(data)+4))
	c.out = append(c.out, data...)
}

func delimiter(spec *api.CopySpec) byte {
	if spec.Delimiter != 0 {
		return spec.Delimiter
	}
	if spec.Format == api.CopyCSV {
		return ','
	}
	return '\t'
}

func nullString(spec *api.CopySpec) string {
	if spec.Null != "" || spec.Format == api.CopyCSV {
		return spec.Null
	}
	return `\N`
}

// appendCopyRow renders row i of b as one COPY line (with its newline) or,
// for binary COPY, one tuple.
func (c *conn) appendCopyRow(line, scratch []byte, b arrow.RecordBatch, i int, cols []api.Column,
	spec *api.CopySpec) ([]byte, []byte, error) {
	if spec.Format == api.CopyBinary {
		line = binary.BigEndian.AppendUint16(line, uint16(len(cols)))
		for j, col := range cols {
			arr := b.Column(j)
			if arr.IsNull(i) {
				line = binary.BigEndian.AppendUint32(line, 0xFFFFFFFF)
				continue
			}
			lenPos := len(line)
			line = append(line, 0, 0, 0, 0)
			var err error
			line, err = c.appendBinaryValue(line, arr, i, col.T)
			if err != nil {
				return line, scratch, err
			}
			binary.BigEndian.PutUint32(line[lenPos:], uint32(len(line)-lenPos-4))
		}
		return line, scratch, nil
	}
	delim := delimiter(spec)
	null := nullString(spec)
	for j, col := range cols {
		if j > 0 {
			line = append(line, delim)
		}
		arr := b.Column(j)
		if arr.IsNull(i) {
			line = append(line, null...)
			continue
		}
		scratch = c.appendTextValue(scratch[:0], arr, i, col.T)
		line = appendCopyField(line, scratch, spec)
	}
	return append(line, '\n'), scratch, nil
}

// appendCopyField appends one non-null value escaped for spec's format.
func appendCopyField(dst, v []byte, spec *api.CopySpec) []byte {
	if spec.Format == api.CopyCSV {
		return appendCSVField(dst, v, spec)
	}
	return appendTextField(dst, v, delimiter(spec))
}

// appendTextField escapes v for COPY's text format: backslash, the
// delimiter and control characters that would break the line structure.
func appendTextField(dst, v []byte, delim byte) []byte {
	for _, ch := range v {
		switch ch {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\v':
			dst = append(dst, '\\', 'v')
		default:
			if ch == delim {
				dst = append(dst, '\\')
			}
			dst = append(dst, ch)
		}
	}
	return dst
}

// appendCSVField quotes v when it contains the delimiter, the quote
// character, a line break, equals the NULL string (an empty value when NULL
// is empty), or is the end-of-data marker \. .
func appendCSVField(dst, v []byte, spec *api.CopySpec) []byte {
	delim := delimiter(spec)
	quote := spec.Quote
	if quote == 0 {
		quote = '"'
	}
	escape := spec.Escape
	if escape == 0 {
		escape = quote
	}
	need := string(v) == spec.Null || string(v) == `\.`
	for _, ch := range v {
		if ch == delim || ch == quote || ch == '\n' || ch == '\r' {
			need = true
			break
		}
	}
	if !need {
		return append(dst, v...)
	}
	dst = append(dst, quote)
	for _, ch := range v {
		if ch == quote || ch == escape {
			dst = append(dst, escape)
		}
		dst = append(dst, ch)
	}
	return append(dst, quote)
}
