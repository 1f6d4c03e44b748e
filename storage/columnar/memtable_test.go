package columnar

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/stretchr/testify/require"
)

// hasPointers reports whether values of t contain Go pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return false
	default:
		return true
	}
}

// TestMemtableIsPointerFree guards the layout that keeps a full memtable
// out of the garbage collector's scan work.
func TestMemtableIsPointerFree(t *testing.T) {
	require.False(t, hasPointers(reflect.TypeFor[memEntry]()))
	require.False(t, hasPointers(reflect.TypeFor[memVersion]()))
	require.True(t, hasPointers(reflect.TypeFor[state.Version]()), "the check itself sees pointers")
}

// TestMemtableVersions drives entries through inline and overflow version
// storage against a []state.Version model pruned by state.PruneVersions.
func TestMemtableVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m := newMemtable()
	const nkeys = 3000 // past the first, growing page
	model := make([][]state.Version, nkeys)
	for step := range 40000 {
		i := rng.IntN(nkeys)
		k := []byte(fmt.Sprint("key", i))
		if i%3 == 0 { // longer than inlineKey: kept in the arena
			k = fmt.Appendf(nil, "a-key-too-long-to-be-inline-%d", i)
		}
		id, e, ok := m.lookup(k)
		if !ok {
			id, e = m.insert(k)
		}
		require.Equal(t, string(k), m.keyOf(id))
		switch rng.IntN(4) {
		case 0, 1, 2:
			val := []byte(fmt.Sprint("v", step))
			ep := state.Epoch(step + 1)
			ref := m.addVal(val)
			if step%5 == 0 {
				ref |= vrefTomb
			}
			m.appendVersion(e, memVersion{epoch: ep, ref: ref})
			model[i] = append(model[i], state.Version{Epoch: ep, Tomb: step%5 == 0, Val: val})
		default:
			var pinned []state.Epoch
			for range rng.IntN(3) {
				pinned = append(pinned, state.Epoch(rng.IntN(step+1)))
			}
			pinned = sortedUnique(pinned)
			m.prune(e, pinned)
			model[i] = state.PruneVersions(model[i], pinned, false)
		}
		got := m.versions(e)
		require.Len(t, got, len(model[i]), "step %d", step)
		for j, v := range got {
			require.Equal(t, model[i][j], m.version(v), "step %d version %d", step, j)
		}
		at := state.Epoch(rng.IntN(step + 2))
		wv, wok := state.VersionAt(model[i], at)
		gv, gok := m.versionAt(e, at)
		require.Equal(t, wok, gok)
		require.Equal(t, wv, gv)
	}
}

func sortedUnique(es []state.Epoch) []state.Epoch {
	out := es[:0]
	for _, e := range es {
		pos := 0
		for pos < len(out) && out[pos] < e {
			pos++
		}
		if pos < len(out) && out[pos] == e {
			continue
		}
		out = append(out, 0)
		copy(out[pos+1:], out[pos:])
		out[pos] = e
	}
	return out
}

// TestArenaChunks checks that bytes keep their content across chunk
// changes, big items and empty items.
func TestArenaChunks(t *testing.T) {
	a := newArena()
	type item struct {
		r aref
		b []byte
	}
	var items []item
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 3000 {
		n := rng.IntN(200)
		if i%500 == 0 {
			n = arenaBigItem + 1
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		items = append(items, item{a.add(b), b})
	}
	for _, it := range items {
		require.Equal(t, it.b, a.get(it.r, uint32(len(it.b))))
		require.Equal(t, string(it.b), a.str(it.r, uint32(len(it.b))))
	}
}

// TestLongKeys writes keys longer than inlineKey (kept in the memtable's
// arena) and short ones, and reads them back from the memtable, a frozen
// memtable and a run, by Get and by Scan.
func TestLongKeys(t *testing.T) {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tbl, err := Open(ctx, schema, Options{FS: vfs.NewMem(), BlockRows: 7})
	require.NoError(t, err)
	defer tbl.Close()
	const n = 500
	key := func(i int) []byte {
		if i%2 == 0 {
			return fmt.Appendf(nil, "%04d", i)
		}
		return fmt.Appendf(nil, "%04d-and-a-suffix-that-makes-it-long-%s", i, strings.Repeat("x", i%40))
	}
	ks := make([][]byte, n)
	bld := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range ks {
		ks[i] = key(i)
		bld.Append(int64(i) * 10)
	}
	col := bld.NewArray()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, n)
	col.Release()
	defer rec.Release()
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	require.NoError(t, tbl.Commit(ctx, 1))
	check := func(stage string) {
		lk, err := tbl.Get(ctx, ks)
		require.NoError(t, err, stage)
		vals := lk.Values.Column(0).(*array.Int64)
		for i := range ks {
			require.True(t, lk.Found[i], "%s: key %d", stage, i)
			require.Equal(t, int64(i)*10, vals.Value(i), "%s: key %d", stage, i)
		}
		lk.Values.Release()
		seen := 0
		require.NoError(t, tbl.Scan(ctx, state.KeyRange{}, func(keys [][]byte, rows arrow.RecordBatch) error {
			for j, k := range keys {
				require.Equal(t, string(key(seen)), string(k), "%s: scan position %d", stage, seen)
				require.Equal(t, int64(seen)*10, rows.Column(0).(*array.Int64).Value(j))
				seen++
			}
			return nil
		}), stage)
		require.Equal(t, n, seen, stage)
	}
	check("memtable")
	// An uncommitted write makes the frozen memtable carry a pending
	// version over to the next one.
	one := rec.NewSlice(1, 2)
	require.NoError(t, tbl.Write(ctx, ks[1:2], nil, one))
	one.Release()
	tbl.mu.Lock()
	fm, next, touched := tbl.mem.freeze(nil, tbl.committed)
	tbl.frozen = append([]*frozenMem{fm}, tbl.frozen...)
	tbl.mem, tbl.touched = next, touched
	tbl.mu.Unlock()
	check("frozen")
	require.NoError(t, tbl.Commit(ctx, 2))
	_, err = tbl.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, tbl.Shape().Frozen)
	check("run")
}

