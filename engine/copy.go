package engine

import (
	"bufio"
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// copyHandle is the engine's state for a COPY … FROM STDIN in progress.
type copyHandle struct {
	table *catalog.Table
	cols  []int // table positions of the data's columns
}

func (s *Session) copy(ctx context.Context, c *pg_query.CopyStmt) (api.Result, error) {
	if c.IsProgram || c.Filename != "" {
		return api.Result{}, pgerror.New(pgerror.InsufficientPrivilege, "COPY to or from a file is not supported; use COPY … FROM STDIN / TO STDOUT (psql's \\copy)")
	}
	spec := &api.CopySpec{Format: api.CopyText, Delimiter: '\t', Null: `\N`, Quote: '"', Escape: '"'}
	nullSet, delimSet, escSet := false, false, false
	for _, o := range c.Options {
		d := o.GetDefElem()
		val := ""
		if d.Arg != nil {
			val = strVal(d.Arg)
			if b := d.Arg.GetBoolean(); b != nil && b.Boolval {
				val = "true"
			}
		}
		switch d.Defname {
		case "format":
			switch strings.ToLower(val) {
			case "text":
				spec.Format = api.CopyText
			case "csv":
				spec.Format = api.CopyCSV
			case "binary":
				spec.Format = api.CopyBinary
			default:
				return api.Result{}, pgerror.New(pgerror.InvalidParameterValue, "COPY format %q not recognized", val)
			}
		case "delimiter":
			if len(val) != 1 {
				return api.Result{}, pgerror.New(pgerror.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
			}
			spec.Delimiter, delimSet = val[0], true
		case "null":
			spec.Null, nullSet = val, true
		case "header":
			spec.Header = val == "" || val == "true" || val == "on" || val == "1" || d.Arg == nil
		case "quote":
			if len(val) != 1 {
				return api.Result{}, pgerror.New(pgerror.FeatureNotSupported, "COPY quote must be a single one-byte character")
			}
			spec.Quote = val[0]
		case "escape":
			if len(val) != 1 {
				return api.Result{}, pgerror.New(pgerror.FeatureNotSupported, "COPY escape must be a single one-byte character")
			}
			spec.Escape, escSet = val[0], true
		case "freeze":
			// A loading hint for PostgreSQL's heap; nothing to do here.
		case "encoding":
			if _, err := checkEncoding(val); err != nil {
				return api.Result{}, err
			}
		default:
			return api.Result{}, pgerror.New(pgerror.SyntaxError, "option %q not recognized", d.Defname)
		}
	}
	if spec.Format == api.CopyCSV {
		if !delimSet {
			spec.Delimiter = ','
		}
		if !nullSet {
			spec.Null = ""
		}
		if !escSet {
			spec.Escape = spec.Quote
		}
	}
	if c.IsFrom {
		if c.Relation == nil {
			return api.Result{}, pgerror.New(pgerror.SyntaxError, "COPY FROM requires a table")
		}
		rel, ok := s.e.cat.Lookup(c.Relation.Schemaname, c.Relation.Relname)
		if !ok {
			return api.Result{}, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", c.Relation.Relname)
		}
		t, ok := rel.(*catalog.Table)
		if !ok {
			return api.Result{}, pgerror.New(pgerror.WrongObjectType, "cannot copy to %s %q", rel.RelKind(), rel.RelName())
		}
		h := &copyHandle{table: t}
		if len(c.Attlist) == 0 {
			for i, col := range t.Columns {
				if !col.Hidden {
					h.cols = append(h.cols, i)
				}
			}
		} else {
			for _, a := range c.Attlist {
				name := strVal(a)
				i := t.ColumnIndex(name)
				if i < 0 {
					return api.Result{}, pgerror.New(pgerror.UndefinedColumn, "column %q of relation %q does not exist", name, t.Name)
				}
				h.cols = append(h.cols, i)
			}
		}
		spec.Direction, spec.Table, spec.Handle = api.CopyFromStdin, t.Name, h
		for _, i := range h.cols {
			spec.Columns = append(spec.Columns, api.Column{Name: t.Columns[i].Name, T: t.Columns[i].T})
		}
		return api.Result{Copy: spec}, nil
	}
	// COPY … TO STDOUT: run the query (or the whole table).
	var q *pg_query.Node
	if c.Query != nil {
		q = c.Query
	} else {
		cols := "*"
		if len(c.Attlist) > 0 {
			var names []string
			for _, a := range c.Attlist {
				names = append(names, quoteIdent(strVal(a)))
			}
			cols = strings.Join(names, ", ")
		}
		name := quoteIdent(c.Relation.Relname)
		if c.Relation.Schemaname != "" {
			name = quoteIdent(c.Relation.Schemaname) + "." + name
		}
		st, err := parser.ParseOne("SELECT " + cols + " FROM " + name)
		if err != nil {
			return api.Result{}, err
		}
		q = st.AST
	}
	if q.GetSelectStmt() == nil {
		return api.Result{}, pgerror.Unsupported("COPY (statement) TO supports only queries")
	}
	res, err := s.runSelect(ctx, q, nil, nil)
	if err != nil {
		return api.Result{}, err
	}
	if or, ok := res.Rows.(*opRows); ok {
		or.verb = "COPY"
	}
	spec.Direction = api.CopyToStdout
	spec.Columns = res.Rows.Columns()
	res.Copy = spec
	return res, nil
}

// CopyIn implements api.Session.
func (s *Session) CopyIn(ctx context.Context, spec *api.CopySpec, r io.Reader) (int64, error) {
	h, ok := spec.Handle.(*copyHandle)
	if !ok {
		return 0, pgerror.Internal("CopyIn without a COPY FROM handle")
	}
	walEnd := s.e.walBegin(s, nil)
	n, err := s.copyIn(ctx, spec, h, r)
	_, err = walEnd(ctx, api.Result{}, err)
	if err != nil {
		s.noteError()
	}
	return n, err
}

func (s *Session) copyIn(ctx context.Context, spec *api.CopySpec, h *copyHandle, r io.Reader) (int64, error) {
	if err := s.e.lockForWrite(ctx, h.table.ID); err != nil {
		return 0, err
	}
	defer s.e.writeMu.Unlock()
	ts := s.e.table(h.table.ID)
	if ts == nil {
		return 0, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", h.table.Name)
	}
	t := ts.def
	// Columns not in the data get their defaults, evaluated per row.
	given := map[int]bool{}
	for _, c := range h.cols {
		given[c] = true
	}
	var defaults []int
	for i, c := range t.Columns {
		if !given[i] && c.Default != "" {
			defaults = append(defaults, i)
		}
	}
	pl := s.newPlanner(nil)
	defExprs := map[int]planner.Expr{}
	for _, i := range defaults {
		st, err := parser.ParseOne("SELECT " + t.Columns[i].Default)
		if err != nil {
			return 0, err
		}
		e, err := pl.BindStandaloneExpr(st.AST.GetSelectStmt().TargetList[0].GetResTarget().Val, t.Columns[i].T)
		if err != nil {
			return 0, err
		}
		defExprs[i] = e
	}
	builders := make([]array.Builder, len(t.Columns))
	newBuilders := func() {
		for i, c := range t.Columns {
			builders[i] = array.NewBuilder(s.e.mem, types.ArrowType(c.T))
		}
	}
	newBuilders()
	var batches []arrow.RecordBatch
	defer func() { releaseAll(batches) }()
	rows := 0
	flushBatch := func() {
		arrs := make([]arrow.Array, len(builders))
		for i, b := range builders {
			arrs[i] = b.NewArray()
			b.Release()
		}
		batches = append(batches, array.NewRecordBatch(ts.schema, arrs, int64(rows)))
		for _, a := range arrs {
			a.Release()
		}
		rows = 0
		newBuilders()
	}
	defer func() {
		for _, b := range builders {
			if b != nil {
				b.Release()
			}
		}
	}()
	br := bufio.NewReaderSize(r, 1<<16)
	line := 0
	first := true
	if spec.Format == api.CopyBinary {
		if err := readBinaryHeader(br); err != nil {
			return 0, err
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, pgerror.Wrap(err, pgerror.QueryCanceled, "canceling statement due to user request")
		}
		var fields []*string
		var binFields [][]byte
		var eof bool
		var err error
		if spec.Format == api.CopyBinary {
			binFields, eof, err = readBinaryTuple(br, len(h.cols))
			if err == nil && binFields == nil && !eof {
				eof = true
			}
			if binFields != nil {
				fields = make([]*string, len(binFields))
			}
		} else {
			fields, eof, err = readCopyRecord(br, spec)
		}
		if err != nil {
			return 0, err
		}
		if fields == nil && eof {
			break
		}
		line++
		if first && spec.Header && spec.Format != api.CopyBinary {
			first = false
			continue
		}
		first = false
		if fields == nil { // end-of-data marker
			break
		}
		if len(fields) != len(h.cols) {
			msg := "extra data after last expected column"
			if len(fields) < len(h.cols) {
				msg = "missing data for column \"" + t.Columns[h.cols[len(fields)]].Name + "\""
			}
			return 0, pgerror.New(pgerror.BadCopyFileFormat, "%s", msg).WithDetail("COPY %s, line %d", t.Name, line)
		}
		vals := make([]types.Datum, len(t.Columns))
		for k, f := range fields {
			ci := h.cols[k]
			if binFields != nil {
				if binFields[k] == nil {
					continue
				}
				v, err := types.DecodeBinary(&s.tctx, binFields[k], t.Columns[ci].T)
				if err != nil {
					return 0, err
				}
				vals[ci] = v
				continue
			}
			if f == nil {
				continue
			}
			v, err := types.ParseText(&s.tctx, *f, t.Columns[ci].T)
			if err != nil {
				pe := pgerror.As(err)
				if pe != nil {
					cp := *pe
					cp.Detail = "COPY " + t.Name + ", line " + itoa64(int64(line)) + ", column " + t.Columns[ci].Name + ": \"" + *f + "\""
					return 0, &cp
				}
				return 0, err
			}
			vals[ci] = v
		}
		for _, i := range defaults {
			v, err := s.evalConst(ctx, defExprs[i])
			if err != nil {
				return 0, err
			}
			vals[i] = v
		}
		for i, c := range t.Columns {
			types.AppendDatum(builders[i], vals[i], c.T)
		}
		rows++
		if rows == 8192 {
			flushBatch()
		}
		if eof {
			break
		}
	}
	if rows > 0 {
		flushBatch()
	}
	n, out, err := s.applyInsert(ts, batches, false)
	releaseAll(out)
	return n, err
}

// readCopyRecord reads one record. It returns nil fields at the end of the
// data (EOF or the \. marker); a nil *string field is NULL.
func readCopyRecord(br *bufio.Reader, spec *api.CopySpec) ([]*string, bool, error) {
	if spec.Format == api.CopyCSV {
		return readCSVRecord(br, spec)
	}
	line, err := br.ReadString('\n')
	eof := err == io.EOF
	if err != nil && !eof {
		return nil, false, pgerror.Wrap(err, pgerror.ConnectionException, "reading COPY data")
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == `\.` || (eof && line == "") {
		return nil, true, nil
	}
	var out []*string
	for _, raw := range strings.Split(line, string(spec.Delimiter)) {
		if raw == spec.Null {
			out = append(out, nil)
			continue
		}
		v, err := unescapeCopyText(raw)
		if err != nil {
			return nil, false, err
		}
		out = append(out, &v)
	}
	return out, eof, nil
}

func unescapeCopyText(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(s) && isHex(s[i+1]) {
				i++
				v = v*16 + hexVal(s[i])
				n++
			}
			b.WriteByte(byte(v))
		default:
			if s[i] >= '0' && s[i] <= '7' {
				v, n := int(s[i]-'0'), 1
				for n < 3 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7' {
					i++
					v = v*8 + int(s[i]-'0')
					n++
				}
				b.WriteByte(byte(v))
			} else {
				b.WriteByte(s[i])
			}
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

func readCSVRecord(br *bufio.Reader, spec *api.CopySpec) ([]*string, bool, error) {
	var out []*string
	var field strings.Builder
	quoted, inQuotes, started := false, false, false
	emit := func() {
		v := field.String()
		if !quoted && v == spec.Null {
			out = append(out, nil)
		} else {
			out = append(out, &v)
		}
		field.Reset()
		quoted = false
	}
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			if inQuotes {
				return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "unterminated CSV quoted field")
			}
			if !started {
				return nil, true, nil
			}
			emit()
			return out, true, nil
		}
		if err != nil {
			return nil, false, pgerror.Wrap(err, pgerror.ConnectionException, "reading COPY data")
		}
		if !started && !inQuotes && c == '\\' {
			// Possible end-of-data marker \.
			if nx, _ := br.Peek(1); len(nx) == 1 && nx[0] == '.' {
				br.ReadByte()
				br.ReadString('\n')
				return nil, true, nil
			}
		}
		started = true
		switch {
		case inQuotes && c == spec.Escape && spec.Escape != spec.Quote:
			nx, err := br.ReadByte()
			if err != nil {
				return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "unterminated CSV quoted field")
			}
			field.WriteByte(nx)
		case inQuotes && c == spec.Quote:
			if nx, _ := br.Peek(1); len(nx) == 1 && nx[0] == spec.Quote && spec.Escape == spec.Quote {
				br.ReadByte()
				field.WriteByte(c)
			} else {
				inQuotes = false
			}
		case inQuotes:
			field.WriteByte(c)
		case c == spec.Quote:
			inQuotes, quoted = true, true
		case c == spec.Delimiter:
			emit()
		case c == '\n':
			emit()
			return out, false, nil
		case c == '\r':
			if nx, _ := br.Peek(1); len(nx) == 1 && nx[0] == '\n' {
				br.ReadByte()
			}
			emit()
			return out, false, nil
		default:
			field.WriteByte(c)
		}
	}
}

