package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// countingBudget is a MemBudget fake: it counts reservations, refuses
// beyond limit (> 0) with a 53200 error naming the limit, and fails the
// test if more is released than was reserved.
type countingBudget struct {
	t     testing.TB
	limit int64
	used  int64
	peak  int64
}

func (b *countingBudget) Reserve(n int64) error {
	require.Positive(b.t, n, "Reserve of a non-positive amount")
	if b.limit > 0 && b.used+n > b.limit {
		return pgerror.New(pgerror.OutOfMemory, "out of memory: test budget limit of %d bytes", b.limit)
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return nil
}

func (b *countingBudget) Release(n int64) {
	require.Positive(b.t, n, "Release of a non-positive amount")
	b.used -= n
	require.GreaterOrEqual(b.t, b.used, int64(0), "released more than reserved")
}

// genRows returns a growing changelog over (k, ts, v) int8 rows: per epoch,
// perEpoch inserts of fresh rows (row i is k = i%keys, ts = 10i,
// v = 7919i%1000, i counted from first), deletes of every fourth row of
// the epoch before, with wmCol >= 0 a watermark on that column trailing the
// newest ts by 100, and a barrier.
func genRows(t testing.TB, epochs, perEpoch, first, keys, wmCol int) []Message {
	schema, _ := int8Schema("k", "ts", "v")
	var msgs []Message
	vals := func(i int) []*int64 {
		k, ts, v := int64(i%keys), int64(10*i), int64(7919*i%1000)
		return []*int64{&k, &ts, &v}
	}
	i := first
	for e := 1; e <= epochs; e++ {
		var rows []row
		if e > 1 {
			for j := i - perEpoch; j < i; j += 4 {
				rows = append(rows, row{op: Delete, vals: vals(j)})
			}
		}
		for n := 0; n < perEpoch; n++ {
			rows = append(rows, row{op: Insert, vals: vals(i)})
			i++
		}
		msgs = append(msgs, makeChunk(t, schema, rows))
		if wmCol >= 0 {
			msgs = append(msgs, Watermark{Col: wmCol, Value: int64(10*(i-1) - 100)})
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e)})
	}
	return msgs
}

func scriptOf(t testing.TB, msgs []Message) *etScript {
	s, _ := int8Schema("k", "ts", "v")
	return &etScript{schema: s, msgs: msgs}
}

// budgetCase builds one stateful executor over fresh inputs, charging b.
type budgetCase struct {
	name  string
	build func(t testing.TB, b MemBudget) Executor
}

const budgetEpochs, budgetRows = 8, 128