// TestWriteCharges checks the budget charge of writes: a new key costs its
// bytes plus entryOverhead, rewriting a pending version or adding a second
// version (held in the entry) only its value bytes, a third version (kept
// for a snapshot) versionOverhead more for each version it moves to the
// overflow slice; the budget holds exactly the memtable's charge.
func TestWriteCharges(t *testing.T) {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	budget := NewBudget(1 << 30)
	tbl, err := Open(ctx, schema, Options{FS: vfs.NewMem(), Budget: budget})
	require.NoError(t, err)
	defer tbl.Close()
	const n = 1000
	ks := make([][]byte, n)
	bld := array.NewInt64Builder(memory.DefaultAllocator)
	var keyBytes int64
	for i := range ks {
		ks[i] = fmt.Appendf(nil, "key-%d", i)
		keyBytes += int64(len(ks[i]))
		bld.Append(int64(i))
	}
	col := bld.NewArray()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, n)
	col.Release()
	defer rec.Release()
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	first := tbl.Shape().MemtableBytes
	require.Greater(t, first, keyBytes+n*entryOverhead)
	require.Equal(t, first, budget.Used())
	require.NoError(t, tbl.Write(ctx, ks, nil, rec)) // same epoch: replaces pending versions
	second := tbl.Shape().MemtableBytes
	require.Less(t, second-first, int64(n*entryOverhead)/2, "rewrite charged like new keys")
	require.NoError(t, tbl.Commit(ctx, 1))
	require.NoError(t, tbl.Write(ctx, ks, nil, rec)) // a second version of committed keys
	third := tbl.Shape().MemtableBytes
	require.Equal(t, second-first, third-second, "a second version costs its value bytes, as a rewrite does")
	require.Equal(t, third, budget.Used())
	// A snapshot at epoch 1 keeps both versions through the next commit,
	// so the next write adds a third.
	snap, err := tbl.Snapshot(1)
	require.NoError(t, err)
	defer snap.Release()
	require.NoError(t, tbl.Commit(ctx, 2))
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	fourth := tbl.Shape().MemtableBytes
	require.Equal(t, third-second+int64(n*3*versionOverhead), fourth-third)
	require.Equal(t, fourth, budget.Used())
	lk, err := snap.Get(ctx, ks[:1])
	require.NoError(t, err)
	require.True(t, lk.Found[0])
	lk.Values.Release()
}

