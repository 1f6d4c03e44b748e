package state_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
)

// appendedKey is the i-th key of the differential test's append stream;
// between appendedKey(i) and appendedKey(i+1) sorts otherKey(1, i), and
// otherKey(0, _) and otherKey(2, _) sort below and above them all.
func appendedKey(i int) []byte {
	return binary.BigEndian.AppendUint64([]byte{1}, uint64(i))
}

func otherKey(tag byte, i int) []byte {
	k := binary.BigEndian.AppendUint64([]byte{tag}, uint64(i))
	if tag == 1 {
		k = append(k, 0)
	}
	return k
}

type appendRow struct {
	k     string
	v     int64
	s     string
	sNull bool
}

func appendBatch(rows []appendRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.v)
		if r.sNull {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(r.s)
		}
	}
	return b.NewRecordBatch()
}

// readRows is what a Get of ks returns, as text (absent rows as "-").
func readGet(t *testing.T, r state.Reader, ks [][]byte) []string {
	lk, err := r.Get(context.Background(), ks)
	require.NoError(t, err)
	defer lk.Values.Release()
	out := make([]string, len(ks))
	for i := range ks {
		out[i] = "-"
		if lk.Found[i] {
			out[i] = rowText(lk.Values, i)
		}
	}
	return out
}

func rowText(b arrow.RecordBatch, i int) string {
	s := "NULL"
	if c := b.Column(1).(*array.String); c.IsValid(i) {
		s = c.Value(i)
	}
	return fmt.Sprintf("%d/%s", b.Column(0).(*array.Int64).Value(i), s)
}

func readScan(t *testing.T, r state.Reader, kr state.KeyRange) []string {
	var out []string
	require.NoError(t, r.Scan(context.Background(), kr, func(ks [][]byte, vals arrow.RecordBatch) error {
		for i, k := range ks {
			out = append(out, fmt.Sprintf("%x=%s", k, rowText(vals, i)))
		}
		return nil
	}))
	return out
}

// TestMemoryAppendMatchesWrite runs random operations against two memory
// tables, one taking the appended rows through Append and the other
// through Write, with puts and deletes over appended rows, keys between
// them, range deletes, Update, commits and snapshots, and compares every
// read (writer view and snapshots, Get and Scan). A lost, duplicated or
// resurrected appended row makes the reads differ.
func TestMemoryAppendMatchesWrite(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { appendDiffCase(t, seed) })
	}
}

