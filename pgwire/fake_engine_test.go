package pgwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// fakeEngine is a map-backed api.Engine that understands a handful of fixed
// statements (see fakeSession.plan). It exists to drive the server with
// real clients.
type fakeEngine struct {
	mu        sync.Mutex
	verifiers map[string]string // user → SCRAM verifier; "" means trust
	tables    map[string][][]types.Datum
	// slowStarted receives once per "slow" statement when it starts
	// blocking, so tests can cancel it without sleeping.
	slowStarted chan struct{}
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		verifiers:   map[string]string{"sabot": ""},
		tables:      map[string][][]types.Datum{"t": nil},
		slowStarted: make(chan struct{}, 16),
	}
}

func (e *fakeEngine) Authenticate(user string) (string, bool, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.verifiers[user]
	if !ok {
		return "", false, false
	}
	return v, v == "", true
}

func (e *fakeEngine) NewSession(_ context.Context, user, database string, params map[string]string) (api.Session, error) {
	if database == "nodb" {
		return nil, pgerror.New(pgerror.InvalidCatalogName, "database %q does not exist", database)
	}
	s := &fakeSession{e: e, tx: 'I', settings: map[string]string{
		"TimeZone": "UTC", "DateStyle": "ISO, MDY", "application_name": params["application_name"],
	}}
	return s, nil
}

func (e *fakeEngine) rows(table string) [][]types.Datum {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]types.Datum(nil), e.tables[table]...)
}

// tableCols is the schema of every fake table.
var tableCols = []api.Column{{Name: "a", T: types.Int8T, TableOID: 16384, AttrNum: 1}, {Name: "b", T: types.TextT, TableOID: 16384, AttrNum: 2}}

type fakeSession struct {
	e        *fakeEngine
	tx       byte
	settings map[string]string
}

type fakePrepared struct {
	sql    string
	params []types.T
	cols   []api.Column
	run    func(ctx context.Context, params []types.Datum) (api.Result, error)
}

func (p *fakePrepared) ParamTypes() []types.T { return p.params }
func (p *fakePrepared) Columns() []api.Column { return p.cols }
func (p *fakePrepared) SQL() string           { return p.sql }

// fakeRows serves prebuilt batches.
type fakeRows struct {
	cols    []api.Column
	batches []arrow.RecordBatch
	i       int
	tag     string
	failAt  int // return an error instead of batch failAt (when > 0)
}

func (r *fakeRows) Columns() []api.Column { return r.cols }
func (r *fakeRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.failAt > 0 && r.i == r.failAt {
		return nil, pgerror.New(pgerror.DivisionByZero, "division by zero")
	}
	if r.i >= len(r.batches) {
		return nil, nil
	}
	b := r.batches[r.i]
	r.i++
	return b, nil
}
func (r *fakeRows) Tag() string { return r.tag }
func (r *fakeRows) Close() error {
	for _, b := range r.batches {
		b.Release()
	}
	r.batches = nil
	return nil
}

// newRows builds Rows from datum rows, batchSize rows per batch.
func newRows(cols []api.Column, data [][]types.Datum, batchSize int, tag string) *fakeRows {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = types.ArrowField(c.Name, c.T)
	}
	schema := arrow.NewSchema(fields, nil)
	r := &fakeRows{cols: cols, tag: tag}
	for start := 0; start < len(data); start += batchSize {
		end := min(start+batchSize, len(data))
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for _, row := range data[start:end] {
			for j, d := range row {
				types.AppendDatum(b.Field(j), d, cols[j].T)
			}
		}
		r.batches = append(r.batches, b.NewRecordBatch())
		b.Release()
	}
	return r
}

var (
	reCopyFrom = regexp.MustCompile(`(?i)^copy\s+"?(\w+)"?.*from\s+stdin\s*(.*?);?$`)
	reCopyTo   = regexp.MustCompile(`(?i)^copy\s+"?(\w+)"?.*to\s+stdout\s*(.*?);?$`)
	reSet      = regexp.MustCompile(`(?i)^set\s+(\w+)\s*(?:=|to)\s*'?([^']*)'?$`)
	reSelectT  = regexp.MustCompile(`(?i)^select\s+.*\s+from\s+"?(\w+)"?$`)
)

var rowsCols = []api.Column{
	{Name: "id", T: types.Int4T}, {Name: "name", T: types.TextT}, {Name: "ok", T: types.BoolT},
	{Name: "score", T: types.Float8T}, {Name: "big", T: types.Int8T}, {Name: "day", T: types.DateT},
}

