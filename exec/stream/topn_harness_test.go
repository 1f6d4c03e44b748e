package stream

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// This file is the test harness of the TopN, GroupTopN, SetOp,
// DynamicFilter and OverWindow executors: scripted sources, a driver that
// accumulates an operator's output multiset and checks update pairs, the
// naive models, and the data-driven runner over testdata_ops/ (a directory
// of its own: TestDataDriven walks all of testdata/ with its pipelines).

// opScript replays queued messages; an empty opQueue ends the stream.
type opScript struct {
	schema *arrow.Schema
	msgs   []Message
}

func (s *opScript) Schema() *arrow.Schema { return s.schema }
func (s *opScript) Next(context.Context) (Message, error) {
	if len(s.msgs) == 0 {
		return nil, nil
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}
func (s *opScript) Close() error {
	for _, m := range s.msgs {
		ReleaseMessage(m)
	}
	s.msgs = nil
	return nil
}

// opRun drives one operator under test and keeps its output multiset.
type opRun struct {
	t     testing.TB
	mem   memory.Allocator
	ins   []*opScript
	op    Executor
	ts    []types.T // output types
	view  map[string]int64
	epoch uint64
}

func newOpRun(t testing.TB, mem memory.Allocator, widths ...int) *opRun {
	r := &opRun{t: t, mem: mem, view: map[string]int64{}}
	for i, w := range widths {
		names := make([]string, w)
		for c := range names {
			names[c] = string(rune('a' + c))
		}
		if i == 1 && w == 1 {
			names[0] = "v"
		}
		s, _ := int8Schema(names...)
		r.ins = append(r.ins, &opScript{schema: s})
	}
	return r
}

func (r *opRun) types(in int) []types.T {
	_, ts := int8Schema(make([]string, r.ins[in].schema.NumFields())...)
	return ts
}

func (r *opRun) push(in int, rows []row) {
	if len(rows) == 0 {
		return
	}
	r.ins[in].msgs = append(r.ins[in].msgs, makeChunkMem(r.t, r.mem, r.ins[in].schema, rows))
}

func (r *opRun) watermark(in, col int, v int64) {
	r.ins[in].msgs = append(r.ins[in].msgs, Watermark{Col: col, Value: v})
}

// barrier appends the next barrier to every input, runs the operator to
// it and returns the changes it emitted (watermarks as `wm COL VALUE`).
func (r *opRun) barrier() []string {
	r.t.Helper()
	r.epoch++
	for _, in := range r.ins {
		in.msgs = append(in.msgs, Barrier{Epoch: r.epoch})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var changes []string
	for {
		m, err := r.op.Next(ctx)
		require.NoError(r.t, err)
		require.NotNil(r.t, m, "stream ended before barrier %d", r.epoch)
		switch m := m.(type) {
		case *Chunk:
			require.Equal(r.t, int(m.Batch.NumRows()), len(m.Ops))
			require.Positive(r.t, len(m.Ops))
			for i, op := range m.Ops {
				switch op {
				case UpdateDelete:
					require.True(r.t, i+1 < len(m.Ops) && m.Ops[i+1] == UpdateInsert, "U- without U+")
				case UpdateInsert:
					require.True(r.t, i > 0 && m.Ops[i-1] == UpdateDelete, "U+ without U-")
				}
			}
			for i, s := range formatRows(m.Batch, r.ts) {
				changes = append(changes, m.Ops[i].String()+" "+s)
				r.view[s] += m.Ops[i].Sign()
				require.GreaterOrEqual(r.t, r.view[s], int64(0), "delete of absent output row %q", s)
				if r.view[s] == 0 {
					delete(r.view, s)
				}
			}
			m.Release()
		case Watermark:
			changes = append(changes, fmt.Sprintf("wm %d %v", m.Col, m.Value))
		case Barrier:
			require.Equal(r.t, r.epoch, m.Epoch)
			return changes
		}
	}
}

// rows is the accumulated output, sorted, one line per copy.
func (r *opRun) rows() []string {
	var out []string
	for s, n := range r.view {
		for ; n > 0; n-- {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func (r *opRun) close() { require.NoError(r.t, r.op.Close()) }

// opParseOrder reads `1d,0f`: column numbers, d for DESC, f for NULLS FIRST.
func opParseOrder(t testing.TB, s string) []SortCol {
	var out []SortCol
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		sc := SortCol{}
		for strings.HasSuffix(p, "d") || strings.HasSuffix(p, "f") {
			if strings.HasSuffix(p, "d") {
				sc.Desc = true
			} else {
				sc.NullsFirst = true
			}
			p = p[:len(p)-1]
		}
		c, err := strconv.Atoi(p)
		require.NoError(t, err)
		sc.Col = c
		out = append(out, sc)
	}
	return out
}

func opParseInts(t testing.TB, s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		c, err := strconv.Atoi(p)
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

func newTopNRun(t testing.TB, mem memory.Allocator, width int, order []SortCol, limit, offset int64, ties bool) *opRun {
	r := newOpRun(t, mem, width)
	op, err := NewTopN(r.ins[0], r.types(0), order, limit, offset, ties)
	require.NoError(t, err)
	r.op, r.ts = op.WithAllocator(mem), r.types(0)
	return r
}

func newGroupTopNRun(t testing.TB, mem memory.Allocator, width int, part []int, order []SortCol, fn string, limit int64, emitRank bool) *opRun {
	r := newOpRun(t, mem, width)
	op, err := NewGroupTopN(r.ins[0], r.types(0), part, order, fn, limit, emitRank)
	require.NoError(t, err)
	r.op, r.ts = op.WithAllocator(mem), r.types(0)
	if emitRank {
		r.ts = append(r.ts, types.Int8T)
	}
	require.Equal(t, len(r.ts), op.Schema().NumFields())
	return r
}

func newSetOpRun(t testing.TB, mem memory.Allocator, kind string, all bool) *opRun {
	r := newOpRun(t, mem, 2, 2)
	op, err := NewSetOp(r.ins[0], r.ins[1], r.types(0), kind, all)
	require.NoError(t, err)
	r.op, r.ts = op.WithAllocator(mem), r.types(0)
	return r
}

func newDynFilterRun(t testing.TB, mem memory.Allocator, col int, cmpOp string) *opRun {
	r := newOpRun(t, mem, 2, 1)
	op, err := NewDynamicFilter(r.ins[0], r.ins[1], r.types(0), col, cmpOp, types.Int8T)
	require.NoError(t, err)
	r.op, r.ts = op.WithAllocator(mem), r.types(0)
	return r
}

// naiveWindowFunc computes row_number() and a running sum(b) (ROWS frame) of a
// partition, the window of newOverWindowRun.
func naiveWindowFunc(mem memory.Allocator) func(context.Context, arrow.RecordBatch) ([]arrow.Array, error) {
	return func(_ context.Context, b arrow.RecordBatch) ([]arrow.Array, error) {
		rn, rs := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		defer rn.Release()
		defer rs.Release()
		col := b.Column(1).(*array.Int64)
		var sum int64
		seen := false
		for i := 0; i < int(b.NumRows()); i++ {
			rn.Append(int64(i + 1))
			if !col.IsNull(i) {
				sum += col.Value(i)
				seen = true
			}
			if seen {
				rs.Append(sum)
			} else {
				rs.AppendNull()
			}
		}
		return []arrow.Array{rn.NewArray(), rs.NewArray()}, nil
	}
}

func newOverWindowRun(t testing.TB, mem memory.Allocator, width int, part []int, order []SortCol) *opRun {
	r := newOpRun(t, mem, width)
	in := r.ins[0].schema
	fields := append(append([]arrow.Field(nil), in.Fields()...), types.ArrowField("rn", types.Int8T), types.ArrowField("rsum", types.Int8T))
	op, err := NewOverWindow(r.ins[0], r.types(0), arrow.NewSchema(fields, nil), part, order, naiveWindowFunc(mem))
	require.NoError(t, err)
	r.op, r.ts = op.WithAllocator(mem), append(r.types(0), types.Int8T, types.Int8T)
	return r
}

// TestOperatorsDataDriven runs testdata_ops/*:
//
//	topn [cols=N] order=1d,0f limit=N [offset=N] [ties]
//	grouptopn [cols=N] partition=0 order=1 fn=rank limit=N [rank]
//	setop kind=intersect|except [all]
//	dynfilter col=N op=<
//	overwindow [cols=N] partition=0 order=1     (row_number, running sum(b))
//	push [t=N]          rows (`+ 1 4`, `- 1 4`, `U- 5 3`, `U+ 5 4`)
//	watermark [t=N] col=C val=V
//	barrier             barrier on every input; prints changes and output
func TestOperatorsDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata_ops", func(t *testing.T, path string) {
		var r *opRun
		defer func() {
			if r != nil {
				r.close()
			}
		}()
		mem := memory.DefaultAllocator
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			width := 2
			if d.HasArg("cols") {
				d.ScanArgs(t, "cols", &width)
			}
			str := func(k string) string {
				var s string
				if d.HasArg(k) {
					d.ScanArgs(t, k, &s)
				}
				return s
			}
			i64 := func(k string, def int64) int64 {
				if !d.HasArg(k) {
					return def
				}
				var v int64
				d.ScanArgs(t, k, &v)
				return v
			}
			build := func(nr *opRun) string {
				if r != nil {
					r.close()
				}
				r = nr
				return "ok"
			}
			switch d.Cmd {
			case "topn":
				return build(newTopNRun(t, mem, width, opParseOrder(t, str("order")), i64("limit", -1), i64("offset", 0), d.HasArg("ties")))
			case "grouptopn":
				return build(newGroupTopNRun(t, mem, width, opParseInts(t, str("partition")), opParseOrder(t, str("order")), str("fn"), i64("limit", 0), d.HasArg("rank")))
			case "setop":
				return build(newSetOpRun(t, mem, str("kind"), d.HasArg("all")))
			case "dynfilter":
				return build(newDynFilterRun(t, mem, int(i64("col", 0)), str("op")))
			case "overwindow":
				return build(newOverWindowRun(t, mem, width, opParseInts(t, str("partition")), opParseOrder(t, str("order"))))
			case "push":
				r.push(int(i64("t", 0)), parseRows(t, d.Input))
				return "ok"
			case "watermark":
				r.watermark(int(i64("t", 0)), int(i64("col", 0)), i64("val", 0))
				return "ok"
			case "barrier":
				var sb strings.Builder
				fmt.Fprintf(&sb, "epoch %d\nchanges:\n", r.epoch+1)
				for _, l := range r.barrier() {
					sb.WriteString(l + "\n")
				}
				sb.WriteString("output:\n")
				for _, l := range r.rows() {
					sb.WriteString(l + "\n")
				}
				return sb.String()
			}
			return fmt.Sprintf("unknown command %q", d.Cmd)
		})
	})
}

