package state_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/stretchr/testify/require"
)

// fixedSchema has a fixed-width column of every width the typed path
// serves; c (int32) takes NULLs from generic writes.
var fixedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "b", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "c", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "d", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	{Name: "e", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
}, nil)

// fixedWidths are fixedSchema's column widths in bytes.
var fixedWidths = []int{8, 8, 4, 2, 1}

// fixedRow is a model row: value words (masked to the column width) and
// which columns are NULL.
type fixedRow struct {
	w    [5]uint64
	null [5]bool
}

func maskWord(w uint64, width int) uint64 {
	if width == 8 {
		return w
	}
	return w & (1<<(8*width) - 1)
}

// fixedBatch builds the Arrow batch of rows.
func fixedBatch(rows []fixedRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), fixedSchema)
	defer b.Release()
	for _, r := range rows {
		for j, f := range b.Fields() {
			if r.null[j] {
				f.AppendNull()
				continue
			}
			switch fb := f.(type) {
			case *array.Int64Builder:
				fb.Append(int64(r.w[j]))
			case *array.Float64Builder:
				fb.Append(math.Float64frombits(r.w[j]))
			case *array.Int32Builder:
				fb.Append(int32(uint32(r.w[j])))
			case *array.Uint16Builder:
				fb.Append(uint16(r.w[j]))
			case *array.Int8Builder:
				fb.Append(int8(uint8(r.w[j])))
			}
		}
	}
	return b.NewRecordBatch()
}

// rowsOf reads a batch of fixedSchema back as model rows.
func rowsOf(rec arrow.RecordBatch) []fixedRow {
	out := make([]fixedRow, rec.NumRows())
	for j := range fixedWidths {
		col := rec.Column(j)
		for i := range out {
			if col.IsNull(i) {
				out[i].null[j] = true
				continue
			}
			var w uint64
			switch a := col.(type) {
			case *array.Int64:
				w = uint64(a.Value(i))
			case *array.Float64:
				w = math.Float64bits(a.Value(i))
			case *array.Int32:
				w = uint64(uint32(a.Value(i)))
			case *array.Uint16:
				w = uint64(a.Value(i))
			case *array.Int8:
				w = uint64(uint8(a.Value(i)))
			}
			out[i].w[j] = w
		}
	}
	return out
}

// fixedModel is the map model: the writer view and each committed epoch's
// contents, keyed by the key word (masked to the layout's width).
type fixedModel struct {
	cur     map[uint64]fixedRow
	epochs  map[state.Epoch]map[uint64]fixedRow
	epoch   state.Epoch
	lay     state.FixedKeyLayout
	keyMask uint64
}

func (md *fixedModel) key(k uint64) uint64 { return k & md.keyMask }

// TestMemoryFixedMatchesGeneric drives two memory tables with the same
// random operations — table A through a random mix of the typed path
// (FixedView) and the generic one, table B through the generic path only —
// and checks both against a map model after every step: writer-view reads
// (typed and generic), scans, snapshot reads of pinned epochs, range
// deletions, commits and restarts; and that both tables hold (and charge)
// the same bytes.
func TestMemoryFixedMatchesGeneric(t *testing.T) {
	layouts := []state.FixedKeyLayout{
		{Prefix: keys.AppendMarker(nil), Width: 8},
		{Prefix: nil, Width: 8},
		{Prefix: []byte{7, 0, 9}, Width: 4},
		{Prefix: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Width: 8},
		{Prefix: []byte{0}, Width: 1},
	}
	for seed := uint64(1); seed <= 10; seed++ {
		lay := layouts[seed%uint64(len(layouts))]
		t.Run(fmt.Sprintf("seed=%d/prefix=%d/width=%d", seed, len(lay.Prefix), lay.Width), func(t *testing.T) {
			runFixedModel(t, seed, lay, 1500)
		})
	}
}

