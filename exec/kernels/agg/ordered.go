package agg

import (
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// NewOrdered returns a retractable wrapper for an order-sensitive aggregate
// call (string_agg(x, ',' ORDER BY y), array_agg(x ORDER BY y DESC), …) in
// a streaming view. The arrays given to Update and Retract are the
// aggregate's arguments (argTypes) followed by its ORDER BY keys
// (orderTypes; orderDesc and nullsFirst per key, missing entries false).
//
// Each group keeps its rows sorted by the keys, rows with equal keys in
// arrival order; Retract removes the latest row equal to the given one in
// every column (exact representation, as seqBag). A group whose rows
// changed is marked dirty; reading its result feeds a fresh accumulator
// from mk its arguments in order, and that accumulator is kept until the
// group changes again.
//
// Cost: each row is held as Datums (boxed) plus its exact key; inserting
// into a group of k rows is O(log k) comparisons plus an O(k) copy (O(1)
// when rows arrive in key order), retracting O(log k + equal keys); reading
// a dirty group's result is O(k) plus building its Arrow input, and each
// group read keeps one inner accumulator.
func NewOrdered(argTypes []types.T, orderTypes []types.T, orderDesc, nullsFirst []bool, mk func() kernels.GroupedAcc) kernels.GroupedAcc {
	a := &orderedAcc{
		argTypes:   append([]types.T(nil), argTypes...),
		orderTypes: append([]types.T(nil), orderTypes...),
		desc:       make([]bool, len(orderTypes)),
		nullsFirst: make([]bool, len(orderTypes)),
		mk:         mk,
	}
	copy(a.desc, orderDesc)
	copy(a.nullsFirst, nullsFirst)
	a.allTypes = append(append([]types.T(nil), argTypes...), orderTypes...)
	kn, ok := mk().(nullKeeper)
	a.nullsIn = ok && kn.keepsNulls()
	return a
}

// keepsNulls reports whether the wrapped aggregate takes NULL arguments
// as input (for NewDistinct).
func (a *orderedAcc) keepsNulls() bool { return a.nullsIn }

type orderedAcc struct {
	argTypes, orderTypes, allTypes []types.T
	desc, nullsFirst               []bool
	mk                             func() kernels.GroupedAcc
	nullsIn                        bool
	groups                         []ordGroup
	seq                            uint64
	rows                           int64
	buf                            []byte
}

type ordGroup struct {
	rows  []ordRow // sorted by (order keys, seq)
	acc   kernels.GroupedAcc
	dirty bool
}

type ordRow struct {
	vals []types.Datum // arguments, then order keys
	key  string        // exact key of all columns
	seq  uint64
}

func (a *orderedAcc) Grow(n int) { a.groups = growTo(a.groups, n) }

func (a *orderedAcc) MemoryBytes() int64 {
	m := int64(cap(a.groups))*48 + a.rows*int64(48+24*len(a.allTypes))
	for i := range a.groups {
		if acc := a.groups[i].acc; acc != nil {
			m += acc.MemoryBytes()
		}
	}
	return m
}

// cmpKeys orders two rows by the ORDER BY keys alone.
func (a *orderedAcc) cmpKeys(x, y []types.Datum) int {
	na := len(a.argTypes)
	for c, t := range a.orderTypes {
		u, v := x[na+c], y[na+c]
		var r int
		switch {
		case u == nil && v == nil:
			continue
		case u == nil:
			r = 1
			if a.nullsFirst[c] {
				r = -1
			}
			return r
		case v == nil:
			r = -1
			if a.nullsFirst[c] {
				r = 1
			}
			return r
		}
		r = types.Compare(u, v, t)
		if a.desc[c] {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

// row reads row i of args as Datums and its exact key.
func (a *orderedAcc) row(args []arrow.Array, i int) ([]types.Datum, string) {
	vals := make([]types.Datum, len(args))
	a.buf = a.buf[:0]
	for k, col := range args {
		vals[k] = types.GetDatum(col, i, a.allTypes[k])
		a.buf = appendExactKey(a.buf, col, i)
	}
	return vals, string(a.buf)
}

func (a *orderedAcc) check(args []arrow.Array) error {
	if len(args) != len(a.allTypes) {
		return pgerror.Internal("ordered aggregate expects %d arguments and keys, got %d", len(a.allTypes), len(args))
	}
	return nil
}

func (a *orderedAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	if err := a.check(args); err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup {
			continue
		}
		vals, key := a.row(args, i)
		st := &a.groups[g]
		// After every row with keys <= the new row's: arrival order on ties.
		pos := sort.Search(len(st.rows), func(j int) bool { return a.cmpKeys(st.rows[j].vals, vals) > 0 })
		a.seq++
		st.rows = slices.Insert(st.rows, pos, ordRow{vals: vals, key: key, seq: a.seq})
		st.dirty = true
		a.rows++
	}
	return nil
}

func (a *orderedAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	if err := a.check(args); err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup {
			continue
		}
		vals, key := a.row(args, i)
		st := &a.groups[g]
		lo := sort.Search(len(st.rows), func(j int) bool { return a.cmpKeys(st.rows[j].vals, vals) >= 0 })
		hi := sort.Search(len(st.rows), func(j int) bool { return a.cmpKeys(st.rows[j].vals, vals) > 0 })
		for j := hi - 1; j >= lo; j-- {
			if st.rows[j].key == key {
				st.rows = slices.Delete(st.rows, j, j+1)
				st.dirty = true
				a.rows--
				break
			}
		}
	}
	return nil
}

// refresh rebuilds group g's inner accumulator when its rows changed.
func (a *orderedAcc) refresh(ctx *kernels.EvalContext, g uint32) error {
	st := &a.groups[g]
	if st.acc != nil && !st.dirty {
		return nil
	}
	acc := a.mk()
	acc.Grow(1)
	if len(st.rows) > 0 {
		cols := make([]arrow.Array, len(a.argTypes))
		for k, t := range a.argTypes {
			b := array.NewBuilder(memOf(ctx), types.ArrowType(t))
			for _, r := range st.rows {
				types.AppendDatum(b, r.vals[k], t)
			}
			cols[k] = b.NewArray()
			b.Release()
		}
		err := acc.Update(ctx, make([]uint32, len(st.rows)), cols)
		for _, c := range cols {
			c.Release()
		}
		if err != nil {
			return err
		}
	}
	st.acc, st.dirty = acc, false
	return nil
}

func (a *orderedAcc) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	if err := a.refresh(ctx, g); err != nil {
		return err
	}
	// The inner accumulator holds exactly one group: Finish appends it.
	return a.groups[g].acc.Finish(ctx, b)
}

func (a *orderedAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.groups), b)
}
