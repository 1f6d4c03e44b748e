package state_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/stretchr/testify/require"
)

// TestMemoryFixedSmallPathMatchesGeneric drives the small-table loops of
// the one-column int64 layout (marker + 8 bytes: the two-slot probe
// window, the full probe walk for keys further from home, and the
// in-place update of keys written earlier in the epoch) against the
// generic path: table A takes typed upserts (ops nil), typed writes with
// deletes and generic deletes; table B the same rows through Write. Key
// spaces up to the small-table limit keep the index up to three quarters
// full, so many keys sit beyond their home's next slot. After every step
// typed and generic reads of both tables must agree with a map model,
// snapshots pinned at older epochs must still read their epoch, and both
// tables must charge the same bytes.
func TestMemoryFixedSmallPathMatchesGeneric(t *testing.T) {
	for _, space := range []int{40, 1500, 6000} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("space=%d/seed=%d", space, seed), func(t *testing.T) {
				smallPathCase(t, space, seed)
			})
		}
	}
}

func smallPathCase(t *testing.T, space int, seed uint64) {
	ctx := context.Background()
	lay := state.FixedKeyLayout{Prefix: keys.AppendMarker(nil), Width: 8}
	rng := rand.New(rand.NewPCG(seed, uint64(space)))
	budA, budB := &testBudget{}, &testBudget{}
	ta, err := state.OpenMemoryTable(fixedSchema, state.MemoryOptions{Budget: budA})
	require.NoError(t, err)
	defer ta.Close()
	tb, err := state.OpenMemoryTable(fixedSchema, state.MemoryOptions{Budget: budB})
	require.NoError(t, err)
	defer tb.Close()
	fv, ok := ta.Fixed(lay)
	require.True(t, ok)

	cur := map[uint64]fixedRow{}
	epochs := map[state.Epoch]map[uint64]fixedRow{}
	var epoch state.Epoch
	type pinned struct {
		e    state.Epoch
		a, b state.Snapshot
	}
	var snaps []pinned
	defer func() {
		for _, s := range snaps {
			s.a.Release()
			s.b.Release()
		}
	}()
	// Keys are int64 words around zero (both signs), so the inline words
	// differ in their top and bottom bytes.
	randKey := func() uint64 { return int64Word(int64(rng.IntN(space) - space/2)) }
	randRow := func() fixedRow {
		var r fixedRow
		for j, w := range fixedWidths {
			r.w[j] = maskWord(rng.Uint64()>>rng.IntN(64), w)
		}
		return r
	}
	checkGeneric := func(r state.Reader, ks []uint64, want map[uint64]fixedRow, what string) {
		bks := make([][]byte, len(ks))
		for i, k := range ks {
			bks[i] = lay.AppendKey(nil, k)
		}
		var lk state.Lookup
		var err error
		switch r := r.(type) {
		case *state.MemoryTable:
			lk, err = r.Get(ctx, bks)
		case state.Snapshot:
			lk, err = r.Get(ctx, bks)
		}
		require.NoError(t, err)
		rows := rowsOf(lk.Values)
		lk.Values.Release()
		for i, k := range ks {
			// Plain comparisons: testify per key would dominate the test.
			if w, ok := want[k]; ok != lk.Found[i] || ok && w != rows[i] {
				t.Fatalf("%s key %x: found %v %+v, want %v %+v", what, k, lk.Found[i], rows[i], ok, w)
			}
		}
	}
	check := func() {
		ks := make([]uint64, 0, 300+len(cur))
		for range 300 {
			ks = append(ks, randKey())
		}
		ks = append(ks, int64Word(int64(space)), int64Word(-int64(space))) // never written
		for k := range cur {
			ks = append(ks, k)
		}
		vals := make([][]uint64, len(fixedWidths))
		for j := range vals {
			vals[j] = make([]uint64, len(ks))
			for i := range vals[j] {
				vals[j][i] = 0xdead
			}
		}
		found, null := make([]bool, len(ks)), make([]bool, len(ks))
		for i := range found {
			found[i] = i%2 == 0 // must be overwritten
		}
		require.NoError(t, fv.GetFixed(ctx, ks, vals, found, null))
		for i, k := range ks {
			w, ok := cur[k]
			if ok != found[i] || null[i] {
				t.Fatalf("typed key %x: found %v null %v, want %v", k, found[i], null[i], ok)
			}
			for j := range fixedWidths {
				if w.w[j] != vals[j][i] {
					t.Fatalf("typed key %x column %d: %x, want %x", k, j, vals[j][i], w.w[j])
				}
			}
		}
		checkGeneric(ta, ks, cur, "A")
		checkGeneric(tb, ks, cur, "B")
		for _, s := range snaps {
			checkGeneric(s.a, ks, epochs[s.e], fmt.Sprintf("A@%d", s.e))
			checkGeneric(s.b, ks, epochs[s.e], fmt.Sprintf("B@%d", s.e))
		}
		require.Equal(t, ta.Stats(), tb.Stats())
		require.Equal(t, budA.Used(), budB.Used())
	}
	write := func(ks []uint64, ops []state.Op, typed bool) {
		rows := make([]fixedRow, len(ks))
		vals := make([][]uint64, len(fixedWidths))
		for j := range vals {
			vals[j] = make([]uint64, len(ks))
		}
		for i, k := range ks {
			if ops != nil && ops[i] == state.OpDelete {
				delete(cur, k)
				continue
			}
			rows[i] = randRow()
			for j := range fixedWidths {
				vals[j][i] = rows[i].w[j]
			}
			cur[k] = rows[i]
		}
		rec := fixedBatch(rows)
		defer rec.Release()
		bks := make([][]byte, len(ks))
		for i, k := range ks {
			bks[i] = lay.AppendKey(nil, k)
		}
		if typed {
			require.NoError(t, fv.WriteFixed(ctx, ks, ops, vals))
		} else {
			require.NoError(t, ta.Write(ctx, bks, ops, rec))
		}
		require.NoError(t, tb.Write(ctx, bks, ops, rec))
	}
	for step := 0; step < 60; step++ {
		switch op := rng.IntN(10); {
		case op < 5: // typed upserts, keys repeating within the batch
			ks := make([]uint64, 1+rng.IntN(2*space))
			for i := range ks {
				ks[i] = randKey()
			}
			write(ks, nil, true)
		case op < 7: // deletes and puts, typed or generic
			ks := make([]uint64, 1+rng.IntN(space))
			ops := make([]state.Op, len(ks))
			for i := range ks {
				ks[i] = randKey()
				if rng.IntN(2) == 0 {
					ops[i] = state.OpDelete
				}
			}
			write(ks, ops, rng.IntN(2) == 0)
		case op < 9:
			epoch++
			require.NoError(t, ta.Commit(ctx, epoch))
			require.NoError(t, tb.Commit(ctx, epoch))
			epochs[epoch] = maps.Clone(cur)
			if rng.IntN(2) == 0 {
				sa, err := ta.Snapshot(epoch)
				require.NoError(t, err)
				sb, err := tb.Snapshot(epoch)
				require.NoError(t, err)
				snaps = append(snaps, pinned{epoch, sa, sb})
			}
		default: // release the oldest pin
			if len(snaps) > 0 {
				snaps[0].a.Release()
				snaps[0].b.Release()
				snaps = snaps[1:]
			}
		}
		check()
	}
}

