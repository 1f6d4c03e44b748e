package stream

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// snapSpy counts the snapshots of a table that are not released.
type snapSpy struct {
	state.Table
	open atomic.Int64
}

type spiedSnap struct {
	state.Snapshot
	spy  *snapSpy
	done bool
}

func (s *snapSpy) Snapshot(e state.Epoch) (state.Snapshot, error) {
	snap, err := s.Table.Snapshot(e)
	if err != nil {
		return nil, err
	}
	s.open.Add(1)
	return &spiedSnap{Snapshot: snap, spy: s}, nil
}

func (s *spiedSnap) Release() {
	if !s.done {
		s.done = true
		s.spy.open.Add(-1)
	}
	s.Snapshot.Release()
}

// viewFixture is a view over (k int8, s text, v int8) holding rows, committed
// at epoch 1 through a coordinator.
type viewFixture struct {
	mat   *Materialize
	coord *Coordinator
	spy   *snapSpy
	ts    []types.T
}

func newViewFixture(t *testing.T, mem memory.Allocator, keyed bool, rows [][3]int64) *viewFixture {
	ts := []types.T{types.Int8T, types.TextT, types.Int8T}
	schema := arrow.NewSchema([]arrow.Field{types.ArrowField("k", ts[0]), types.ArrowField("s", ts[1]), types.ArrowField("v", ts[2])}, nil)
	var msgs []Message
	for start := 0; start < len(rows); start += 10_000 {
		end := min(start+10_000, len(rows))
		kb, sb, vb := array.NewInt64Builder(mem), array.NewStringBuilder(mem), array.NewInt64Builder(mem)
		for _, r := range rows[start:end] {
			kb.Append(r[0])
			if r[1]%7 == 0 {
				sb.AppendNull()
			} else {
				sb.Append("s" + strconv.FormatInt(r[1], 10))
			}
			vb.Append(r[2])
		}
		cols := []arrow.Array{kb.NewArray(), sb.NewArray(), vb.NewArray()}
		kb.Release()
		sb.Release()
		vb.Release()
		msgs = append(msgs, &Chunk{Batch: array.NewRecordBatch(schema, cols, int64(end-start)), Ops: make([]Op, end-start)})
		for _, c := range cols {
			c.Release()
		}
	}
	msgs = append(msgs, Barrier{Epoch: 1})
	coord := NewCoordinator()
	commit, err := coord.RegisterView("v", 0)
	require.NoError(t, err)
	var keyCols []int
	if keyed {
		keyCols = []int{0}
	}
	tbl, err := state.NewMemoryTable(MaterializeValueSchema(schema, keyCols), mem)
	require.NoError(t, err)
	spy := &snapSpy{Table: tbl}
	mat, err := NewMaterialize(&script{schema: schema, msgs: msgs}, ts, keyCols, spy, commit)
	require.NoError(t, err)
	mat.WithAllocator(mem)
	_, err = coord.InjectBarrier(false)
	require.NoError(t, err)
	m, err := mat.Next(t.Context())
	require.NoError(t, err)
	require.Equal(t, Barrier{Epoch: 1}, m)
	return &viewFixture{mat: mat, coord: coord, spy: spy, ts: ts}
}

// readAll drains a reader, checking batch sizes, and returns the rows.
func readAll(t *testing.T, r *ViewReader, ts []types.T, maxRows int) []string {
	require.NoError(t, r.Init(t.Context()))
	var out []string
	for {
		b, err := r.Next()
		require.NoError(t, err)
		if b == nil {
			return out
		}
		require.Positive(t, b.NumRows())
		require.LessOrEqual(t, int(b.NumRows()), maxRows)
		require.True(t, b.Schema().Equal(r.Schema()))
		out = append(out, formatRows(b, ts)...)
	}
}

func readBatches(t *testing.T, bs []arrow.RecordBatch, ts []types.T, cols []int) []string {
	var out []string
	for _, b := range bs {
		arrs := make([]arrow.Array, len(cols))
		fs := make([]arrow.Field, len(cols))
		pts := make([]types.T, len(cols))
		for i, c := range cols {
			arrs[i], fs[i], pts[i] = b.Column(c), b.Schema().Field(c), ts[c]
		}
		p := array.NewRecordBatch(arrow.NewSchema(fs, nil), arrs, b.NumRows())
		out = append(out, formatRows(p, pts)...)
		p.Release()
		b.Release()
	}
	return out
}

func TestViewReaderKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := make([][3]int64, 100_000)
	for i := range rows {
		k := int64((i * 7919) % len(rows)) // out of key order
		rows[i] = [3]int64{k, k % 50, 3 * k}
	}
	f := newViewFixture(t, mem, true, rows)
	defer func() { require.NoError(t, f.mat.Close()) }()
	e, snaps, err := f.coord.PinViews(f.mat)
	require.NoError(t, err)
	require.Equal(t, uint64(1), e)
	require.Equal(t, uint64(1), snaps[0].Epoch())
	defer snaps[0].Release()

	bs, err := snaps[0].Read(t.Context())
	require.NoError(t, err)
	all := []int{0, 1, 2}
	want := readBatches(t, bs, f.ts, all)
	require.Len(t, want, 100_000)

	r := snaps[0].Scan(all)
	got := readAll(t, r, f.ts, viewBatchRows)
	require.Equal(t, want, got)
	require.Equal(t, 25, r.Pages()) // 100000 rows in pages of 4096
	require.NoError(t, r.Close())

	// Small pages, projected and reordered columns.
	bs, err = snaps[0].Read(t.Context())
	require.NoError(t, err)
	want = readBatches(t, bs, f.ts, []int{2, 0})
	r = snaps[0].Scan([]int{2, 0}).WithPageRows(1000)
	got = readAll(t, r, []types.T{f.ts[2], f.ts[0]}, 1000)
	require.Equal(t, want, got)
	require.Equal(t, 101, r.Pages()) // the last page finds the end
	require.NoError(t, r.Close())

	// No columns: only row counts.
	r = snaps[0].Scan(nil).WithPageRows(30_000)
	require.NoError(t, r.Init(t.Context()))
	n := 0
	for {
		b, err := r.Next()
		require.NoError(t, err)
		if b == nil {
			break
		}
		require.Zero(t, b.NumCols())
		n += int(b.NumRows())
	}
	require.Equal(t, 100_000, n)
	require.NoError(t, r.Close())

	// A column out of range fails at Init.
	r = snaps[0].Scan([]int{3})
	require.Error(t, r.Init(t.Context()))
	require.NoError(t, r.Close())
}

func TestViewReaderBag(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var rows [][3]int64
	for i := int64(0); i < 20_000; i++ {
		for c := int64(0); c <= i%3; c++ {
			rows = append(rows, [3]int64{i % 5000, i, i})
		}
	}
	for i := 0; i < 10_000; i++ { // one row with a count far above a batch
		rows = append(rows, [3]int64{-1, 1, 1})
	}
	f := newViewFixture(t, mem, false, rows)
	defer func() { require.NoError(t, f.mat.Close()) }()
	_, snaps, err := f.coord.PinViews(f.mat)
	require.NoError(t, err)
	defer snaps[0].Release()
	bs, err := snaps[0].Read(t.Context())
	require.NoError(t, err)
	all := []int{0, 1, 2}
	want := readBatches(t, bs, f.ts, all)
	require.Len(t, want, len(rows))
	for _, page := range []int{5, 777, 4096, 100_000} {
		r := snaps[0].Scan(all).WithPageRows(page)
		got := readAll(t, r, f.ts, viewBatchRows)
		require.Equal(t, want, got, "page %d", page)
		require.NoError(t, r.Close())
	}
}

// TestViewReaderCloseMidScan: closing a reader (or a ViewScan) part-way
// releases its batches and, for the ViewScan, its snapshot; no goroutine
// stays behind.
func TestViewReaderCloseMidScan(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := make([][3]int64, 50_000)
	for i := range rows {
		rows[i] = [3]int64{int64(i), int64(i), int64(i)}
	}
	f := newViewFixture(t, mem, true, rows)
	defer func() { require.NoError(t, f.mat.Close()) }()
	goroutines := runtime.NumGoroutine()
	pinned := f.spy.open.Load()

	_, snaps, err := f.coord.PinViews(f.mat)
	require.NoError(t, err)
	r := snaps[0].Scan([]int{0, 1, 2}).WithPageRows(3000)
	require.NoError(t, r.Init(t.Context()))
	for range 3 {
		b, err := r.Next()
		require.NoError(t, err)
		require.NotNil(t, b)
	}
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	b, err := r.Next()
	require.Error(t, err) // after Close
	require.Nil(t, b)
	snaps[0].Release()

	s := f.mat.Scan(f.mat.CommittedEpoch())
	require.NoError(t, s.Init(t.Context()))
	require.Equal(t, pinned+1, f.spy.open.Load())
	b, err = s.Next()
	require.NoError(t, err)
	require.Positive(t, b.NumRows())
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.Equal(t, pinned, f.spy.open.Load())
	require.Equal(t, goroutines, runtime.NumGoroutine())
}