var rowsData = [][]types.Datum{
	{int64(1), "alice", true, 1.5, int64(10000000000), types.Date(19724)},
	{int64(2), "bob", false, -2.25, nil, nil},
	{int64(3), nil, nil, nil, int64(-1), types.Date(10956)},
}

var typesCols = []api.Column{
	{Name: "n", T: types.NumericT}, {Name: "ts", T: types.TimestampTZT}, {Name: "iv", T: types.IntervalT},
	{Name: "by", T: types.ByteaT}, {Name: "arr", T: types.ArrayOf(types.Int4T)}, {Name: "r", T: types.Float4T},
	{Name: "vc", T: types.VarcharT.WithMod(10)},
}

func typesData() [][]types.Datum {
	n, _, _ := apd.NewFromString("12345.678")
	return [][]types.Datum{{
		n,
		types.TimestampTZ(1704164645 * types.MicrosPerSecond), // 2024-01-02 03:04:05 UTC
		types.Interval{Months: 14, Days: 3, Micros: 4*types.MicrosPerHour + 5*types.MicrosPerMinute},
		[]byte{0xde, 0xad, 0x00},
		&types.Array{Elem: types.Int4T, Elems: []types.Datum{int64(1), nil, int64(3)}},
		0.25,
		"short",
	}}
}

// weirdData exercises COPY escaping.
var weirdData = [][]types.Datum{
	{int64(1), "tab\there"},
	{int64(2), "line\nbreak\\slash"},
	{int64(3), `comma,"quote"`},
	{int64(4), nil},
	{int64(5), ""},
}

func copySpec(dir api.CopyDirection, table, opts string) *api.CopySpec {
	spec := &api.CopySpec{Direction: dir, Table: table, Columns: tableCols, Delimiter: '\t', Null: `\N`}
	o := strings.ToLower(opts)
	switch {
	case strings.Contains(o, "binary"):
		spec.Format = api.CopyBinary
	case strings.Contains(o, "csv"):
		spec.Format, spec.Delimiter, spec.Null, spec.Quote, spec.Escape = api.CopyCSV, ',', "", '"', '"'
		spec.Header = strings.Contains(o, "header")
	}
	return spec
}