func runFixedModel(t *testing.T, seed uint64, lay state.FixedKeyLayout, steps int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 77))
	space := []int{8, 64, 2000}[seed%3]
	keyMask := ^uint64(0)
	if lay.Width < 8 {
		keyMask = 1<<(8*lay.Width) - 1
		space = min(space, int(keyMask)+1)
	}
	var trace strings.Builder
	defer func() {
		if t.Failed() {
			t.Logf("seed %d trace:\n%s", seed, trace.String())
		}
	}()
	budA, budB := &testBudget{}, &testBudget{}
	open := func(b *testBudget) *state.MemoryTable {
		opts := state.MemoryOptions{Budget: b}
		if seed%2 == 0 {
			opts.CompactMin, opts.OrderDropMin = 64, 8
		}
		tbl, err := state.OpenMemoryTable(fixedSchema, opts)
		require.NoError(t, err)
		return tbl
	}
	ta, tb := open(budA), open(budB)
	view := func() state.FixedView {
		v, ok := ta.Fixed(lay)
		require.True(t, ok)
		require.Equal(t, lay, v.Layout())
		return v
	}
	fv := view()
	md := &fixedModel{cur: map[uint64]fixedRow{}, epochs: map[state.Epoch]map[uint64]fixedRow{}, lay: lay, keyMask: keyMask}
	type pinned struct {
		a, b state.Snapshot
	}
	var snaps []pinned
	defer func() {
		for _, s := range snaps {
			s.a.Release()
			s.b.Release()
		}
		ta.Close()
		tb.Close()
	}()
	// randKey draws a key word; high bits beyond the width are noise the
	// table must ignore.
	randKey := func() uint64 {
		k := uint64(rng.IntN(space))
		if rng.IntN(4) == 0 {
			k = uint64(space-1-rng.IntN(space)) ^ (keyMask &^ (keyMask >> 1)) // top bit of the width set
		}
		return k | ^keyMask&rng.Uint64()
	}
	byteKey := func(k uint64) []byte { return lay.AppendKey(nil, k) }
	randRow := func(nulls bool) fixedRow {
		var r fixedRow
		for j, w := range fixedWidths {
			r.w[j] = maskWord(rng.Uint64()>>rng.IntN(64), w)
			if nulls && rng.IntN(5) == 0 {
				r.w[j], r.null[j] = 0, true
			}
		}
		return r
	}
	checkWriter := func() {
		// Typed read of random keys (and every model key).
		n := 1 + rng.IntN(70)
		ks := make([]uint64, n)
		for i := range ks {
			ks[i] = randKey()
		}
		for k := range md.cur {
			ks = append(ks, k)
		}
		n = len(ks)
		vals := make([][]uint64, len(fixedWidths))
		for j := range vals {
			vals[j] = make([]uint64, n)
			for i := range vals[j] {
				vals[j][i] = 0xdead // must be overwritten
			}
		}
		found, null := make([]bool, n), make([]bool, n)
		require.NoError(t, fv.GetFixed(ctx, ks, vals, found, null))
		bks := make([][]byte, n)
		for i, k := range ks {
			bks[i] = byteKey(k)
			want, ok := md.cur[md.key(k)]
			require.Equal(t, ok, found[i], "typed get key %x", k)
			anyNull := false
			for j := range fixedWidths {
				require.Equal(t, want.w[j], vals[j][i], "typed get key %x column %d", k, j)
				anyNull = anyNull || want.null[j]
			}
			require.Equal(t, anyNull, null[i], "typed get key %x nulls", k)
		}
		// Generic reads of both tables.
		for _, tbl := range []*state.MemoryTable{ta, tb} {
			lk, err := tbl.Get(ctx, bks)
			require.NoError(t, err)
			rows := rowsOf(lk.Values)
			lk.Values.Release()
			for i, k := range ks {
				want, ok := md.cur[md.key(k)]
				require.Equal(t, ok, lk.Found[i])
				if ok {
					require.Equal(t, want, rows[i], "generic get key %x", k)
				}
			}
		}
		require.Equal(t, ta.Stats(), tb.Stats())
		require.Equal(t, budA.Used(), budB.Used())
	}
	checkScan := func(r state.Reader, want map[uint64]fixedRow) {
		var got []fixedRow
		var gotKeys [][]byte
		require.NoError(t, r.Scan(ctx, state.KeyRange{}, func(ks [][]byte, vals arrow.RecordBatch) error {
			for _, k := range ks {
				gotKeys = append(gotKeys, bytes.Clone(k))
			}
			got = append(got, rowsOf(vals)...)
			return nil
		}))
		wk := slices.Sorted(maps.Keys(want))
		require.Len(t, gotKeys, len(wk))
		for i, k := range wk {
			require.Equal(t, byteKey(k), gotKeys[i])
			require.Equal(t, want[k], got[i])
		}
	}
	for step := 0; step < steps; step++ {
		switch op := rng.IntN(100); {
		case op < 45: // a write: typed (on A only) or generic
			n := 1 + rng.IntN(40)
			ks := make([]uint64, n)
			var ops []state.Op
			if rng.IntN(3) > 0 {
				ops = make([]state.Op, n)
			}
			typed := rng.IntN(3) > 0
			rows := make([]fixedRow, n)
			for i := range ks {
				ks[i] = randKey()
				rows[i] = randRow(!typed)
				if ops != nil && rng.IntN(3) == 0 {
					ops[i] = state.OpDelete
				}
			}
			fmt.Fprintf(&trace, "write typed=%v keys=%x ops=%v\n", typed, ks, ops)
			rec := fixedBatch(rows)
			bks := make([][]byte, n)
			for i, k := range ks {
				bks[i] = byteKey(k)
			}
			if typed {
				vals := make([][]uint64, len(fixedWidths))
				for j := range vals {
					vals[j] = make([]uint64, n)
					for i := range rows {
						// Noise above the column's width is ignored.
						vals[j][i] = rows[i].w[j] | ^maskWord(^uint64(0), fixedWidths[j])&rng.Uint64()
					}
				}
				require.NoError(t, fv.WriteFixed(ctx, ks, ops, vals))
			} else {
				require.NoError(t, ta.Write(ctx, bks, ops, rec))
			}
			require.NoError(t, tb.Write(ctx, bks, ops, rec))
			rec.Release()
			for i, k := range ks {
				if ops != nil && ops[i] == state.OpDelete {
					delete(md.cur, md.key(k))
				} else {
					md.cur[md.key(k)] = rows[i]
				}
			}
			checkWriter()
		case op < 60:
			fmt.Fprintf(&trace, "commit %d\n", md.epoch+1)
			md.epoch++
			require.NoError(t, ta.Commit(ctx, md.epoch))
			require.NoError(t, tb.Commit(ctx, md.epoch))
			md.epochs[md.epoch] = maps.Clone(md.cur)
			checkWriter()
		case op < 68: // pin the committed epoch
			if md.epoch == 0 {
				continue
			}
			fmt.Fprintf(&trace, "snapshot %d\n", md.epoch)
			sa, err := ta.Snapshot(md.epoch)
			require.NoError(t, err)
			sb, err := tb.Snapshot(md.epoch)
			require.NoError(t, err)
			snaps = append(snaps, pinned{sa, sb})
		case op < 74: // release a pin
			if len(snaps) == 0 {
				continue
			}
			i := rng.IntN(len(snaps))
			fmt.Fprintf(&trace, "release %d\n", snaps[i].a.Epoch())
			snaps[i].a.Release()
			snaps[i].b.Release()
			snaps = slices.Delete(snaps, i, i+1)
		case op < 84: // read pinned snapshots
			for _, s := range snaps {
				want := md.epochs[s.a.Epoch()]
				checkScan(s.a, want)
				checkScan(s.b, want)
			}
		case op < 90:
			checkScan(ta, md.cur)
			checkScan(tb, md.cur)
		case op < 96: // range deletion below a random key
			w := randKey()
			wk := byteKey(w)
			fmt.Fprintf(&trace, "cleanBelow %x\n", wk)
			require.NoError(t, ta.CleanBelow(ctx, wk))
			require.NoError(t, tb.CleanBelow(ctx, wk))
			for k := range md.cur {
				if bytes.Compare(byteKey(k), wk) < 0 {
					delete(md.cur, k)
				}
			}
			checkWriter()
		default: // restart: the memory backend comes back empty
			fmt.Fprintf(&trace, "restart\n")
			for _, s := range snaps {
				s.a.Release()
				s.b.Release()
			}
			snaps = nil
			require.NoError(t, ta.Close())
			require.NoError(t, tb.Close())
			require.Zero(t, budA.Used())
			// The closed table's view refuses.
			require.ErrorIs(t, fv.WriteFixed(ctx, []uint64{1}, nil, make([][]uint64, len(fixedWidths))), state.ErrClosed)
			ta, tb = open(budA), open(budB)
			fv = view()
			md.cur, md.epochs, md.epoch = map[uint64]fixedRow{}, map[state.Epoch]map[uint64]fixedRow{}, 0
			checkWriter()
		}
	}
}