var _ = exec.Run

var binaryCopySignature = []byte("PGCOPY\n\xff\r\n\x00")

func readBinaryHeader(br *bufio.Reader) error {
	hdr := make([]byte, len(binaryCopySignature)+8)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return pgerror.New(pgerror.BadCopyFileFormat, "COPY file signature not recognized")
	}
	if string(hdr[:len(binaryCopySignature)]) != string(binaryCopySignature) {
		return pgerror.New(pgerror.BadCopyFileFormat, "COPY file signature not recognized")
	}
	ext := int(uint32(hdr[len(hdr)-4])<<24 | uint32(hdr[len(hdr)-3])<<16 | uint32(hdr[len(hdr)-2])<<8 | uint32(hdr[len(hdr)-1]))
	if ext < 0 || ext > 1<<20 {
		return pgerror.New(pgerror.BadCopyFileFormat, "invalid COPY file header (extension length)")
	}
	if _, err := io.CopyN(io.Discard, br, int64(ext)); err != nil {
		return pgerror.New(pgerror.BadCopyFileFormat, "invalid COPY file header (missing extension)")
	}
	return nil
}

// readBinaryTuple reads one tuple of binary COPY data; nil at the trailer.
// A nil field is NULL.
func readBinaryTuple(br *bufio.Reader, want int) ([][]byte, bool, error) {
	var b2 [2]byte
	if _, err := io.ReadFull(br, b2[:]); err != nil {
		if err == io.EOF {
			return nil, true, nil
		}
		return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "unexpected EOF in COPY data")
	}
	n := int(int16(uint16(b2[0])<<8 | uint16(b2[1])))
	if n == -1 {
		return nil, true, nil
	}
	if n != want {
		return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "row field count is %d, expected %d", n, want)
	}
	out := make([][]byte, n)
	var b4 [4]byte
	for i := range out {
		if _, err := io.ReadFull(br, b4[:]); err != nil {
			return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "unexpected EOF in COPY data")
		}
		l := int32(uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3]))
		if l == -1 {
			continue
		}
		if l < 0 || l > 1<<30 {
			return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "invalid field size")
		}
		buf := make([]byte, l)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, false, pgerror.New(pgerror.BadCopyFileFormat, "unexpected EOF in COPY data")
		}
		out[i] = buf
	}
	return out, false, nil
}
