package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// NewRetractableMinMax returns a min (or max) accumulator over values of t
// that also implements kernels.Retractor, for streaming views over inputs
// with deletes and for sliding window frames. Each group keeps the multiset
// of its values (memcomparable key → count), so memory grows with the
// number of distinct values per group; retracting the current extreme
// rescans that group's multiset. Batch queries should use the registry's
// min/max, which keep one value per group.
func NewRetractableMinMax(t types.T, max bool) kernels.GroupedAcc {
	return &retractMinMaxAcc{t: t, max: max}
}

type retractMinMaxAcc struct {
	t      types.T
	max    bool
	groups []mmGroup
	buf    []byte
}

type mmGroup struct {
	counts map[string]int64
	reps   map[string]types.Datum // latest value seen under each key
	best   string
}

func (a *retractMinMaxAcc) Grow(n int) { a.groups = growTo(a.groups, n) }

func (a *retractMinMaxAcc) MemoryBytes() int64 {
	m := int64(cap(a.groups)) * 48
	for i := range a.groups {
		for k := range a.groups[i].counts {
			m += int64(len(k))*2 + 64
		}
	}
	return m
}

func (a *retractMinMaxAcc) better(k, than string) bool {
	if a.max {
		return k > than
	}
	return k < than
}

func (a *retractMinMaxAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup || arg.IsNull(i) {
			continue
		}
		d := types.GetDatum(arg, i, a.t)
		a.buf = types.AppendKey(a.buf[:0], d, a.t)
		st := &a.groups[g]
		if st.counts == nil {
			st.counts = map[string]int64{}
			st.reps = map[string]types.Datum{}
		}
		k := string(a.buf)
		st.counts[k]++
		st.reps[k] = d
		if len(st.counts) == 1 || !a.better(st.best, k) {
			st.best = k
		}
	}
	return nil
}

func (a *retractMinMaxAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup || arg.IsNull(i) {
			continue
		}
		a.buf = types.AppendKey(a.buf[:0], types.GetDatum(arg, i, a.t), a.t)
		st := &a.groups[g]
		c, ok := st.counts[string(a.buf)]
		if !ok {
			continue // retracting a row never added: nothing to undo
		}
		if c > 1 {
			st.counts[string(a.buf)] = c - 1
			continue
		}
		delete(st.counts, string(a.buf))
		delete(st.reps, string(a.buf))
		if st.best == string(a.buf) {
			first := true
			for k := range st.counts {
				if first || a.better(k, st.best) {
					st.best, first = k, false
				}
			}
		}
	}
	return nil
}

func (a *retractMinMaxAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	st := &a.groups[g]
	if len(st.counts) == 0 {
		b.AppendNull()
		return nil
	}
	types.AppendDatum(b, st.reps[st.best], a.t)
	return nil
}

func (a *retractMinMaxAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.groups), b)
}