func budgetCases() []budgetCase {
	_, ts := int8Schema("k", "ts", "v")
	one := func(t testing.TB, wmCol int) Executor {
		return scriptOf(t, genRows(t, budgetEpochs, budgetRows, 0, 200, wmCol))
	}
	two := func(t testing.TB, shift int) (Executor, Executor) {
		return one(t, -1), scriptOf(t, genRows(t, budgetEpochs, budgetRows, shift, 200, -1))
	}
	return []budgetCase{
		{"HashJoin", func(t testing.TB, b MemBudget) Executor {
			l, r := two(t, 0)
			j, err := NewHashJoin(l, r, ts, ts, []int{0}, []int{0}, FullJoin)
			require.NoError(t, err)
			return j.WithMemBudget(b)
		}},
		{"HashJoinCond", func(t testing.TB, b MemBudget) Executor {
			l, r := two(t, 0)
			j, err := NewHashJoin(l, r, ts, ts, []int{0}, []int{0}, LeftJoin)
			require.NoError(t, err)
			j.WithCondition(func(l, r []types.Datum) (bool, error) { return l[2].(int64) < r[2].(int64), nil })
			return j.WithMemBudget(b)
		}},
		{"AsOfJoin", func(t testing.TB, b MemBudget) Executor {
			l, r := two(t, 3)
			j, err := NewAsOfJoin(l, r, ts, ts, []int{0}, []int{0}, 1, 1, ">=", 3, true)
			require.NoError(t, err)
			return j.WithMemBudget(b)
		}},
		{"TopN", func(t testing.TB, b MemBudget) Executor {
			x, err := NewTopN(one(t, -1), ts, []SortCol{{Col: 2}}, 5, 2, false)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"GroupTopN", func(t testing.TB, b MemBudget) Executor {
			x, err := NewGroupTopN(one(t, -1), ts, []int{0}, []SortCol{{Col: 2}}, "row_number", 2, true)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"OverWindow", func(t testing.TB, b MemBudget) Executor {
			s, _ := int8Schema("k", "ts", "v")
			out := arrow.NewSchema(append(append([]arrow.Field{}, s.Fields()...), types.ArrowField("s", types.Int8T)), nil)
			x, err := NewOverWindow(one(t, -1), ts, out, []int{0}, []SortCol{{Col: 1}}, rollingSum3)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"OverWindowLookback", func(t testing.TB, b MemBudget) Executor {
			s, _ := int8Schema("k", "ts", "v")
			out := arrow.NewSchema(append(append([]arrow.Field{}, s.Fields()...), types.ArrowField("s", types.Int8T)), nil)
			x, err := NewOverWindow(one(t, -1), ts, out, []int{0}, []SortCol{{Col: 1}}, rollingSum3)
			require.NoError(t, err)
			return x.WithLookback(2).WithMemBudget(b)
		}},
		{"SetOp", func(t testing.TB, b MemBudget) Executor {
			l, r := two(t, 40)
			x, err := NewSetOp(l, r, ts, "except", true)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"Session", func(t testing.TB, b MemBudget) Executor {
			x, err := NewSession(one(t, 1), ts, 1, ivMicros(5))
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"Hop", func(t testing.TB, b MemBudget) Executor {
			x, err := NewHop(one(t, 1), 1, ivMicros(5), ivMicros(20), types.Interval{})
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"DynamicFilter", func(t testing.TB, b MemBudget) Executor {
			rs, _ := int8Schema("x")
			var rmsgs []Message
			for e := 1; e <= budgetEpochs; e++ {
				switch e {
				case 1:
					rmsgs = append(rmsgs, makeChunk(t, rs, parseRows(t, "+ 500")))
				case 4:
					rmsgs = append(rmsgs, makeChunk(t, rs, parseRows(t, "U- 500\nU+ 300")))
				}
				rmsgs = append(rmsgs, Barrier{Epoch: uint64(e)})
			}
			x, err := NewDynamicFilter(one(t, -1), &etScript{schema: rs, msgs: rmsgs}, ts, 2, "<", types.Int8T)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"EOWC", func(t testing.TB, b MemBudget) Executor {
			x, err := NewEOWC(one(t, 1), ts, nil, 1)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
	}
}

// drainBudget pulls every message from e, rendering them, until the end or
// an error.
func drainBudget(e Executor) ([]string, error) {
	var out []string
	ctx := context.Background()
	for {
		m, err := e.Next(ctx)
		if err != nil || m == nil {
			return out, err
		}
		out = append(out, renderMsg(m)...)
		ReleaseMessage(m)
	}
}

// TestMemBudgetOperators runs every stateful executor over a growing input
// three times: unbudgeted (the reference), with an ample budget (same
// output, something was charged, all of it released by Close) and with a
// small one (Next fails with SQLSTATE 53200 naming the limit, and Close
// still releases everything).
func TestMemBudgetOperators(t *testing.T) {
	for _, tc := range budgetCases() {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.build(t, nil)
			want, err := drainBudget(ref)
			require.NoError(t, err)
			require.NoError(t, ref.Close())
			require.NotEmpty(t, want)

			ample := &countingBudget{t: t}
			x := tc.build(t, ample)
			got, err := drainBudget(x)
			require.NoError(t, err)
			require.Equal(t, want, got, "output with an ample budget differs")
			require.Positive(t, ample.peak, "nothing was charged")
			require.NoError(t, x.Close())
			require.Zero(t, ample.used, "Close left bytes reserved")

			small := &countingBudget{t: t, limit: 2048}
			x = tc.build(t, small)
			_, err = drainBudget(x)
			require.Error(t, err)
			require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err), "%v", err)
			require.Contains(t, err.Error(), "limit of 2048 bytes")
			// The code survives a caller's %w wrapping (the engine's view
			// failure reads it with pgerror.CodeOf).
			require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(fmt.Errorf("view v: %w", err)))
			require.LessOrEqual(t, small.used, small.limit)
			require.NoError(t, x.Close())
			require.Zero(t, small.used, "Close left bytes reserved")
		})
	}
}

// TestMemBudgetStateShrinks checks that deletes give memory back: after a
// join's inputs retract every row they inserted, the charge falls to a
// small fraction of its peak.
func TestMemBudgetStateShrinks(t *testing.T) {
	schema, ts := int8Schema("k", "ts", "v")
	const n = 20000
	side := func() Executor {
		var msgs []Message
		for _, op := range []string{"+", "-"} {
			for lo := 0; lo < n; lo += 1000 {
				b := array.NewInt64Builder(memory.DefaultAllocator)
				for i := lo; i < lo+1000; i++ {
					b.Append(int64(i))
				}
				a := b.NewArray()
				b.Release()
				ops := make([]Op, a.Len())
				for i := range ops {
					if op == "-" {
						ops[i] = Delete
					}
				}
				a.Retain()
				a.Retain()
				rb := array.NewRecordBatch(schema, []arrow.Array{a, a, a}, int64(a.Len()))
				a.Release()
				a.Release()
				a.Release()
				msgs = append(msgs, &Chunk{Batch: rb, Ops: ops})
			}
			msgs = append(msgs, Barrier{Epoch: uint64(len(op))})
		}
		return &etScript{schema: schema, msgs: msgs}
	}
	_ = ts
	b := &countingBudget{t: t}
	j, err := NewHashJoin(side(), side(), ts, ts, []int{0}, []int{0}, InnerJoin)
	require.NoError(t, err)
	j.WithMemBudget(b)
	ctx := context.Background()
	for {
		m, err := j.Next(ctx)
		require.NoError(t, err)
		if m == nil {
			break
		}
		ReleaseMessage(m)
	}
	require.Greater(t, b.peak, int64(n*2*24), "the peak holds both sides' rows")
	require.Less(t, b.used, b.peak/3, "retracted rows are released (used %d, peak %d)", b.used, b.peak)
	require.NoError(t, j.Close())
	require.Zero(t, b.used)
}

// fakeAccount mimics exec.MemAccount: Grow fails with a 53200 error whose
// detail names the limit.
type fakeAccount struct{ limit, used int64 }

func (a *fakeAccount) Grow(n int64) error {
	if a.used+n > a.limit {
		return pgerror.New(pgerror.OutOfMemory, "out of memory").
			WithDetail("query needs more than the memory limit of %d bytes", a.limit)
	}
	a.used += n
	return nil
}

func (a *fakeAccount) Shrink(n int64) { a.used -= n }

func TestAccountBudget(t *testing.T) {
	acct := &fakeAccount{limit: 100}
	b := AccountBudget(acct)
	require.NoError(t, b.Reserve(60))
	err := b.Reserve(60)
	require.Error(t, err)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "memory limit of 100 bytes")
	var pe *pgerror.Error
	require.True(t, errors.As(err, &pe))
	require.Equal(t, int64(60), acct.used, "a refused reservation reserves nothing")
	b.Release(60)
	require.Zero(t, acct.used)

	// Through an executor's charge the error names the executor too.
	c := memCharge{budget: b, what: "hash join"}
	require.NoError(t, c.set(80))
	err = c.set(120)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "hash join")
	require.Contains(t, err.Error(), "memory limit of 100 bytes")
	require.Equal(t, int64(80), acct.used)
	require.NoError(t, c.set(30))
	require.Equal(t, int64(30), acct.used)
	c.release()
	require.Zero(t, acct.used)
}

func TestMemLimit(t *testing.T) {
	parent := NewMemLimit("the server", 150, nil)
	a := NewMemLimit("materialized view a", 100, parent)
	b := NewMemLimit("materialized view b", 100, parent)
	require.NoError(t, a.Reserve(90))
	err := a.Reserve(20)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "materialized view a needs more than its memory limit of 100 bytes")
	require.NoError(t, b.Reserve(50))
	err = b.Reserve(20)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "the server")
	require.Equal(t, int64(50), b.Used(), "a refusal of the parent reserves nothing")
	require.Equal(t, int64(140), parent.Used())
	a.Release(90)
	b.Release(50)
	require.Zero(t, parent.Used())
	require.Equal(t, int64(140), parent.Peak())
	require.Equal(t, int64(90), a.Peak())
}