// TestLargeBatchWrites drives the batched write path on a memtable large
// enough for the index's staged probes and the size hint a memtable takes
// from the one it replaced: batches of 4096 random keys (with repeats and
// deletes) over 200K keys, committed epoch by epoch, flushed now and then
// (once with pending writes), a snapshot held throughout; Get and Scan
// are checked against a model at the latest and the snapshot epoch.
func TestLargeBatchWrites(t *testing.T) {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	budget := NewBudget(1 << 40)
	tbl, err := Open(ctx, schema, Options{FS: vfs.NewMem(), MemtableSize: 1 << 40, DisableAutoCompaction: true, Budget: budget})
	require.NoError(t, err)
	defer tbl.Close()
	// The budget holds the memtable's charge, the memory it adopted from a
	// flushed one (prepaid) and the block cache's.
	charged := func(stage string) {
		tbl.mu.RLock()
		defer tbl.mu.RUnlock()
		tbl.cache.mu.Lock()
		defer tbl.cache.mu.Unlock()
		want := tbl.mem.bytes + tbl.mem.prepaid + tbl.cache.used
		for _, fm := range tbl.frozen {
			want += fm.bytes
		}
		require.Equal(t, want, budget.Used(), stage)
	}
	const space, batch = 200_000, 4096
	key := func(i int) []byte { return fmt.Appendf(nil, "k%07d", i) }
	rng := rand.New(rand.NewPCG(11, 12))
	latest := map[string]int64{}
	var snapModel map[string]int64
	var snap state.Snapshot
	check := func(stage string, r state.Reader, want map[string]int64) {
		t.Helper()
		ks := make([][]byte, 0, batch)
		for lo := 0; lo < space; lo += batch {
			ks = ks[:0]
			for i := lo; i < min(lo+batch, space); i++ {
				ks = append(ks, key(i))
			}
			lk, err := r.Get(ctx, ks)
			require.NoError(t, err, stage)
			vals := lk.Values.Column(0).(*array.Int64)
			for i, k := range ks {
				v, ok := want[string(k)]
				require.Equal(t, ok, lk.Found[i], "%s: key %s", stage, k)
				if ok {
					require.Equal(t, v, vals.Value(i), "%s: key %s", stage, k)
				}
			}
			lk.Values.Release()
		}
		n := 0
		require.NoError(t, r.Scan(ctx, state.KeyRange{}, func(keys [][]byte, rows arrow.RecordBatch) error {
			for j, k := range keys {
				v, ok := want[string(k)]
				require.True(t, ok, "%s: scan found %s", stage, k)
				require.Equal(t, v, rows.Column(0).(*array.Int64).Value(j), "%s: scan %s", stage, k)
				n++
			}
			return nil
		}), stage)
		require.Equal(t, len(want), n, stage)
	}
	ks := make([][]byte, batch)
	ops := make([]state.Op, batch)
	defer func() {
		// Dropping the spare memory releases its charge.
		tbl.dropSpare()
		charged("dropped spare")
		require.Zero(t, tbl.mem.prepaid)
	}()
	for epoch := state.Epoch(1); epoch <= 12; epoch++ {
		pending := map[string]*int64{}
		for w := 0; w < 8; w++ {
			bld := array.NewInt64Builder(memory.DefaultAllocator)
			for i := range ks {
				ks[i] = key(rng.IntN(space))
				v := rng.Int64()
				ops[i] = state.OpPut
				if rng.IntN(10) == 0 {
					ops[i] = state.OpDelete
					pending[string(ks[i])] = nil
				} else {
					pending[string(ks[i])] = &v
				}
				bld.Append(v)
			}
			col := bld.NewArray()
			bld.Release()
			rec := array.NewRecordBatch(schema, []arrow.Array{col}, batch)
			col.Release()
			require.NoError(t, tbl.Write(ctx, ks, ops, rec))
			rec.Release()
			if epoch == 7 && w == 3 {
				// Freeze with pending versions, which move to the next
				// memtable.
				_, err := tbl.Checkpoint(ctx)
				require.NoError(t, err)
			}
		}
		require.NoError(t, tbl.Commit(ctx, epoch))
		for k, v := range pending {
			if v == nil {
				delete(latest, k)
			} else {
				latest[k] = *v
			}
		}
		switch epoch {
		case 3:
			snapModel = maps.Clone(latest)
			snap, err = tbl.Snapshot(epoch)
			require.NoError(t, err)
			defer snap.Release()
		case 5, 10:
			_, err := tbl.Checkpoint(ctx)
			require.NoError(t, err)
			if epoch == 5 {
				require.Positive(t, tbl.mem.prepaid, "the new memtable adopted the flushed one's pages")
			}
		}
		charged(fmt.Sprint("epoch ", epoch))
		if epoch%3 == 0 || epoch == 12 {
			check(fmt.Sprint("epoch ", epoch), tbl, latest)
			check(fmt.Sprint("snapshot at epoch ", epoch), snap, snapModel)
		}
	}
}