// TestMemoryFixedRefuses: the typed path needs fixed-width value columns
// and a layout of 1–8 body bytes after at most 8 prefix bytes; bad
// argument shapes are internal errors, not panics.
func TestMemoryFixedRefuses(t *testing.T) {
	ctx := context.Background()
	str, err := state.NewMemoryTable(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil), nil)
	require.NoError(t, err)
	defer str.Close()
	_, ok := str.Fixed(state.FixedKeyLayout{Width: 8})
	require.False(t, ok)
	boolT, err := state.NewMemoryTable(arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.FixedWidthTypes.Boolean}}, nil), nil)
	require.NoError(t, err)
	defer boolT.Close()
	_, ok = boolT.Fixed(state.FixedKeyLayout{Width: 8})
	require.False(t, ok)

	tbl, err := state.NewMemoryTable(fixedSchema, nil)
	require.NoError(t, err)
	defer tbl.Close()
	for _, l := range []state.FixedKeyLayout{{Width: 0}, {Width: 9}, {Prefix: make([]byte, 9), Width: 1}} {
		_, ok = tbl.Fixed(l)
		require.False(t, ok, "%+v", l)
	}
	fv, ok := tbl.Fixed(state.FixedKeyLayout{Width: 8})
	require.True(t, ok)
	require.Error(t, fv.WriteFixed(ctx, []uint64{1}, nil, nil))                                // no value columns
	require.Error(t, fv.WriteFixed(ctx, []uint64{1}, nil, make([][]uint64, len(fixedWidths)))) // short columns
	require.Error(t, fv.WriteFixed(ctx, []uint64{1}, []state.Op{9}, nil))
	require.Error(t, fv.WriteFixed(ctx, []uint64{1, 2}, []state.Op{state.OpDelete}, nil))
	require.NoError(t, fv.WriteFixed(ctx, []uint64{1}, []state.Op{state.OpDelete}, nil)) // deletes need no values
	require.Error(t, fv.GetFixed(ctx, []uint64{1}, nil, make([]bool, 1), nil))
	require.Error(t, fv.GetFixed(ctx, []uint64{1, 2}, nil, make([]bool, 1), nil))
}