// TestMemoryFixedSmallPathBudget: an upsert through the small-table loop
// that does not fit the budget fails with 53200 and changes nothing —
// neither the values of keys it would update in place (written earlier
// in the epoch) nor the keys it would add — as the generic Write does.
func TestMemoryFixedSmallPathBudget(t *testing.T) {
	ctx := context.Background()
	lay := state.FixedKeyLayout{Prefix: keys.AppendMarker(nil), Width: 8}
	for _, typed := range []bool{true, false} {
		bud := &testBudget{}
		tbl, err := state.OpenMemoryTable(fixedSchema, state.MemoryOptions{Budget: bud})
		require.NoError(t, err)
		fv, ok := tbl.Fixed(lay)
		require.True(t, ok)
		words := func(n int, v uint64) [][]uint64 {
			out := make([][]uint64, len(fixedWidths))
			for j := range out {
				out[j] = make([]uint64, n)
				for i := range out[j] {
					out[j][i] = v
				}
			}
			return out
		}
		ks := make([]uint64, 500)
		for i := range ks {
			ks[i] = int64Word(int64(i))
		}
		require.NoError(t, fv.WriteFixed(ctx, ks, nil, words(len(ks), 1)))
		require.NoError(t, tbl.Commit(ctx, 1))
		require.NoError(t, fv.WriteFixed(ctx, ks[:250], nil, words(250, 2))) // pending in epoch 2
		before, used := tbl.Stats(), bud.Used()
		bud.mu.Lock()
		bud.limit = used + 1024 // too little for the worst case of the batch below
		bud.mu.Unlock()
		// The worst case (every row a new key and version) is charged
		// before anything changes: 20K rows exceed the reservation's
		// 1 MiB quantum although only two keys are new.
		var batch []uint64
		for range 40 {
			batch = append(batch, ks...)
		}
		batch = append(batch, int64Word(-1), int64Word(-2))
		if typed {
			err = fv.WriteFixed(ctx, batch, nil, words(len(batch), 3))
		} else {
			bks := make([][]byte, len(batch))
			rows := make([]fixedRow, len(batch))
			for i, k := range batch {
				bks[i] = lay.AppendKey(nil, k)
				for j := range fixedWidths {
					rows[i].w[j] = 3
				}
			}
			rec := fixedBatch(rows)
			err = tbl.Write(ctx, bks, nil, rec)
			rec.Release()
		}
		require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err), "typed=%v: %v", typed, err)
		require.Equal(t, before, tbl.Stats())
		require.Equal(t, used, bud.Used())
		vals := words(len(batch), 0)
		found := make([]bool, len(batch))
		require.NoError(t, fv.GetFixed(ctx, batch, vals, found, nil))
		for i := range batch {
			want := uint64(1)
			if i%len(ks) < 250 {
				want = 2
			}
			if i >= 40*len(ks) {
				require.False(t, found[i])
				want = 0
			} else {
				require.True(t, found[i])
			}
			require.Equal(t, want, vals[0][i], "typed=%v row %d", typed, i)
		}
		require.NoError(t, tbl.Close())
	}
}
