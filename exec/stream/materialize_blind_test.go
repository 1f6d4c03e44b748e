package stream

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/backends"
)

var allBackends = []state.BackendKind{state.BackendMemory, state.BackendPebble, state.BackendColumnar}

// bagDeletes says which deletes bagEpochs generates.
type bagDeletes int

const (
	noDeletes    bagDeletes = iota
	anyDeletes              // of random rows, present or not
	validDeletes            // only of rows present at that point
)

// bagEpochs generates random epochs of chunks of (a, b) int8 rows from a
// small domain (many duplicates, some NULLs). With deletes, some rows
// delete or update a row (with anyDeletes often one that is absent, which
// a counted view ignores). models receives the expected multiset after
// each epoch.
func bagEpochs(rng *rand.Rand, nEpochs int, deletes bagDeletes) (epochs [][][]row, models []map[string]int) {
	model := map[string]int{}
	val := func() *int64 {
		if rng.IntN(12) == 0 {
			return nil
		}
		v := int64(rng.IntN(6))
		return &v
	}
	key := func(vals []*int64) string {
		s := ""
		for _, v := range vals {
			if v == nil {
				s += " NULL"
			} else {
				s += fmt.Sprintf(" %d", *v)
			}
		}
		return s[1:]
	}
	present := map[string][]*int64{} // values of every key ever inserted
	cur := map[string]int{}          // validDeletes: the multiset so far
	pick := func() ([]*int64, bool) {
		if deletes != validDeletes {
			return []*int64{val(), val()}, true
		}
		var ks []string
		for k, n := range cur {
			if n > 0 {
				ks = append(ks, k)
			}
		}
		if len(ks) == 0 {
			return nil, false
		}
		slices.Sort(ks)
		k := ks[rng.IntN(len(ks))]
		cur[k]--
		return present[k], true
	}
	for range nEpochs {
		var chunks [][]row
		for range rng.IntN(4) {
			size := []int{1, 3, 40, 300}[rng.IntN(4)]
			var rows []row
			net := map[string]int{}
			stored := map[string]int{}
			for k, n := range model {
				stored[k] = n
			}
			for range size {
				r := row{op: Insert, vals: []*int64{val(), val()}}
				if deletes != noDeletes {
					switch d := rng.IntN(10); {
					case d < 3:
						if vals, ok := pick(); ok {
							r = row{op: Delete, vals: vals}
						}
					case d == 3:
						// An update pair.
						if vals, ok := pick(); ok {
							old := row{op: UpdateDelete, vals: vals}
							rows = append(rows, old)
							net[key(old.vals)]--
							r.op = UpdateInsert
						}
					}
				}
				k := key(r.vals)
				if r.op.Sign() > 0 {
					present[k] = r.vals
					cur[k]++
				}
				rows = append(rows, r)
				net[k] += int(r.op.Sign())
			}
			// The model applies a chunk's net change per distinct row; a
			// row deleted more often than it exists ends absent.
			for k, d := range net {
				if n := stored[k] + d; n > 0 {
					model[k] = n
				} else {
					delete(model, k)
				}
			}
			chunks = append(chunks, rows)
		}
		epochs = append(epochs, chunks)
		snap := map[string]int{}
		for k, n := range model {
			snap[k] = n
		}
		models = append(models, snap)
	}
	return epochs, models
}