// TestMemoryFixedBudget: a typed write that does not fit fails with 53200
// and changes nothing, as a generic one does.
func TestMemoryFixedBudget(t *testing.T) {
	ctx := context.Background()
	bud := &testBudget{limit: 64 << 10}
	tbl, err := state.OpenMemoryTable(fixedSchema, state.MemoryOptions{Budget: bud})
	require.NoError(t, err)
	defer tbl.Close()
	fv, ok := tbl.Fixed(state.FixedKeyLayout{Prefix: []byte{1}, Width: 8})
	require.True(t, ok)
	vals := func(n int) [][]uint64 {
		v := make([][]uint64, len(fixedWidths))
		for j := range v {
			v[j] = make([]uint64, n)
		}
		return v
	}
	ks := []uint64{1, 2, 3}
	require.NoError(t, fv.WriteFixed(ctx, ks, nil, vals(3)))
	before := tbl.Stats()
	big := make([]uint64, 10_000)
	for i := range big {
		big[i] = uint64(i + 100)
	}
	err = fv.WriteFixed(ctx, big, nil, vals(len(big)))
	require.ErrorContains(t, err, "out of memory")
	require.Equal(t, before, tbl.Stats())
	found := make([]bool, 1)
	require.NoError(t, fv.GetFixed(ctx, big[:1], vals(1), found, nil))
	require.False(t, found[0])
}