func appendDiffCase(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	opts := state.MemoryOptions{Allocator: memory.NewGoAllocator()}
	if seed%2 == 0 {
		opts.CompactMin, opts.OrderDropMin = 16, 8 // log compaction all the time
	}
	budget := &testBudget{}
	aOpts := opts
	aOpts.Budget = budget
	a, err := state.OpenMemoryTable(statetest.Schema, aOpts)
	require.NoError(t, err)
	b, err := state.OpenMemoryTable(statetest.Schema, opts)
	require.NoError(t, err)
	var trace []string
	where := func() string {
		tail := trace[max(0, len(trace)-40):]
		return fmt.Sprintf("seed=%d trace:\n%s", seed, strings.Join(tail, "\n"))
	}
	next := 0 // appended keys so far (with gaps)
	randKey := func() []byte {
		switch p := rng.IntN(10); {
		case p < 6 && next > 0:
			return appendedKey(rng.IntN(next + 1)) // never a key still to append
		case p < 8:
			return otherKey(1, rng.IntN(next+2))
		default:
			return otherKey(byte(rng.IntN(3)), rng.IntN(50))
		}
	}
	randRow := func(k []byte) appendRow {
		r := appendRow{k: string(k), v: rng.Int64N(1000), s: fmt.Sprint("s", rng.IntN(40)), sNull: rng.IntN(5) == 0}
		if r.sNull {
			r.s = ""
		}
		return r
	}
	type snapPair struct {
		a, b state.Snapshot
		e    state.Epoch
	}
	var snaps []snapPair
	var committed state.Epoch
	compare := func(what string, ra, rb state.Reader) {
		ks := make([][]byte, 1+rng.IntN(40))
		for i := range ks {
			ks[i] = randKey()
		}
		require.Equal(t, readGet(t, rb, ks), readGet(t, ra, ks), "%s get\n%s", what, where())
		var kr state.KeyRange
		if rng.IntN(3) > 0 {
			kr.Start = randKey()
		}
		if rng.IntN(3) > 0 {
			kr.End = randKey()
		}
		require.Equal(t, readScan(t, rb, kr), readScan(t, ra, kr), "%s scan [%x, %x)\n%s", what, kr.Start, kr.End, where())
	}
	for op := 0; op < 1500; op++ {
		switch p := rng.IntN(100); {
		case p < 30: // append fresh keys
			n := 1 + rng.IntN(40)
			if rng.IntN(8) == 0 {
				n = 1 + rng.IntN(400)
			}
			rows := make([]appendRow, n)
			ks := make([][]byte, n)
			for i := range rows {
				next += 1 + rng.IntN(2)
				ks[i] = appendedKey(next)
				rows[i] = randRow(ks[i])
			}
			rec := appendBatch(rows)
			trace = append(trace, fmt.Sprintf("append %d up to %d", n, next))
			require.NoError(t, a.Append(ctx, ks, rec), where())
			require.NoError(t, b.Write(ctx, ks, nil, rec), where())
			rec.Release()
		case p < 50: // puts and deletes over any keys
			n := 1 + rng.IntN(30)
			rows := make([]appendRow, n)
			ks := make([][]byte, n)
			ops := make([]state.Op, n)
			for i := range rows {
				ks[i] = randKey()
				rows[i] = randRow(ks[i])
				if rng.IntN(2) == 0 {
					ops[i] = state.OpDelete
				}
			}
			rec := appendBatch(rows)
			trace = append(trace, fmt.Sprintf("write %d", n))
			require.NoError(t, a.Write(ctx, ks, ops, rec), where())
			require.NoError(t, b.Write(ctx, ks, ops, rec), where())
			rec.Release()
		case p < 55: // read-modify-write
			n := 1 + rng.IntN(20)
			ks := make([][]byte, n)
			for i := range ks {
				ks[i] = randKey()
			}
			del := rng.IntN(3)
			trace = append(trace, fmt.Sprintf("update %d", n))
			var seen [2][]string
			for ti, tbl := range []*state.MemoryTable{a, b} {
				require.NoError(t, tbl.Update(ctx, ks, func(cur state.Lookup) ([]state.Op, arrow.RecordBatch, error) {
					rows := make([]appendRow, n)
					ops := make([]state.Op, n)
					for i := range rows {
						rows[i] = appendRow{v: 1, sNull: true}
						if cur.Found[i] {
							seen[ti] = append(seen[ti], rowText(cur.Values, i))
							rows[i].v = cur.Values.Column(0).(*array.Int64).Value(i) + 1
							if i%3 == del {
								ops[i] = state.OpDelete
							}
						} else {
							seen[ti] = append(seen[ti], "-")
						}
					}
					return ops, appendBatch(rows), nil
				}), where())
			}
			require.Equal(t, seen[1], seen[0], "update saw\n%s", where())
		case p < 58: // range delete
			w := randKey()
			trace = append(trace, fmt.Sprintf("cleanBelow %x", w))
			require.NoError(t, a.CleanBelow(ctx, w))
			require.NoError(t, b.CleanBelow(ctx, w))
		case p < 70:
			committed += 1 + state.Epoch(rng.IntN(2))
			trace = append(trace, fmt.Sprintf("commit %d", committed))
			require.NoError(t, a.Commit(ctx, committed), where())
			require.NoError(t, b.Commit(ctx, committed), where())
		case p < 80:
			trace = append(trace, "read writer view")
			compare("writer", a, b)
		case p < 85:
			sa, err := a.Snapshot(committed)
			require.NoError(t, err)
			sb, err := b.Snapshot(committed)
			require.NoError(t, err)
			trace = append(trace, fmt.Sprintf("snapshot %d", committed))
			snaps = append(snaps, snapPair{sa, sb, committed})
		case p < 95:
			if len(snaps) == 0 {
				continue
			}
			s := snaps[rng.IntN(len(snaps))]
			trace = append(trace, fmt.Sprintf("read snapshot %d", s.e))
			compare(fmt.Sprintf("snapshot@%d", s.e), s.a, s.b)
		default:
			if len(snaps) == 0 {
				continue
			}
			i := rng.IntN(len(snaps))
			trace = append(trace, fmt.Sprintf("release %d", snaps[i].e))
			snaps[i].a.Release()
			snaps[i].b.Release()
			snaps = slices.Delete(snaps, i, i+1)
		}
	}
	compare("final", a, b)
	all := readScan(t, a, state.KeyRange{})
	require.Equal(t, readScan(t, b, state.KeyRange{}), all)
	for _, s := range snaps {
		s.a.Release()
		s.b.Release()
	}
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	require.Zero(t, budget.Used())
}

// TestMemoryAppendRefuses checks that Append refuses keys that break its
// promise and leaves the table as it was.
func TestMemoryAppendRefuses(t *testing.T) {
	ctx := context.Background()
	tbl, err := state.NewMemoryTable(statetest.Schema, memory.NewGoAllocator())
	require.NoError(t, err)
	defer tbl.Close()
	one := func(k []byte) ([][]byte, arrow.RecordBatch) {
		return [][]byte{k}, int64Batch(7)
	}
	ks, rec := one(appendedKey(5))
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	rec.Release()
	two := int64Batch(1, 2)
	defer two.Release()
	// Not ascending.
	require.Error(t, tbl.Append(ctx, [][]byte{appendedKey(9), appendedKey(8)}, two))
	// Already stored by Write.
	require.Error(t, tbl.Append(ctx, [][]byte{appendedKey(4), appendedKey(5)}, two))
	require.NoError(t, tbl.Append(ctx, [][]byte{appendedKey(6), appendedKey(7)}, two))
	// At or below the last appended key.
	require.Error(t, tbl.Append(ctx, [][]byte{appendedKey(7), appendedKey(8)}, two))
	require.Equal(t, []string{
		fmt.Sprintf("%x=7/NULL", appendedKey(5)),
		fmt.Sprintf("%x=1/NULL", appendedKey(6)),
		fmt.Sprintf("%x=2/NULL", appendedKey(7)),
	}, readScan(t, tbl, state.KeyRange{}))
}