// TestHopMemBudgetBeforeExpansion: a hop of 100000 windows per row over a
// 128-row chunk would build a 12.8M-row chunk; with a 1 MiB budget the
// reservation of its estimate fails before anything is allocated.
func TestHopMemBudgetBeforeExpansion(t *testing.T) {
	b := &countingBudget{t: t, limit: 1 << 20}
	mem := &allocCounter{Allocator: memory.DefaultAllocator}
	h, err := NewHop(scriptOf(t, genRows(t, 1, 128, 0, 10, -1)), 1, ivMicros(1), ivMicros(100000), types.Interval{})
	require.NoError(t, err)
	h.WithAllocator(mem).WithMemBudget(b)
	_, err = h.Next(context.Background())
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err), "%v", err)
	require.Contains(t, err.Error(), "hop window")
	require.Zero(t, b.used)
	require.Zero(t, mem.total, "the expansion was allocated")
	require.NoError(t, h.Close())
}

// allocCounter counts the bytes allocated through it.
type allocCounter struct {
	memory.Allocator
	total int64
}

func (a *allocCounter) Allocate(n int) []byte {
	a.total += int64(n)
	return a.Allocator.Allocate(n)
}

// TestMemLimitConcurrent: views share a budget from their own goroutines;
// the limit holds at every moment and everything comes back.
func TestMemLimitConcurrent(t *testing.T) {
	parent := NewMemLimit("the server", 1000, nil)
	var wg sync.WaitGroup
	refused := make([]int, 4)
	for g := range refused {
		child := NewMemLimit(fmt.Sprintf("view %d", g), 400, parent)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []int64
			for i := range 2000 {
				n := int64(1 + (i*7+g)%90)
				if err := child.Reserve(n); err != nil {
					refused[g]++
				} else {
					held = append(held, n)
				}
				if len(held) > 5 || i%3 == 0 {
					for _, h := range held {
						child.Release(h)
					}
					held = held[:0]
				}
			}
			for _, h := range held {
				child.Release(h)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, parent.Used())
	require.LessOrEqual(t, parent.Peak(), int64(1000))
}