// TestMemoryFixedLargeTable covers the staged paths a table beyond the
// key-by-key probe size takes: typed writes (puts, deletes, update of
// keys written earlier in the epoch) of 20K keys in batches, checked key
// by key against generic reads and a model, before and after a commit.
func TestMemoryFixedLargeTable(t *testing.T) {
	// The second size spans several 64Ki-element segments of the entries
	// and slots, and its first batch takes a small table past segment 0
	// within one write.
	for _, sz := range []struct{ n, batch int }{{20_000, 5000}, {150_000, 70_000}} {
		for _, lay := range []state.FixedKeyLayout{{Prefix: keys.AppendMarker(nil), Width: 8}, {Prefix: []byte{3, 4}, Width: 4}} {
			largeTableCase(t, lay, sz.n, sz.batch)
		}
	}
}

func largeTableCase(t *testing.T, lay state.FixedKeyLayout, n, batch int) {
	ctx := context.Background()
	{
		tbl, err := state.NewMemoryTable(fixedSchema, nil)
		require.NoError(t, err)
		fv, ok := tbl.Fixed(lay)
		require.True(t, ok)
		rng := rand.New(rand.NewPCG(11, uint64(lay.Width)))
		model := map[uint64]uint64{}
		write := func(ks []uint64, ops []state.Op) {
			vals := make([][]uint64, len(fixedWidths))
			for j := range vals {
				vals[j] = make([]uint64, len(ks))
			}
			for i, k := range ks {
				v := rng.Uint64() >> 1
				for j, w := range fixedWidths {
					vals[j][i] = maskWord(v, w)
				}
				if ops != nil && ops[i] == state.OpDelete {
					delete(model, k)
				} else {
					model[k] = v
				}
			}
			require.NoError(t, fv.WriteFixed(ctx, ks, ops, vals))
		}
		check := func() {
			ks := make([]uint64, 3000)
			bks := make([][]byte, len(ks))
			for i := range ks {
				ks[i] = uint64(rng.IntN(n + 500))
				bks[i] = lay.AppendKey(nil, ks[i])
			}
			vals := make([][]uint64, len(fixedWidths))
			for j := range vals {
				vals[j] = make([]uint64, len(ks))
			}
			found := make([]bool, len(ks))
			require.NoError(t, fv.GetFixed(ctx, ks, vals, found, nil))
			lk, err := tbl.Get(ctx, bks)
			require.NoError(t, err)
			rows := rowsOf(lk.Values)
			lk.Values.Release()
			for i, k := range ks {
				v, ok := model[k]
				require.Equal(t, ok, found[i], "key %d", k)
				require.Equal(t, ok, lk.Found[i], "key %d", k)
				for j, w := range fixedWidths {
					require.Equal(t, maskWord(v, w), vals[j][i], "key %d column %d", k, j)
					require.Equal(t, maskWord(v, w), rows[i].w[j], "key %d column %d", k, j)
				}
			}
		}
		for lo := 0; lo < n; lo += batch {
			ks := make([]uint64, batch)
			for i := range ks {
				ks[i] = uint64(lo + i)
			}
			write(ks, nil)
		}
		check()
		// Updates and deletes of keys written earlier in the epoch, then
		// of committed keys.
		for round := range 2 {
			ks := make([]uint64, batch)
			ops := make([]state.Op, batch)
			for i := range ks {
				ks[i] = uint64(rng.IntN(n))
				if rng.IntN(4) == 0 {
					ops[i] = state.OpDelete
				}
			}
			write(ks, ops)
			check()
			require.NoError(t, tbl.Commit(ctx, state.Epoch(round+1)))
			check()
		}
		require.NoError(t, tbl.Close())
	}
}
