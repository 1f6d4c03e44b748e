package pebblestate_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// TestAppendModel drives the append paths — the pending epoch's
// ascending run and the ingested sstables of epochs past every stored key
// — against a map model: most writes take the next row id, some rewrite
// or delete older ids (or write ids below the epoch's run), some epochs
// clean below a watermark, snapshots stay pinned over several epochs, and
// the table is checkpointed and reopened. Reads of the writer view (Get
// and Scan, also between the writes of an epoch) and of every pinned
// snapshot must match the model.
func TestAppendModel(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			runAppendModel(t, seed)
		})
	}
}

func runAppendModel(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 17))
	opts := pebblestate.Options{
		Dir: "tbl", FS: vfs.NewMem(),
		MemTableSize:  []uint64{64 << 10, 4 << 20}[rng.IntN(2)],
		IngestMinKeys: []int{1, 8, 24}[rng.IntN(3)],
	}
	t.Logf("seed %d memtable %d ingest≥%d", seed, opts.MemTableSize, opts.IngestMinKeys)
	tbl, err := pebblestate.Open(ctx, statetest.Schema, opts)
	require.NoError(t, err)
	defer func() { tbl.Close() }()

	states := map[state.Epoch]map[int64]int64{0: {}}
	committed, durable := state.Epoch(0), state.Epoch(0)
	next := int64(0)
	type pin struct {
		s state.Snapshot
		e state.Epoch
	}
	var pins []pin

	ingested := 0
	for round := 0; round < 60; round++ {
		w := maps.Clone(states[committed]) // the writer view
		nwrites := rng.IntN(4)
		appendOnly := rng.IntN(2) == 0 // this epoch only takes new ids
		for range nwrites {
			n := 1 + rng.IntN(40)
			var ks [][]byte
			var ops []state.Op
			var vs []int64
			for range n {
				var k int64
				switch r := rng.IntN(10); {
				case r < 7 || next == 0 || appendOnly:
					k = next
					next++
				case r < 9:
					k = rng.Int64N(next)
				default:
					k = next - 1 - rng.Int64N(min(next, 5)) // just below the run's end
				}
				op := state.OpPut
				if rng.IntN(8) == 0 {
					op = state.OpDelete
				}
				v := rng.Int64N(1000)
				ks, ops, vs = append(ks, keys.Int64Key(k)), append(ops, op), append(vs, v)
				if op == state.OpDelete {
					delete(w, k)
				} else {
					w[k] = v
				}
			}
			writeRows(t, tbl, ks, ops, vs)
			if rng.IntN(3) == 0 {
				requireView(t, tbl, w, next, "writer view mid-epoch")
			}
		}
		if rng.IntN(6) == 0 && next > 0 {
			wm := rng.Int64N(next + 1)
			require.NoError(t, tbl.CleanBelow(ctx, keys.Int64Key(wm)))
			for k := range w {
				if k < wm {
					delete(w, k)
				}
			}
			// Writes after the range deletion, some below it, survive it.
			if rng.IntN(2) == 0 && wm > 0 {
				k := rng.Int64N(wm)
				writeRows(t, tbl, [][]byte{keys.Int64Key(k), keys.Int64Key(next)}, nil, []int64{7, 8})
				w[k], w[next] = 7, 8
				next++
			}
		}
		requireView(t, tbl, w, next, "writer view")
		committed++
		require.NoError(t, tbl.Commit(ctx, committed))
		states[committed] = w
		requireView(t, tbl, w, next, "after commit")
		if rng.IntN(3) == 0 {
			s, err := tbl.Snapshot(committed)
			require.NoError(t, err)
			pins = append(pins, pin{s, committed})
		}
		for _, p := range pins {
			requireView(t, p.s, states[p.e], next, fmt.Sprintf("snapshot %d at epoch %d", p.e, committed))
		}
		if len(pins) > 3 {
			pins[0].s.Release()
			pins = pins[1:]
		}
		switch rng.IntN(12) {
		case 0:
			durable, err = tbl.Checkpoint(ctx)
			require.NoError(t, err)
		case 1:
			require.NoError(t, tbl.Flush())
		case 2:
			require.NoError(t, tbl.Compact(ctx))
		case 3:
			for _, p := range pins {
				p.s.Release()
			}
			pins = nil
			ingested += pebblestate.Ingested(tbl)
			require.NoError(t, tbl.Close())
			tbl, err = pebblestate.Open(ctx, statetest.Schema, opts)
			require.NoError(t, err)
			committed = durable
			require.Equal(t, committed, tbl.CommittedEpoch())
			for e := range states {
				if e > committed {
					delete(states, e)
				}
			}
			// Ids written after the checkpoint are free again; reusing
			// them checks that the reopened table knows its largest key.
			next = 0
			for k := range states[committed] {
				next = max(next, k+1)
			}
			requireView(t, tbl, states[committed], next, "after reopen")
		}
	}
	for _, p := range pins {
		p.s.Release()
	}
	ingested += pebblestate.Ingested(tbl)
	require.Positive(t, ingested, "no epoch took the ingest path")
	t.Logf("%d of %d epochs ingested", ingested, 60)
}

func writeRows(t *testing.T, tbl state.Table, ks [][]byte, ops []state.Op, vs []int64) {
	t.Helper()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	for _, v := range vs {
		b.Field(0).(*array.Int64Builder).Append(v)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("v", v))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	require.NoError(t, tbl.Write(context.Background(), ks, ops, rec))
}

// requireView checks r against want with Gets of every id below next
// (and one past it) and a full Scan.
func requireView(t *testing.T, r state.Reader, want map[int64]int64, next int64, what string) {
	t.Helper()
	ctx := context.Background()
	var ks [][]byte
	idOf := map[string]int64{}
	for k := int64(0); k <= next; k++ {
		ks = append(ks, keys.Int64Key(k))
		idOf[string(ks[k])] = k
	}
	look, err := r.Get(ctx, ks)
	require.NoError(t, err)
	col := look.Values.Column(0).(*array.Int64)
	for k := int64(0); k <= next; k++ {
		v, ok := want[k]
		require.Equal(t, ok, look.Found[k], "%s: key %d found", what, k)
		if ok {
			require.Equal(t, v, col.Value(int(k)), "%s: key %d", what, k)
		}
	}
	look.Values.Release()
	got := []int64{}
	require.NoError(t, r.Scan(ctx, state.KeyRange{}, func(ks [][]byte, vals arrow.RecordBatch) error {
		c := vals.Column(0).(*array.Int64)
		for i, k := range ks {
			id, ok := idOf[string(k)]
			require.True(t, ok, "%s: scanned unknown key %x", what, k)
			require.Equal(t, want[id], c.Value(i), "%s: scanned key %d", what, id)
			got = append(got, id)
		}
		return nil
	}))
	wantKeys := append([]int64{}, slices.Sorted(maps.Keys(want))...)
	require.Equal(t, len(wantKeys), len(got), "%s: scanned keys", what)
	require.Equal(t, wantKeys, got[:len(got):len(got)], "%s: scanned keys", what)
}