// Naive models over int8 rows.

// naiveOrderCmp orders rows by order, then by every column ascending with NULLs
// last (the operators' tie-break).
func naiveOrderCmp(order []SortCol) func(a, b []*int64) int {
	one := func(x, y *int64, desc, nullsFirst bool) int {
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			if nullsFirst {
				return -1
			}
			return 1
		case y == nil:
			if nullsFirst {
				return 1
			}
			return -1
		}
		c := cmp.Compare(*x, *y)
		if desc {
			c = -c
		}
		return c
	}
	return func(a, b []*int64) int {
		for _, sc := range order {
			if c := one(a[sc.Col], b[sc.Col], sc.Desc, sc.NullsFirst); c != 0 {
				return c
			}
		}
		for i := range a {
			if c := one(a[i], b[i], false, false); c != 0 {
				return c
			}
		}
		return 0
	}
}

func naiveTied(order []SortCol, a, b []*int64) bool {
	for _, sc := range order {
		x, y := a[sc.Col], b[sc.Col]
		if (x == nil) != (y == nil) || (x != nil && *x != *y) {
			return false
		}
	}
	return true
}

func naiveTopN(rows [][]*int64, order []SortCol, limit, offset int64, ties bool) []string {
	s := slices.Clone(rows)
	slices.SortFunc(s, naiveOrderCmp(order))
	var out []string
	end := int64(len(s))
	if limit >= 0 {
		end = min(end, offset+limit)
	}
	for i := offset; i < end; i++ {
		out = append(out, fmtRow(s[i]))
	}
	if ties && limit > 0 && end > offset {
		for i := end; i < int64(len(s)) && naiveTied(order, s[end-1], s[i]); i++ {
			out = append(out, fmtRow(s[i]))
		}
	}
	sort.Strings(out)
	return out
}