// plan turns a statement into a fakePrepared.
func (s *fakeSession) plan(sql string, declared []types.T) (*fakePrepared, error) {
	var kept []string
	for _, line := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			kept = append(kept, line)
		}
	}
	q := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.Join(kept, "\n")), ";"))
	lq := strings.ToLower(q)
	p := &fakePrepared{sql: sql, params: declared}
	one := func(cols []api.Column, row []types.Datum) func(context.Context, []types.Datum) (api.Result, error) {
		return func(context.Context, []types.Datum) (api.Result, error) {
			return api.Result{Rows: newRows(cols, [][]types.Datum{row}, 1, "SELECT 1")}, nil
		}
	}
	switch {
	case lq == "":
		p.run = func(context.Context, []types.Datum) (api.Result, error) { return api.Result{EmptyQuery: true}, nil }
	case lq == "select 1":
		p.cols = []api.Column{{Name: "?column?", T: types.Int4T}}
		p.run = one(p.cols, []types.Datum{int64(1)})
	case lq == "select rows":
		p.cols = rowsCols
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			return api.Result{Rows: newRows(rowsCols, rowsData, 2, "SELECT 3")}, nil
		}
	case lq == "select types":
		p.cols = typesCols
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			return api.Result{Rows: newRows(typesCols, typesData(), 1, "SELECT 1")}, nil
		}
	case strings.HasPrefix(lq, "echo"):
		// echo <type>...: one row with the parameters as columns.
		names := strings.Fields(lq)[1:]
		p.params = make([]types.T, len(names))
		for i, n := range names {
			t, ok := types.ByName(n)
			if !ok {
				return nil, pgerror.New(pgerror.UndefinedObject, "type %q does not exist", n)
			}
			if i < len(declared) && declared[i].Family != types.FamUnknown && declared[i] != t {
				return nil, pgerror.New(pgerror.DatatypeMismatch, "parameter $%d declared %s, used as %s", i+1, declared[i], t)
			}
			p.params[i] = t
			p.cols = append(p.cols, api.Column{Name: fmt.Sprintf("p%d", i+1), T: t})
		}
		cols := p.cols
		p.run = func(_ context.Context, params []types.Datum) (api.Result, error) {
			if len(params) != len(cols) {
				return api.Result{}, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $1")
			}
			return api.Result{Rows: newRows(cols, [][]types.Datum{params}, 1, "SELECT 1")}, nil
		}
	case lq == "error":
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			e := pgerror.New(pgerror.DivisionByZero, "division by zero").WithDetail("some detail").WithHint("some hint")
			e.Position = 8
			return api.Result{}, e
		}
	case lq == "fail midway":
		p.cols = tableCols
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			r := newRows(tableCols, [][]types.Datum{{int64(1), "x"}, {int64(2), "y"}}, 1, "SELECT 2")
			r.failAt = 1
			return api.Result{Rows: r}, nil
		}
	case lq == "internal":
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			return api.Result{}, fmt.Errorf("boom")
		}
	case lq == "slow":
		p.run = func(ctx context.Context, _ []types.Datum) (api.Result, error) {
			s.e.slowStarted <- struct{}{}
			<-ctx.Done()
			return api.Result{}, ctx.Err()
		}
	case lq == "timeout":
		p.run = func(ctx context.Context, _ []types.Datum) (api.Result, error) {
			tctx, cancel := context.WithTimeout(ctx, 0)
			defer cancel()
			<-tctx.Done()
			return api.Result{}, tctx.Err()
		}
	case strings.HasPrefix(lq, "gen "):
		n, err := strconv.Atoi(strings.TrimSpace(lq[4:]))
		if err != nil {
			return nil, pgerror.New(pgerror.SyntaxError, "bad gen count")
		}
		p.cols = tableCols
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			data := make([][]types.Datum, n)
			for i := range data {
				data[i] = []types.Datum{int64(i), "row " + strconv.Itoa(i)}
			}
			return api.Result{Rows: newRows(tableCols, data, 1000, fmt.Sprintf("SELECT %d", n))}, nil
		}
	case strings.HasPrefix(lq, "wide "):
		// wide N: N rows of 1000-byte strings, cheap to build.
		n, err := strconv.Atoi(strings.TrimSpace(lq[5:]))
		if err != nil {
			return nil, pgerror.New(pgerror.SyntaxError, "bad wide count")
		}
		p.cols = tableCols
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			wide := strings.Repeat("w", 1000)
			data := make([][]types.Datum, n)
			for i := range data {
				data[i] = []types.Datum{int64(i), wide}
			}
			return api.Result{Rows: newRows(tableCols, data, 1000, fmt.Sprintf("SELECT %d", n))}, nil
		}
	case lq == "notice":
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			return api.Result{Tag: "DO", Notices: []string{"hello from the engine"}}, nil
		}
	case lq == "begin":
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			s.tx = 'T'
			return api.Result{Tag: "BEGIN"}, nil
		}
	case lq == "commit":
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			s.tx = 'I'
			return api.Result{Tag: "COMMIT"}, nil
		}
	case strings.HasPrefix(lq, "count "):
		table := strings.TrimSpace(lq[6:])
		p.cols = []api.Column{{Name: "count", T: types.Int8T}}
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			n := int64(len(s.e.rows(table)))
			return api.Result{Rows: newRows(p.cols, [][]types.Datum{{n}}, 1, "SELECT 1")}, nil
		}
	case strings.HasPrefix(lq, "show "):
		name := strings.TrimSpace(q[5:])
		p.cols = []api.Column{{Name: name, T: types.TextT}}
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			return api.Result{Rows: newRows(p.cols, [][]types.Datum{{s.settings[name]}}, 1, "SHOW")}, nil
		}
	case reSet.MatchString(q):
		m := reSet.FindStringSubmatch(q)
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			s.settings[m[1]] = m[2]
			return api.Result{Tag: "SET"}, nil
		}
	case reCopyFrom.MatchString(q):
		m := reCopyFrom.FindStringSubmatch(q)
		spec := copySpec(api.CopyFromStdin, strings.ToLower(m[1]), m[2])
		p.run = func(context.Context, []types.Datum) (api.Result, error) { return api.Result{Copy: spec}, nil }
	case reCopyTo.MatchString(q):
		m := reCopyTo.FindStringSubmatch(q)
		table := strings.ToLower(m[1])
		spec := copySpec(api.CopyToStdout, table, m[2])
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			data := s.e.rows(table)
			if table == "weird" {
				data = weirdData
			}
			return api.Result{Copy: spec, Rows: newRows(tableCols, data, 2, fmt.Sprintf("COPY %d", len(data)))}, nil
		}
	case reSelectT.MatchString(q):
		// pgx's CopyFrom describes `select "a", "b" from "t"`.
		table := strings.ToLower(reSelectT.FindStringSubmatch(q)[1])
		p.cols = tableCols
		p.run = func(context.Context, []types.Datum) (api.Result, error) {
			data := s.e.rows(table)
			return api.Result{Rows: newRows(tableCols, data, 100, fmt.Sprintf("SELECT %d", len(data)))}, nil
		}
	default:
		e := pgerror.New(pgerror.SyntaxError, "syntax error at or near %q", strings.Fields(q + " x")[0])
		e.Position = 1
		return nil, e
	}
	if p.params == nil {
		p.params = []types.T{}
	}
	return p, nil
}

