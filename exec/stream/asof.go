package stream

import (
	"bytes"
	"context"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// AsOfJoin is the incremental ASOF [LEFT] JOIN (semantics in
// sql/planner/asof.go): each left row joins the right row with equal keys
// whose time is the nearest allowed by the inequality
//
//	">=" greatest right time <= left time    ">"  greatest right time < left
//	"<=" smallest right time >= left time    "<"  smallest right time > left
//
// ties broken by the smallest canonical encoding (vec.AppendRowKey) of the
// right row's first TieCols columns. NULL keys or times never match.
//
// State, per key: the right rows sorted by (time, encoding) with
// multiplicities, and the left rows sorted by (time, encoding) with
// multiplicities. A left change probes the right rows and emits its joined
// row with its own sign. A right change at time x can only alter the
// matches of left rows whose time lies between x and the neighbouring right
// time (the next one above x for ">="/">", the one below for "<="/"<"):
// their old matches are computed, the change is applied, and for each left
// row whose match changed the old joined row is retracted and the new one
// inserted (as many times as the left row's multiplicity). Output updates
// are Delete/Insert rows. State is held in memory.
//
// Watermarks ("asof_watermark.go"): for ">=" and ">" (the prevailing
// quote), once both time columns have watermarks, rows below the smaller
// one are final and dropped (but the last right row before it per key),
// and it is forwarded on the left time column. For "<=" and "<" a later
// right row can still revise any earlier left row's match: watermarks are
// dropped and the state is kept.
//
// Output columns: the left input's columns, then the right input's.
type AsOfJoin struct {
	al      *aligner
	types   [2][]types.T
	keys    [2][]int
	time    [2]int
	tieCols int
	op      string
	outer   bool
	timeT   types.T
	width   [2]int
	schema  *arrow.Schema
	mem     memory.Allocator

	rights map[string]*asofGroup
	lefts  map[string]*asofGroup

	bld  *array.RecordBuilder
	ops  []Op
	kbuf []byte
	cols []arrow.Array

	bytes  int64 // asofRowBytes and asofGroupBytes of both sides
	charge memCharge

	wms asofWatermarks
}

// asofRowBytes estimates one kept row: the asofRow, its slot in the
// group, its time, encoding and boxed values.
func asofRowBytes(r *asofRow) int64 {
	return 72 + ptrBytes + datumBytes(r.time) + int64(len(r.enc)) + rowBytes(r.row)
}

// asofGroupBytes is one key's group without its rows: the map entry, the
// key and the asofGroup.
func asofGroupBytes(key string) int64 {
	return mapEntryBytes + stringBytes + ptrBytes + sliceBytes + int64(len(key))
}

// WithMemBudget makes AsOfJoin charge its state (every row of both inputs,
// boxed, by key and time) to b after every chunk, failing with SQLSTATE
// 53200 from Next when b refuses. Close releases it all. nil (the default)
// means unlimited.
func (j *AsOfJoin) WithMemBudget(b MemBudget) *AsOfJoin {
	j.charge = memCharge{budget: b, what: "ASOF join"}
	return j
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (j *AsOfJoin) StateBytes() int64 { return j.bytes }

// asofRow is one distinct row of a side with its multiplicity.
type asofRow struct {
	time types.Datum
	enc  []byte // canonical encoding (tie order / identity)
	row  []types.Datum
	n    int64
}

// asofGroup holds one side's rows of one key, sorted by (time, enc).
type asofGroup struct {
	rows []*asofRow
}

// NewAsOfJoin joins left and right (columns of SQL types leftTypes,
// rightTypes) on leftKeys[i] = rightKeys[i] and the inequality
// left[leftTime] op right[rightTime]; both time columns have one type.
// tieCols is the number of leading right columns that decide ties; outer
// selects ASOF LEFT JOIN.
func NewAsOfJoin(left, right Executor, leftTypes, rightTypes []types.T, leftKeys, rightKeys []int,
	leftTime, rightTime int, op string, tieCols int, outer bool) (*AsOfJoin, error) {
	if len(leftKeys) != len(rightKeys) {
		return nil, pgerror.Internal("stream: asof join key lists differ in length (%d, %d)", len(leftKeys), len(rightKeys))
	}
	switch op {
	case ">=", ">", "<=", "<":
	default:
		return nil, pgerror.Internal("stream: asof join operator %q", op)
	}
	j := &AsOfJoin{al: newAligner(left, right), types: [2][]types.T{leftTypes, rightTypes},
		keys: [2][]int{leftKeys, rightKeys}, time: [2]int{leftTime, rightTime}, op: op, outer: outer,
		tieCols: tieCols, mem: memory.DefaultAllocator,
		rights: map[string]*asofGroup{}, lefts: map[string]*asofGroup{}}
	var fields []arrow.Field
	for s, in := range []Executor{left, right} {
		sc := in.Schema()
		if sc.NumFields() != len(j.types[s]) {
			return nil, pgerror.Internal("stream: asof join input %d has %d fields and %d types", s, sc.NumFields(), len(j.types[s]))
		}
		for _, k := range append(append([]int{}, j.keys[s]...), j.time[s]) {
			if k < 0 || k >= len(j.types[s]) {
				return nil, pgerror.Internal("stream: asof join column %d out of range", k)
			}
		}
		j.width[s] = sc.NumFields()
		for _, f := range sc.Fields() {
			f.Nullable = true
			fields = append(fields, f)
		}
	}
	if tieCols < 0 || tieCols > len(rightTypes) {
		return nil, pgerror.Internal("stream: asof join tie columns %d of %d", tieCols, len(rightTypes))
	}
	for i := range leftKeys {
		if leftTypes[leftKeys[i]].Family != rightTypes[rightKeys[i]].Family {
			return nil, pgerror.Internal("stream: asof join key types %s and %s differ", leftTypes[leftKeys[i]], rightTypes[rightKeys[i]])
		}
	}
	j.timeT = leftTypes[leftTime]
	if j.timeT.Family != rightTypes[rightTime].Family {
		return nil, pgerror.Internal("stream: asof join time types %s and %s differ", j.timeT, rightTypes[rightTime])
	}
	j.schema = arrow.NewSchema(fields, nil)
	return j, nil
}

// Schema implements Executor.
func (j *AsOfJoin) Schema() *arrow.Schema { return j.schema }

// Next implements Executor.
func (j *AsOfJoin) Next(ctx context.Context) (Message, error) {
	for {
		side, m, err := j.al.next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			out, err := j.process(side, m)
			m.Release()
			if err == nil {
				err = j.charge.set(j.StateBytes())
			}
			if err != nil {
				if out != nil {
					out.Release()
				}
				return nil, err
			}
			if out != nil {
				return out, nil
			}
		case Watermark:
			fwd, err := j.watermark(side, m)
			if err != nil {
				return nil, err
			}
			if fwd != nil {
				return *fwd, nil
			}
		default:
			return m, nil
		}
	}
}

// Close implements Executor.
func (j *AsOfJoin) Close() error {
	if j.bld != nil {
		j.bld.Release()
		j.bld = nil
	}
	j.rights, j.lefts = nil, nil
	j.bytes = 0
	j.charge.release()
	var first error
	for _, in := range j.al.inputs {
		if err := in.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (j *AsOfJoin) process(s int, c *Chunk) (*Chunk, error) {
	b := c.Batch
	if j.bld == nil {
		j.bld = array.NewRecordBuilder(j.mem, j.schema)
	}
	j.ops = j.ops[:0]
	j.cols = b.Columns()
	var keyCols []arrow.Array
	for _, k := range j.keys[s] {
		keyCols = append(keyCols, b.Column(k))
	}
	keyTypes := make([]types.T, len(j.keys[s]))
	for i, k := range j.keys[s] {
		keyTypes[i] = j.types[s][k]
	}
	encCols := j.cols
	encTypes := j.types[s]
	if s == 1 {
		encCols, encTypes = j.cols[:j.tieCols], j.types[1][:j.tieCols]
	}
	tcol := b.Column(j.time[s])
	for i, op := range c.Ops {
		sign := op.Sign()
		null := tcol.IsNull(i)
		for _, kc := range keyCols {
			null = null || kc.IsNull(i)
		}
		if null {
			// Never matches: only a left row of an outer join shows up.
			if s == 0 && j.outer {
				j.emit(sign, j.rowAt(0, i), nil, 1)
			}
			continue
		}
		key := string(vec.AppendRowKey(j.kbuf[:0], keyCols, keyTypes, i))
		r := &asofRow{time: types.GetDatum(tcol, i, j.timeT), enc: vec.AppendRowKey(nil, encCols, encTypes, i)}
		if s == 0 {
			if err := j.leftChange(key, r, sign, i); err != nil {
				return nil, err
			}
		} else if err := j.rightChange(key, r, sign, i); err != nil {
			return nil, err
		}
	}
	j.wms.added += len(c.Ops)
	if len(j.ops) == 0 {
		return nil, nil
	}
	out := &Chunk{Batch: j.bld.NewRecordBatch(), Ops: append([]Op(nil), j.ops...)}
	return out, nil
}

func (j *AsOfJoin) rowAt(s, i int) []types.Datum {
	row := make([]types.Datum, j.width[s])
	for c := range row {
		row[c] = types.GetDatum(j.cols[c], i, j.types[s][c])
	}
	return row
}

// emit appends n copies of the joined row l ⨝ r (r nil: NULL padding).
func (j *AsOfJoin) emit(sign int64, l, r []types.Datum, n int64) {
	op := Insert
	if sign < 0 {
		op = Delete
	}
	for ; n > 0; n-- {
		for c, d := range l {
			types.AppendDatum(j.bld.Field(c), d, j.types[0][c])
		}
		for c := 0; c < j.width[1]; c++ {
			var d types.Datum
			if r != nil {
				d = r[c]
			}
			types.AppendDatum(j.bld.Field(j.width[0]+c), d, j.types[1][c])
		}
		j.ops = append(j.ops, op)
	}
}

func (j *AsOfJoin) cmpRow(a *asofRow, time types.Datum, enc []byte) int {
	if c := types.Compare(a.time, time, j.timeT); c != 0 {
		return c
	}
	return bytes.Compare(a.enc, enc)
}

// find returns the index of r's entry in g, or where it would go.
func (j *AsOfJoin) find(g *asofGroup, r *asofRow) (int, bool) {
	i := sort.Search(len(g.rows), func(k int) bool { return j.cmpRow(g.rows[k], r.time, r.enc) >= 0 })
	return i, i < len(g.rows) && j.cmpRow(g.rows[i], r.time, r.enc) == 0
}

// add applies sign to r's multiplicity in m[key]; it returns the stored row
// (nil when a retraction finds nothing: the input is inconsistent).
func (j *AsOfJoin) add(m map[string]*asofGroup, key string, r *asofRow, sign int64, row func() []types.Datum) *asofRow {
	g := m[key]
	if g == nil {
		if sign < 0 {
			return nil
		}
		g = &asofGroup{}
		m[key] = g
		j.bytes += asofGroupBytes(key)
	}
	i, ok := j.find(g, r)
	if !ok {
		if sign < 0 {
			return nil
		}
		r.row, r.n = row(), 0
		j.bytes += asofRowBytes(r)
		g.rows = append(g.rows, nil)
		copy(g.rows[i+1:], g.rows[i:])
		g.rows[i] = r
	}
	e := g.rows[i]
	e.n += sign
	if e.n <= 0 {
		g.rows = append(g.rows[:i], g.rows[i+1:]...)
		j.bytes -= asofRowBytes(e)
		if len(g.rows) == 0 {
			delete(m, key)
			j.bytes -= asofGroupBytes(key)
		}
	}
	return e
}

// match returns the right row a left time joins with in g, or nil.
func (j *AsOfJoin) match(g *asofGroup, t types.Datum) *asofRow {
	if g == nil || len(g.rows) == 0 {
		return nil
	}
	rows := g.rows
	n := len(rows)
	cmp := func(k int) int { return types.Compare(rows[k].time, t, j.timeT) }
	switch j.op {
	case ">=", ">":
		idx := sort.Search(n, func(k int) bool {
			if j.op == ">=" {
				return cmp(k) > 0
			}
			return cmp(k) >= 0
		})
		if idx == 0 {
			return nil
		}
		last := rows[idx-1].time
		start := sort.Search(idx, func(k int) bool { return types.Compare(rows[k].time, last, j.timeT) >= 0 })
		return rows[start]
	default:
		idx := sort.Search(n, func(k int) bool {
			if j.op == "<=" {
				return cmp(k) >= 0
			}
			return cmp(k) > 0
		})
		if idx == n {
			return nil
		}
		return rows[idx]
	}
}

func (j *AsOfJoin) leftChange(key string, r *asofRow, sign int64, i int) error {
	e := j.add(j.lefts, key, r, sign, func() []types.Datum { return j.rowAt(0, i) })
	if e == nil {
		return pgerror.Internal("stream: asof join retracts a left row it never saw")
	}
	m := j.match(j.rights[key], r.time)
	if m != nil {
		j.emit(sign, e.row, m.row, 1)
	} else if j.outer {
		j.emit(sign, e.row, nil, 1)
	}
	return nil
}

func (j *AsOfJoin) rightChange(key string, r *asofRow, sign int64, i int) error {
	rg, lg := j.rights[key], j.lefts[key]
	// The left rows whose match may change: times between r.time and the
	// neighbouring right time (inclusive bounds; unchanged ones emit nothing).
	var affected []*asofRow
	if lg != nil {
		var lo, hi types.Datum
		loSet, hiSet := true, true
		if j.op[0] == '>' {
			lo = r.time
			hiSet = false
			if rg != nil {
				k := sort.Search(len(rg.rows), func(k int) bool { return types.Compare(rg.rows[k].time, r.time, j.timeT) > 0 })
				if k < len(rg.rows) {
					hi, hiSet = rg.rows[k].time, true
				}
			}
		} else {
			hi = r.time
			loSet = false
			if rg != nil {
				k := sort.Search(len(rg.rows), func(k int) bool { return types.Compare(rg.rows[k].time, r.time, j.timeT) >= 0 })
				if k > 0 {
					lo, loSet = rg.rows[k-1].time, true
				}
			}
		}
		start := 0
		if loSet {
			start = sort.Search(len(lg.rows), func(k int) bool { return types.Compare(lg.rows[k].time, lo, j.timeT) >= 0 })
		}
		for k := start; k < len(lg.rows); k++ {
			if hiSet && types.Compare(lg.rows[k].time, hi, j.timeT) > 0 {
				break
			}
			affected = append(affected, lg.rows[k])
		}
	}
	old := make([]*asofRow, len(affected))
	for k, l := range affected {
		old[k] = j.match(rg, l.time)
	}
	if e := j.add(j.rights, key, r, sign, func() []types.Datum { return j.rowAt(1, i) }); e == nil {
		return pgerror.Internal("stream: asof join retracts a right row it never saw")
	}
	rg = j.rights[key]
	for k, l := range affected {
		nw := j.match(rg, l.time)
		if nw == old[k] {
			continue
		}
		if old[k] != nil || j.outer {
			var or []types.Datum
			if old[k] != nil {
				or = old[k].row
			}
			j.emit(-1, l.row, or, l.n)
		}
		if nw != nil || j.outer {
			var nr []types.Datum
			if nw != nil {
				nr = nw.row
			}
			j.emit(1, l.row, nr, l.n)
		}
	}
	return nil
}