func naivePartitions(rows [][]*int64, part []int) [][][]*int64 {
	idx := map[string]int{}
	var parts [][][]*int64
	for _, r := range rows {
		var k []*int64
		for _, c := range part {
			k = append(k, r[c])
		}
		s := fmtRow(k)
		i, ok := idx[s]
		if !ok {
			i = len(parts)
			idx[s] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], r)
	}
	return parts
}

func naiveGroupTopN(rows [][]*int64, part []int, order []SortCol, fn string, limit int64, emitRank bool) []string {
	var out []string
	for _, p := range naivePartitions(rows, part) {
		slices.SortFunc(p, naiveOrderCmp(order))
		var rank, dense int64
		for i, r := range p {
			if i == 0 || !naiveTied(order, p[i-1], r) {
				rank = int64(i + 1)
				dense++
			}
			rk := map[string]int64{"row_number": int64(i + 1), "rank": rank, "dense_rank": dense}[fn]
			if rk > limit {
				continue
			}
			s := fmtRow(r)
			if emitRank {
				s += " " + strconv.FormatInt(rk, 10)
			}
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func naiveOverWindow(rows [][]*int64, part []int, order []SortCol) []string {
	var out []string
	for _, p := range naivePartitions(rows, part) {
		slices.SortFunc(p, naiveOrderCmp(order))
		var sum int64
		seen := false
		for i, r := range p {
			if r[1] != nil {
				sum += *r[1]
				seen = true
			}
			rs := "NULL"
			if seen {
				rs = strconv.FormatInt(sum, 10)
			}
			out = append(out, fmtRow(r)+" "+strconv.Itoa(i+1)+" "+rs)
		}
	}
	sort.Strings(out)
	return out
}

// opSeed returns STREAM_SEED or a fresh seed, logged for reruns.
func opSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STREAM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	t.Logf("seed %d (rerun with STREAM_SEED=%d)", seed, seed)
	return seed
}

// opRandRow returns width random values in [0, hi] with 10% NULLs.
func opRandRow(rng *rand.Rand, width int, hi int64) []*int64 {
	v := make([]*int64, width)
	for i := range v {
		v[i] = randVal(rng, 0, hi, 10)
	}
	return v
}

// opRandPush pushes 1–3 chunks of random inserts, deletes and update pairs
// into input in, mirroring them in m.
func opRandPush(rng *rand.Rand, r *opRun, in int, m *model, newRow func() []*int64, maxRows int) {
	for _, rows := range opRandChunks(rng, m, newRow, maxRows) {
		r.push(in, rows)
	}
}

// opRandChunks draws the chunks opRandPush pushes (applying them to m).
func opRandChunks(rng *rand.Rand, m *model, newRow func() []*int64, maxRows int) [][]row {
	var out [][]row
	for c := rng.IntN(3); c >= 0; c-- {
		n := []int{1, 2, 3, 8, 40}[rng.IntN(5)]
		var rows []row
		for len(rows) < n {
			switch x := rng.IntN(10); {
			case len(m.rows) == 0 || (x < 5 && len(m.rows) < maxRows):
				v := newRow()
				m.rows = append(m.rows, v)
				rows = append(rows, row{op: Insert, vals: v})
			case x < 8:
				i := rng.IntN(len(m.rows))
				rows = append(rows, row{op: Delete, vals: m.rows[i]})
				m.rows[i] = m.rows[len(m.rows)-1]
				m.rows = m.rows[:len(m.rows)-1]
			default:
				i := rng.IntN(len(m.rows))
				v := newRow()
				rows = append(rows, row{op: UpdateDelete, vals: m.rows[i]}, row{op: UpdateInsert, vals: v})
				m.rows[i] = v
			}
		}
		out = append(out, rows)
	}
	return out
}