func expandModel(m map[string]int) []string {
	var out []string
	for k, n := range m {
		for range n {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// runBagView pushes epochs through a Materialize in mode over a table of
// kind and checks the view after every barrier against models, reading it
// both whole (Read) and paged (ViewReader with 7-row pages).
func runBagView(t *testing.T, f *backends.Factory, kind state.BackendKind, name string, mode BagMode, epochs [][][]row, models []map[string]int, negLimit ...int64) {
	schema, _ := int8Schema("a", "b")
	tbl, err := f.Open(t.Context(), kind, name, MaterializeValueSchema(schema, nil))
	require.NoError(t, err)
	runBagViewOn(t, tbl, string(kind), mode, epochs, models, negLimit...)
}

// runBagViewOn is runBagView over the table tbl (described as kind).
func runBagViewOn(t *testing.T, tbl state.Table, kind string, mode BagMode, epochs [][][]row, models []map[string]int, negLimit ...int64) {
	schema, ts := int8Schema("a", "b")
	var msgs []Message
	for e, chunks := range epochs {
		for _, rows := range chunks {
			msgs = append(msgs, makeChunk(t, schema, rows))
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e + 1)})
	}
	mat, err := NewMaterialize(&script{schema: schema, msgs: msgs}, ts, nil, tbl, nil)
	require.NoError(t, err)
	mat.WithBagMode(mode)
	if len(negLimit) > 0 {
		mat.blind.negLimit = negLimit[0]
	}
	defer func() { require.NoError(t, mat.Close()) }()
	for e := range epochs {
		msg, err := mat.Next(t.Context())
		require.NoError(t, err)
		require.Equal(t, Barrier{Epoch: uint64(e + 1)}, msg)
		want := expandModel(models[e])
		bs, err := mat.Read(t.Context(), uint64(e+1))
		require.NoError(t, err)
		got := readBatches(t, bs, ts, []int{0, 1})
		slices.Sort(got)
		require.Equal(t, want, got, "%s %s epoch %d", kind, mode, e+1)

		snap, err := mat.snapshot(uint64(e + 1))
		require.NoError(t, err)
		r := mat.newReader(snap, true, []int{0, 1}).WithPageRows(7)
		paged := readAll(t, r, ts, viewBatchRows)
		require.NoError(t, r.Close())
		slices.Sort(paged)
		require.Equal(t, want, paged, "%s %s epoch %d paged", kind, mode, e+1)
	}
}

// TestBagModesAppendOnly runs random append-only changelogs with
// duplicates through every bag mode and backend: the view holds the same
// multiset whichever mode stores it.
func TestBagModesAppendOnly(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		epochs, models := bagEpochs(rand.New(rand.NewPCG(seed, 8)), 6, noDeletes)
		for _, kind := range allBackends {
			f := &backends.Factory{}
			for _, mode := range []BagMode{BagCounted, BagAppendOnly, BagInsertMostly} {
				runBagView(t, f, kind, fmt.Sprintf("v%d_%d", seed, mode), mode, epochs, models)
			}
			require.NoError(t, f.Close())
		}
	}
}

// TestBagModesRetractable runs random changelogs with deletes and updates
// through the counted mode (deletes of absent rows included) and the
// insert-mostly mode (deletes of present rows), the latter also with
// cancelling rows resolved every few deletes.
func TestBagModesRetractable(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		for _, kind := range allBackends {
			f := &backends.Factory{}
			epochs, models := bagEpochs(rand.New(rand.NewPCG(seed, 9)), 6, anyDeletes)
			runBagView(t, f, kind, fmt.Sprintf("v%d_counted", seed), BagCounted, epochs, models)
			epochs, models = bagEpochs(rand.New(rand.NewPCG(seed, 10)), 6, validDeletes)
			runBagView(t, f, kind, fmt.Sprintf("v%d_counted_valid", seed), BagCounted, epochs, models)
			runBagView(t, f, kind, fmt.Sprintf("v%d_im", seed), BagInsertMostly, epochs, models)
			runBagView(t, f, kind, fmt.Sprintf("v%d_im_resolve", seed), BagInsertMostly, epochs, models, 7)
			require.NoError(t, f.Close())
		}
	}
}

// appendCounter is a memory table counting the rows written through its
// append path.
type appendCounter struct {
	*state.MemoryTable
	rows int
}

func (a *appendCounter) Append(ctx context.Context, ks [][]byte, vals arrow.RecordBatch) error {
	a.rows += len(ks)
	return a.MemoryTable.Append(ctx, ks, vals)
}

// TestBagBlindModesAppend: over a table with an append path the blind
// modes store their rows through it (a memory table keeps them out of its
// hash index), and the view still holds exactly the model's rows after
// every epoch, with deletes cancelling appended rows and resolves
// deleting them.
func TestBagBlindModesAppend(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		for _, mode := range []BagMode{BagAppendOnly, BagInsertMostly} {
			deletes := noDeletes
			if mode == BagInsertMostly {
				deletes = validDeletes
			}
			epochs, models := bagEpochs(rand.New(rand.NewPCG(seed, 11)), 8, deletes)
			for _, negLimit := range []int64{0, 5} {
				schema, _ := int8Schema("a", "b")
				mt, err := state.NewMemoryTable(MaterializeValueSchema(schema, nil), memory.NewGoAllocator())
				require.NoError(t, err)
				tbl := &appendCounter{MemoryTable: mt}
				runBagViewOn(t, tbl, "memory+append", mode, epochs, models, negLimit)
				inserts := 0
				for _, chunks := range epochs {
					for _, rows := range chunks {
						for _, r := range rows {
							if r.op.Sign() > 0 {
								inserts++
							}
						}
					}
				}
				// Within a chunk a delete may cancel an insert before the
				// write; every other insert is appended.
				require.Positive(t, tbl.rows, "seed %d %s", seed, mode)
				require.LessOrEqual(t, tbl.rows, inserts)
			}
		}
	}
}