// TestLongValues writes values the packed value reference cannot locate
// inline (8 MiB or longer, or beyond 8 MiB into a batch's own arena
// chunk): they are found through memtable.longs, in the memtable, frozen
// and after a flush.
func TestLongValues(t *testing.T) {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	tbl, err := Open(ctx, schema, Options{FS: vfs.NewMem(), MemtableSize: 1 << 40})
	require.NoError(t, err)
	defer tbl.Close()
	sizes := []int{3 << 20, 3 << 20, 3 << 20, 10, 9 << 20, 0, 5}
	ks := make([][]byte, len(sizes))
	want := make([]string, len(sizes))
	bld := array.NewStringBuilder(memory.DefaultAllocator)
	for i, n := range sizes {
		ks[i] = fmt.Appendf(nil, "key-%d", i)
		want[i] = strings.Repeat(string(rune('a'+i)), n)
		bld.Append(want[i])
	}
	col := bld.NewArray()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(sizes)))
	col.Release()
	defer rec.Release()
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	require.NotEmpty(t, tbl.mem.longs, "some values go through longs")
	check := func(stage string) {
		lk, err := tbl.Get(ctx, ks)
		require.NoError(t, err, stage)
		vals := lk.Values.Column(0).(*array.String)
		for i := range ks {
			require.True(t, lk.Found[i], "%s: key %d", stage, i)
			require.Equal(t, want[i], vals.Value(i), "%s: key %d", stage, i)
		}
		lk.Values.Release()
	}
	check("pending")
	require.NoError(t, tbl.Commit(ctx, 1))
	check("memtable")
	// A pending long value moves to the next memtable at the freeze.
	sl := rec.NewSlice(4, 5)
	require.NoError(t, tbl.Write(ctx, ks[4:5], nil, sl))
	sl.Release()
	tbl.mu.Lock()
	fm, next, touched := tbl.mem.freeze(nil, tbl.committed)
	tbl.frozen = append([]*frozenMem{fm}, tbl.frozen...)
	tbl.mem, tbl.touched = next, touched
	tbl.mu.Unlock()
	require.NotEmpty(t, tbl.mem.longs, "the moved value goes through longs")
	check("frozen")
	require.NoError(t, tbl.Commit(ctx, 2))
	_, err = tbl.Checkpoint(ctx)
	require.NoError(t, err)
	check("run")
}

// TestMemEntrySize guards the one-cache-line entry.
func TestMemEntrySize(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(memEntry{}))
	require.Equal(t, uintptr(16), unsafe.Sizeof(memVersion{}))
}

// TestAdoptWithConcurrentReaders flushes memtables large enough that each
// next one adopts the flushed one's pages and index, while a reader runs
// Gets and Scans: every value it sees must belong to its key (a value
// encodes its key), which an adoption under a reader would break.
func TestAdoptWithConcurrentReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("large memtables")
	}
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tbl, err := Open(ctx, schema, Options{FS: vfs.NewMem(), MemtableSize: 12 << 20})
	require.NoError(t, err)
	defer tbl.Close()
	const space, batch = 300_000, 4096
	key := func(i int) []byte { return fmt.Appendf(nil, "k%07d", i) }
	keyNum := func(k []byte) int64 {
		var n int64
		for _, c := range k[1:] {
			n = n*10 + int64(c-'0')
		}
		return n
	}
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		rng := rand.New(rand.NewPCG(5, 6))
		ks := make([][]byte, 256)
		for {
			select {
			case <-done:
				return
			default:
			}
			for i := range ks {
				ks[i] = key(rng.IntN(space))
			}
			lk, err := tbl.Get(ctx, ks)
			if err != nil {
				readErr <- err
				return
			}
			vals := lk.Values.Column(0).(*array.Int64)
			for i, k := range ks {
				if lk.Found[i] && vals.Value(i)/1000 != keyNum(k) {
					readErr <- fmt.Errorf("get %s: value %d", k, vals.Value(i))
					lk.Values.Release()
					return
				}
			}
			lk.Values.Release()
			lo := rng.IntN(space)
			n := 0
			err = tbl.Scan(ctx, state.KeyRange{Start: key(lo), End: key(lo + 2000)}, func(keys [][]byte, rows arrow.RecordBatch) error {
				for j, k := range keys {
					if v := rows.Column(0).(*array.Int64).Value(j); v/1000 != keyNum(k) {
						return fmt.Errorf("scan %s: value %d", k, v)
					}
					n++
				}
				return nil
			})
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	rng := rand.New(rand.NewPCG(7, 8))
	ks := make([][]byte, batch)
	adopted := 0
	for epoch := state.Epoch(1); epoch <= 40; epoch++ {
		for range 4 {
			bld := array.NewInt64Builder(memory.DefaultAllocator)
			for i := range ks {
				n := rng.IntN(space)
				ks[i] = key(n)
				bld.Append(int64(n)*1000 + int64(epoch))
			}
			col := bld.NewArray()
			bld.Release()
			rec := array.NewRecordBatch(schema, []arrow.Array{col}, batch)
			col.Release()
			require.NoError(t, tbl.Write(ctx, ks, nil, rec))
			rec.Release()
		}
		require.NoError(t, tbl.Commit(ctx, epoch))
		tbl.mu.RLock()
		if tbl.mem.prepaid > 0 {
			adopted++
		}
		tbl.mu.RUnlock()
	}
	close(done)
	require.NoError(t, <-readErr)
	require.Positive(t, adopted, "some memtable adopted a flushed one's memory")
}
