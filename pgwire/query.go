package pgwire

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Wire format codes.
const (
	fmtText   int16 = 0
	fmtBinary int16 = 1
)

// beginStatement returns a cancelable context for one statement, registered
// for CancelRequest, and the function that ends it.
func (c *conn) beginStatement() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(c.ctx)
	c.setRunning(cancel)
	return ctx, func() {
		c.setRunning(nil)
		cancel(nil)
	}
}

// handleQuery runs a simple-protocol query string.
func (c *conn) handleQuery(sql string) error {
	c.dropStatement("")
	c.dropPortal("")
	c.suspendOthers(nil)
	ctx, done := c.beginStatement()
	results := 0
	err := c.sess.ExecSimple(ctx, sql, func(res api.Result) error {
		results++
		return c.sendSimpleResult(ctx, res)
	})
	if err == nil && results == 0 {
		c.send(&pgproto3.EmptyQueryResponse{})
	}
	if err != nil {
		err = c.sendError(ctx, err)
	}
	done()
	if err != nil {
		return err
	}
	return c.readyForQuery()
}

// sendSimpleResult sends one statement's result in the simple protocol.
func (c *conn) sendSimpleResult(ctx context.Context, res api.Result) error {
	c.refreshCtx()
	c.sendNotices(res.Notices)
	switch {
	case res.EmptyQuery:
		c.send(&pgproto3.EmptyQueryResponse{})
	case res.Copy != nil && res.Copy.Direction == api.CopyFromStdin:
		if res.Rows != nil {
			_ = res.Rows.Close()
		}
		return c.copyIn(ctx, res.Copy)
	case res.Copy != nil:
		return c.copyOut(ctx, res.Copy, res.Rows)
	case res.Rows != nil:
		rows := res.Rows
		cols := rows.Columns()
		c.sendRowDescription(cols, nil)
		cur := &cursor{rows: rows, cols: cols}
		_, err := c.pump(ctx, cur, nil, 0)
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		c.send(&pgproto3.CommandComplete{CommandTag: []byte(rows.Tag())})
	default:
		c.send(&pgproto3.CommandComplete{CommandTag: []byte(res.Tag)})
	}
	return c.maybeFlush()
}

func (c *conn) sendNotices(notices []string) {
	for _, n := range notices {
		c.send(&pgproto3.NoticeResponse{Severity: sevNotice, SeverityUnlocalized: sevNotice,
			Code: pgerror.SuccessfulCompletion, Message: n})
	}
}

// typeSize is pg_type.typlen of t as reported in RowDescription.
func typeSize(t types.T) int16 {
	switch t.Family {
	case types.FamBool:
		return 1
	case types.FamInt2:
		return 2
	case types.FamInt4, types.FamFloat4, types.FamDate, types.FamOid, types.FamRegclass, types.FamRegtype:
		return 4
	case types.FamInt8, types.FamFloat8, types.FamTime, types.FamTimestamp, types.FamTimestampTZ:
		return 8
	case types.FamInterval:
		return 16
	case types.FamName:
		return 64
	case types.FamVoid:
		return 4
	}
	return -1
}

// rowDescription renders cols with per-column formats (nil: all text).
func rowDescription(cols []api.Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		f := fmtText
		if i < len(formats) {
			f = formats[i]
		}
		fields[i] = pgproto3.FieldDescription{
			Name:                 []byte(col.Name),
			TableOID:             col.TableOID,
			TableAttributeNumber: uint16(col.AttrNum),
			DataTypeOID:          col.T.Oid(),
			DataTypeSize:         typeSize(col.T),
			TypeModifier:         col.T.PGTypmod(),
			Format:               f,
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

func (c *conn) sendRowDescription(cols []api.Column, formats []int16) {
	c.send(rowDescription(cols, formats))
}

// cursor is a position in a Rows stream: the current batch and the next
// row in it.
type cursor struct {
	rows  api.Rows
	cols  []api.Column
	batch arrow.RecordBatch
	row   int
	done  bool
	count int64
}

// pump sends DataRows from cur until the stream ends or limit rows (0: no
// limit) were sent. It reports whether the limit stopped it.
func (c *conn) pump(ctx context.Context, cur *cursor, formats []int16, limit int64) (suspended bool, err error) {
	var sent int64
	for !cur.done {
		if cur.batch == nil || cur.row >= int(cur.batch.NumRows()) {
			cur.batch, cur.row = nil, 0
			b, err := cur.rows.Next(ctx)
			if err != nil {
				return false, err
			}
			if b == nil {
				cur.done = true
				break
			}
			if int(b.NumCols()) != len(cur.cols) {
				return false, pgerror.Internal("result batch has %d columns, expected %d", b.NumCols(), len(cur.cols))
			}
			cur.batch = b
			continue
		}
		if limit > 0 && sent >= limit {
			return true, nil
		}
		out, err := c.appendDataRow(c.out, cur.batch, cur.row, cur.cols, formats)
		if err != nil {
			return false, err
		}
		c.out = out
		cur.row++
		cur.count++
		sent++
		if err := c.maybeFlush(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// appendDataRow appends a DataRow for row i of b.
func (c *conn) appendDataRow(out []byte, b arrow.RecordBatch, i int, cols []api.Column, formats []int16) ([]byte, error) {
	start := len(out)
	out = append(out, 'D', 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(len(cols)))
	for j, col := range cols {
		arr := b.Column(j)
		if arr.IsNull(i) {
			out = binary.BigEndian.AppendUint32(out, 0xFFFFFFFF)
			continue
		}
		lenPos := len(out)
		out = append(out, 0, 0, 0, 0)
		var err error
		if j < len(formats) && formats[j] == fmtBinary {
			out, err = c.appendBinaryValue(out, arr, i, col.T)
		} else {
			out = c.appendTextValue(out, arr, i, col.T)
		}
		if err != nil {
			return out[:start], err
		}
		binary.BigEndian.PutUint32(out[lenPos:], uint32(len(out)-lenPos-4))
	}
	binary.BigEndian.PutUint32(out[start+1:], uint32(len(out)-start-1))
	return out, nil
}

// appendTextValue appends the text form of non-null row i of arr.
func (c *conn) appendTextValue(out []byte, arr arrow.Array, i int, t types.T) []byte {
	switch a := arr.(type) {
	case *array.Int64:
		if t.IsInteger() || t.Family == types.FamOid {
			return strconv.AppendInt(out, a.Value(i), 10)
		}
	case *array.Int32:
		if t.IsInteger() {
			return strconv.AppendInt(out, int64(a.Value(i)), 10)
		}
	case *array.Int16:
		if t.IsInteger() {
			return strconv.AppendInt(out, int64(a.Value(i)), 10)
		}
	case *array.Boolean:
		if t.Family == types.FamBool {
			if a.Value(i) {
				return append(out, 't')
			}
			return append(out, 'f')
		}
	case *array.String:
		if t.IsString() || t.Family == types.FamUnknown {
			return append(out, a.Value(i)...)
		}
	}
	return types.AppendText(out, c.tctx, types.GetDatum(arr, i, t), t)
}

// appendBinaryValue appends the binary form of non-null row i of arr.
func (c *conn) appendBinaryValue(out []byte, arr arrow.Array, i int, t types.T) ([]byte, error) {
	res, err := types.AppendBinary(out, c.tctx, types.GetDatum(arr, i, t), t)
	if err != nil {
		return out, fmt.Errorf("pgwire: binary output of %s: %w", t, err)
	}
	return res, nil
}