// TestIDKeys compares the row-id keys idKeys writes with word stores
// against keys built byte by byte, across sequence numbers of every
// length, epochs and prefixes, and checks they ascend.
func TestIDKeys(t *testing.T) {
	for _, e := range []uint64{0, 1, 255, 256, 1 << 40, 1<<64 - 1} {
		for _, prefix := range [][]byte{nil, {imPos}} {
			tbl := &epochTable{e: state.Epoch(e)}
			m := &Materialize{table: tbl}
			for _, start := range []uint64{0, 250, 65530, 1<<24 - 3, 1<<56 - 2, 1<<64 - 5} {
				m.ids = rowIDs{epoch: e, seq: start}
				ks := m.idKeys(prefix, 4)
				ks = slices.Clone(ks)
				for i, k := range ks {
					want := appendOrdered(appendOrdered(slices.Clone(prefix), e), start+uint64(i))
					require.Equal(t, want, k, "epoch %d seq %d", e, start+uint64(i))
					if i > 0 {
						require.Negative(t, bytes.Compare(ks[i-1], k))
					}
				}
			}
		}
	}
}

// epochTable is a table reporting a committed epoch (idKeys reads only
// that).
type epochTable struct {
	state.Table
	e state.Epoch
}

func (t *epochTable) CommittedEpoch() state.Epoch { return t.e }

// TestBagAppendOnlyRejectsDelete: a delete reaching an append-only view
// is an internal error, not a silently wrong view.
func TestBagAppendOnlyRejectsDelete(t *testing.T) {
	schema, ts := int8Schema("a")
	msgs := []Message{makeChunk(t, schema, parseRows(t, "+ 1\n- 1"))}
	mat, err := NewMaterialize(&script{schema: schema, msgs: msgs}, ts, nil, nil, nil)
	require.NoError(t, err)
	mat.WithBagMode(BagAppendOnly)
	defer mat.Close()
	_, err = mat.Next(t.Context())
	require.Error(t, err)
	require.Equal(t, pgerror.InternalError, pgerror.CodeOf(err))
}

// TestBagModeHint: a mode hinted on the dataflow reaches a Materialize
// built over a Tee of it; keyed views ignore it.
func TestBagModeHint(t *testing.T) {
	schema, ts := int8Schema("a")
	for _, mode := range []BagMode{BagCounted, BagAppendOnly, BagInsertMostly} {
		log := NewChangelog(schema)
		tee := NewTee(HintBagMode(&script{schema: schema}, mode), log)
		mat, err := NewMaterialize(tee, ts, nil, nil, nil)
		require.NoError(t, err)
		require.Equal(t, mode, mat.BagMode())
		require.NoError(t, mat.Close())

		keyed, err := NewMaterialize(NewTee(HintBagMode(&script{schema: schema}, mode), NewChangelog(schema)), ts, []int{0}, nil, nil)
		require.NoError(t, err)
		require.Equal(t, BagCounted, keyed.BagMode())
		require.NoError(t, keyed.Close())
	}
}