func (s *fakeSession) Prepare(_ context.Context, sql string, paramTypes []types.T) (api.Prepared, error) {
	if strings.Count(strings.TrimSuffix(strings.TrimSpace(sql), ";"), ";") > 0 {
		return nil, pgerror.New(pgerror.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	p, err := s.plan(sql, paramTypes)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *fakeSession) Execute(ctx context.Context, p api.Prepared, params []types.Datum) (api.Result, error) {
	return p.(*fakePrepared).run(ctx, params)
}

func (s *fakeSession) ExecSimple(ctx context.Context, sql string, fn func(api.Result) error) error {
	stmts := strings.Split(sql, ";")
	ran := false
	for _, st := range stmts {
		if isEmpty(st) {
			continue
		}
		ran = true
		p, err := s.plan(st, nil)
		if err != nil {
			return err
		}
		res, err := p.run(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(res); err != nil {
			return err
		}
	}
	if !ran {
		return fn(api.Result{EmptyQuery: true})
	}
	return nil
}

func (s *fakeSession) CopyIn(ctx context.Context, spec *api.CopySpec, r io.Reader) (int64, error) {
	var rows [][]types.Datum
	var err error
	if spec.Format == api.CopyBinary {
		rows, err = parseBinaryCopy(r)
	} else {
		rows, err = parseTextCopy(r, spec)
	}
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.e.mu.Lock()
	s.e.tables[spec.Table] = append(s.e.tables[spec.Table], rows...)
	s.e.mu.Unlock()
	return int64(len(rows)), nil
}

func parseTextCopy(r io.Reader, spec *api.CopySpec) ([][]types.Datum, error) {
	var rows [][]types.Datum
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == `\.` {
			break
		}
		f := strings.Split(line, string(spec.Delimiter))
		if len(f) != 2 {
			return nil, pgerror.New("22P04", "missing data for column \"b\"")
		}
		a, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type bigint: %q", f[0])
		}
		var b types.Datum
		if f[1] != spec.Null {
			b = f[1]
		}
		rows = append(rows, []types.Datum{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

func parseBinaryCopy(r io.Reader) ([][]types.Datum, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	bad := pgerror.New("22P04", "invalid COPY file format")
	if !bytes.HasPrefix(data, []byte(binaryCopySignature)) || len(data) < 19 {
		return nil, bad
	}
	data = data[19:]
	var rows [][]types.Datum
	for {
		if len(data) == 0 {
			return rows, nil // the trailer is optional (pgx omits it)
		}
		if len(data) < 2 {
			return nil, bad
		}
		n := int16(binary.BigEndian.Uint16(data))
		data = data[2:]
		if n == -1 {
			return rows, nil
		}
		if n != 2 {
			return nil, bad
		}
		row := make([]types.Datum, 2)
		for i := range 2 {
			if len(data) < 4 {
				return nil, bad
			}
			l := int32(binary.BigEndian.Uint32(data))
			data = data[4:]
			if l < 0 {
				continue
			}
			if int(l) > len(data) {
				return nil, bad
			}
			v := data[:l]
			data = data[l:]
			if i == 0 {
				if len(v) != 8 {
					return nil, bad
				}
				row[0] = int64(binary.BigEndian.Uint64(v))
			} else {
				row[1] = string(v)
			}
		}
		rows = append(rows, row)
	}
}

func (s *fakeSession) TxStatus() byte { return s.tx }
func (s *fakeSession) Setting(name string) (string, bool) {
	v, ok := s.settings[name]
	return v, ok
}
func (s *fakeSession) ReportedSettings() map[string]string {
	out := map[string]string{}
	for _, k := range []string{"application_name", "TimeZone", "DateStyle"} {
		out[k] = s.settings[k]
	}
	return out
}
func (s *fakeSession) Close() error { return nil }

// isEmpty reports whether st holds only whitespace and -- comments.
func isEmpty(st string) bool {
	for _, line := range strings.Split(st, "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}