// TestBagRowIDsAcrossReopen writes a blind view into a persistent table,
// leaves uncommitted writes behind, reopens the table (a restart) and
// writes more: no new row may overwrite a recovered one, so the view is
// the recovered rows plus the new ones.
func TestBagRowIDsAcrossReopen(t *testing.T) {
	schema, ts := int8Schema("a", "b")
	for _, kind := range []state.BackendKind{state.BackendPebble, state.BackendColumnar} {
		for _, mode := range []BagMode{BagAppendOnly, BagInsertMostly} {
			f := &backends.Factory{Dir: t.TempDir()}
			rng := rand.New(rand.NewPCG(uint64(mode), 1))
			gen := func(n int) []row {
				rows := make([]row, n)
				for i := range rows {
					a, b := int64(rng.IntN(3)), int64(rng.IntN(3))
					rows[i] = row{op: Insert, vals: []*int64{&a, &b}}
				}
				return rows
			}
			var tbl state.Table
			open := func(msgs []Message) *Materialize {
				var err error
				tbl, err = f.Open(t.Context(), kind, "view", MaterializeValueSchema(schema, nil))
				require.NoError(t, err)
				mat, err := NewMaterialize(&script{schema: schema, msgs: msgs}, ts, nil, tbl, nil)
				require.NoError(t, err)
				return mat.WithBagMode(mode)
			}
			read := func(mat *Materialize) []string {
				bs, err := mat.Read(t.Context(), mat.CommittedEpoch())
				require.NoError(t, err)
				out := readBatches(t, bs, ts, []int{0, 1})
				slices.Sort(out)
				return out
			}
			// First run: two committed epochs, then writes left pending.
			first := open([]Message{makeChunk(t, schema, gen(50)), Barrier{Epoch: 1},
				makeChunk(t, schema, gen(50)), Barrier{Epoch: 2}, makeChunk(t, schema, gen(50))})
			for range 2 {
				_, err := first.Next(t.Context())
				require.NoError(t, err)
			}
			ce, err := tbl.(state.Checkpointer).Checkpoint(t.Context())
			require.NoError(t, err)
			require.Equal(t, state.Epoch(2), ce)
			_, err = first.Next(t.Context()) // applies the pending chunk, then ends
			require.NoError(t, err)
			require.NoError(t, first.Close())

			// Second run: the recovered rows plus new ones.
			newRows := gen(80)
			second := open([]Message{makeChunk(t, schema, newRows), Barrier{Epoch: 10}})
			recovered := read(second)
			require.Equal(t, uint64(2), second.CommittedEpoch())
			require.Len(t, recovered, 100)
			msg, err := second.Next(t.Context())
			require.NoError(t, err)
			require.Equal(t, Barrier{Epoch: 10}, msg)
			want := append([]string(nil), recovered...)
			for _, r := range newRows {
				want = append(want, fmt.Sprintf("%d %d", *r.vals[0], *r.vals[1]))
			}
			slices.Sort(want)
			require.Equal(t, want, read(second), "%s %s", kind, mode)
			require.NoError(t, second.Close())
			require.NoError(t, f.Close())
		}
	}
}

// TestBagInsertMostlyRollingFallback feeds a rolling window whose rows
// arrive out of order (so it retracts partitions) into counted and
// insert-mostly views: both end with the same rows.
func TestBagInsertMostlyRollingFallback(t *testing.T) {
	calls := []RollingCall{{Kind: RollStddevSamp, Arg: 3, Preceding: 4}, {Kind: RollCountStar, Preceding: -1}}
	for seed := uint64(1); seed <= 5; seed++ {
		epochs := genRolling(rand.New(rand.NewPCG(seed, 4)), 6, 5, true, 0, 1)
		var views [2][]string
		for i, mode := range []BagMode{BagCounted, BagInsertMostly} {
			var msgs []Message
			for e, chunks := range epochs {
				for _, rows := range chunks {
					if len(rows) > 0 {
						msgs = append(msgs, &Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))})
					}
				}
				msgs = append(msgs, Barrier{Epoch: uint64(e + 1)})
			}
			out := rollOutSchema(calls)
			rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, out, []int{1}, 2, calls, refCompute(calls))
			require.NoError(t, err)
			vts := append(append([]types.T(nil), rollTypes...), types.Float8T, types.Int8T)
			mat, err := NewMaterialize(rw, vts, nil, nil, nil)
			require.NoError(t, err)
			mat.WithBagMode(mode)
			require.NoError(t, mat.Run(context.Background()))
			bs, err := mat.Read(t.Context(), mat.CommittedEpoch())
			require.NoError(t, err)
			views[i] = readBatches(t, bs, vts, []int{0, 1, 2, 3, 4, 5})
			slices.Sort(views[i])
			require.NoError(t, mat.Close())
		}
		require.NotEmpty(t, views[0])
		require.Equal(t, views[0], views[1], "seed %d", seed)
	}
}
