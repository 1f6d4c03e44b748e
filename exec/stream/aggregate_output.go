package stream

import (
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// aggOut holds, for one aggregate of one generation, what a barrier needs
// to emit a group's change: its output as of the epoch's start ("old"),
// compared with and emitted beside its new result.
//
// Two implementations: cachedOut keeps every group's last emitted result
// in a typed slice (fixed-width results: float, integer, date/time), so the
// old result of a group costs nothing per row or touch, and the barrier
// swaps old and new results in one pass over the dirty groups, then
// compares and gathers them in sequential typed loops; capturedOut (any
// other result type) appends a group's result to a builder when the epoch
// first touches it.
//
// Call order per epoch: capture (first touches, before the rows change the
// accumulators), seed (groups loaded from spill, likewise), then at the
// barrier swap, changed, column; reset ends the epoch (also after an
// error).
type aggOut interface {
	grow(n int)
	// capture records the current result of groups gs, first touched in
	// this epoch, in order.
	capture(ctx *kernels.EvalContext, r kernels.GroupResulter, gs []uint32) error
	// seed makes the current result of groups gs (created with a state
	// loaded from spill) their old output.
	seed(ctx *kernels.EvalContext, r kernels.GroupResulter, gs []uint32) error
	// swap takes the epoch's new results news (row i: group ids[i], the
	// i-th group first touched this epoch): the old outputs are kept for
	// changed and column, news becomes the groups' output.
	swap(ids []uint32, news arrow.Array)
	// changed sets ch[i] when the old output of ids[i] and row i of news
	// differ as displayed (see sameValue).
	changed(news arrow.Array, ch []bool)
	// update is swap then changed (in one pass where it can).
	update(ids []uint32, news arrow.Array, ch []bool)
	// column builds the output column of rows idx, where idx[k] < d =
	// len(ids) is the old output of ids[idx[k]] and idx[k]-d ≥ 0 the row
	// of news.
	column(mem memory.Allocator, news arrow.Array, idx []int32) arrow.Array
	// reset drops the epoch's old values.
	reset()
	release()
	memoryBytes() int64
}

// newAggOut returns the aggOut for results of SQL type t.
func newAggOut(mem memory.Allocator, t types.T) aggOut {
	dt := types.ArrowType(t)
	switch dt.ID() {
	case arrow.FLOAT64:
		return &cachedOut[uint64]{dt: dt, mem: mem, float: 64}
	case arrow.FLOAT32:
		return &cachedOut[uint32]{dt: dt, mem: mem, float: 32}
	case arrow.INT64, arrow.TIME64, arrow.TIMESTAMP, arrow.DATE64, arrow.DURATION:
		return &cachedOut[uint64]{dt: dt, mem: mem}
	case arrow.INT32, arrow.DATE32, arrow.TIME32:
		return &cachedOut[uint32]{dt: dt, mem: mem}
	case arrow.INT16:
		return &cachedOut[uint16]{dt: dt, mem: mem}
	case arrow.INT8:
		return &cachedOut[uint8]{dt: dt, mem: mem}
	}
	return &capturedOut{t: t, b: array.NewBuilder(mem, dt)}
}

// floatBitsEqual is SQL equality of two float bit patterns (width 64 or
// 32) that differ: -0 = 0 and NaN = NaN.
func floatBitsEqual(a, b uint64, width uint8) bool {
	if width == 32 {
		x, y := math.Float32frombits(uint32(a)), math.Float32frombits(uint32(b))
		return x == y || (x != x && y != y)
	}
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	return x == y || (x != x && y != y)
}

// cachedOut keeps each group's last emitted result as raw bits T of a
// fixed-width Arrow type dt, its validity in a bitmap.
type cachedOut[T uint8 | uint16 | uint32 | uint64] struct {
	dt    arrow.DataType
	mem   memory.Allocator
	vals  []T
	valid []uint64 // bit g: group g's output is not NULL
	// float is the bit width of a float result (0: not a float), whose
	// different bit patterns may still be equal (-0 and 0, NaNs).
	float uint8
	seedB array.Builder // lazily, for seed

	// The epoch's old outputs, by dirty index (after swap).
	olds  []T
	oldOK []bool
}

func (c *cachedOut[T]) grow(n int) {
	if n <= len(c.vals) {
		return
	}
	c.vals = append(c.vals, make([]T, n-len(c.vals))...)
	if w := (n + 63) / 64; w > len(c.valid) {
		c.valid = append(c.valid, make([]uint64, w-len(c.valid))...)
	}
}

// fixedWidth marks the outputs whose capture is a no-op (see
// aggGen.folder).
func (c *cachedOut[T]) fixedWidth() {}

func (c *cachedOut[T]) isValid(g uint32) bool { return c.valid[g>>6]&(1<<(g&63)) != 0 }

func (c *cachedOut[T]) setValid(g uint32, ok bool) {
	if ok {
		c.valid[g>>6] |= 1 << (g & 63)
	} else {
		c.valid[g>>6] &^= 1 << (g & 63)
	}
}

func (c *cachedOut[T]) capture(*kernels.EvalContext, kernels.GroupResulter, []uint32) error {
	return nil
}

func (c *cachedOut[T]) seed(ctx *kernels.EvalContext, r kernels.GroupResulter, gs []uint32) error {
	if len(gs) == 0 {
		return nil
	}
	if c.seedB == nil {
		c.seedB = array.NewBuilder(c.mem, c.dt)
	}
	arr, err := appendResults(ctx, r, gs, c.seedB)
	if err != nil {
		return err
	}
	c.swap(gs, arr)
	c.reset()
	arr.Release()
	return nil
}

// view returns news' value bits and validity (vals nil: every row NULL).
func (c *cachedOut[T]) view(news arrow.Array, n int) (vals []T, vm []byte, off int) {
	if news.NullN() == news.Len() {
		return nil, nil, 0
	}
	vals = vec.Values[T](news)
	if len(vals) < n {
		return nil, nil, 0
	}
	vm, off = vec.Validity(news)
	return vals[:n], vm, off
}

func (c *cachedOut[T]) swap(ids []uint32, news arrow.Array) {
	d := len(ids)
	c.olds = resize(c.olds, d)
	c.oldOK = resize(c.oldOK, d)
	olds, oldOK := c.olds, c.oldOK
	nv, vm, off := c.view(news, d)
	switch {
	case nv == nil:
		for i, g := range ids {
			olds[i], oldOK[i] = c.vals[g], c.isValid(g)
			c.vals[g] = 0
			c.setValid(g, false)
		}
	case vm == nil:
		for i, g := range ids {
			olds[i], oldOK[i] = c.vals[g], c.isValid(g)
			c.vals[g] = nv[i]
			c.valid[g>>6] |= 1 << (g & 63)
		}
	default:
		for i, g := range ids {
			olds[i], oldOK[i] = c.vals[g], c.isValid(g)
			c.vals[g] = nv[i]
			c.setValid(g, bitutil.BitIsSet(vm, off+i))
		}
	}
}

func (c *cachedOut[T]) update(ids []uint32, news arrow.Array, ch []bool) {
	d := len(ids)
	nv, vm, _ := c.view(news, d)
	if nv == nil || vm != nil {
		c.swap(ids, news)
		c.changed(news, ch)
		return
	}
	// No NULL result: swap and compare in one pass.
	c.olds = resize(c.olds, d)
	c.oldOK = resize(c.oldOK, d)
	olds, oldOK, vals := c.olds, c.oldOK, c.vals
	ch = ch[:d]
	for i, g := range ids {
		old, ok, v := vals[g], c.isValid(g), nv[i]
		olds[i], oldOK[i] = old, ok
		vals[g] = v
		c.valid[g>>6] |= 1 << (g & 63)
		if !ok || old != v && (c.float == 0 || !floatBitsEqual(uint64(old), uint64(v), c.float)) {
			ch[i] = true
		}
	}
}

func (c *cachedOut[T]) changed(news arrow.Array, ch []bool) {
	d := len(c.olds)
	nv, vm, off := c.view(news, d)
	for i, ook := range c.oldOK[:d] {
		nok := nv != nil && (vm == nil || bitutil.BitIsSet(vm, off+i))
		if ook != nok {
			ch[i] = true
			continue
		}
		if !nok {
			continue
		}
		if a, b := c.olds[i], nv[i]; a != b && (c.float == 0 || !floatBitsEqual(uint64(a), uint64(b), c.float)) {
			ch[i] = true
		}
	}
}

func (c *cachedOut[T]) column(mem memory.Allocator, news arrow.Array, idx []int32) arrow.Array {
	var z T
	n, d := len(idx), len(c.olds)
	nv, vm, off := c.view(news, d)
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(z)))
	var dst []T
	if n > 0 {
		dst = arrow.GetData[T](buf.Bytes())[:n]
	}
	if nv != nil && vm == nil {
		// No NULL among the new results: gather without validity
		// bookkeeping; an old NULL (rare) sends the column through the
		// general loop below, which rewrites every row.
		olds, oldOK := c.olds[:d], c.oldOK[:d]
		allOK := true
		for k, x := range idx {
			if int(x) < d {
				dst[k] = olds[x]
				allOK = allOK && oldOK[x]
			} else {
				dst[k] = nv[int(x)-d]
			}
		}
		if allOK {
			return vec.WrapBuffers(c.dt, n, []*memory.Buffer{nil, buf}, nil, 0)
		}
	}
	var vb *memory.Buffer
	var bits []byte
	nulls := 0
	for k, x := range idx {
		var v T
		ok := false
		if int(x) < d {
			v, ok = c.olds[x], c.oldOK[x]
		} else if i := int(x) - d; nv != nil {
			v, ok = nv[i], vm == nil || bitutil.BitIsSet(vm, off+i)
		}
		dst[k] = v
		if ok {
			continue
		}
		if vb == nil {
			vb = memory.NewResizableBuffer(mem)
			vb.Resize(int(bitutil.BytesForBits(int64(n))))
			bits = vb.Bytes()
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
		bitutil.ClearBit(bits, k)
		dst[k] = 0
		nulls++
	}
	return vec.WrapBuffers(c.dt, n, []*memory.Buffer{vb, buf}, nil, nulls)
}

func (c *cachedOut[T]) reset() {
	c.olds, c.oldOK = c.olds[:0], c.oldOK[:0]
}

func (c *cachedOut[T]) release() {
	if c.seedB != nil {
		c.seedB.Release()
		c.seedB = nil
	}
}

func (c *cachedOut[T]) memoryBytes() int64 {
	var z T
	return int64(cap(c.vals))*int64(unsafe.Sizeof(z)) + int64(cap(c.valid))*8
}

// capturedOut appends each first-touched group's result to a builder.
type capturedOut struct {
	t    types.T
	b    array.Builder
	olds arrow.Array // built from b at the barrier
}

func (c *capturedOut) grow(int) {}

func (c *capturedOut) capture(ctx *kernels.EvalContext, r kernels.GroupResulter, gs []uint32) error {
	for _, g := range gs {
		if err := r.AppendResult(ctx, g, c.b); err != nil {
			return err
		}
	}
	return nil
}

func (c *capturedOut) seed(*kernels.EvalContext, kernels.GroupResulter, []uint32) error { return nil }

func (c *capturedOut) old() arrow.Array {
	if c.olds == nil {
		c.olds = c.b.NewArray()
	}
	return c.olds
}

func (c *capturedOut) swap([]uint32, arrow.Array) {}

func (c *capturedOut) update(_ []uint32, news arrow.Array, ch []bool) {
	c.changed(news, ch)
}

func (c *capturedOut) changed(news arrow.Array, ch []bool) {
	olds := c.old()
	for i := range olds.Len() {
		if !ch[i] && !sameValue(c.t, olds, i, news, i) {
			ch[i] = true
		}
	}
}

func (c *capturedOut) column(mem memory.Allocator, news arrow.Array, idx []int32) arrow.Array {
	both := vec.Concat(mem, []arrow.Array{c.old(), news})
	defer both.Release()
	return vec.Take(mem, both, idx)
}

func (c *capturedOut) reset() {
	if c.olds != nil {
		c.olds.Release()
		c.olds = nil
	}
	if c.b.Len() > 0 {
		c.b.NewArray().Release()
	}
}

func (c *capturedOut) release() {
	c.reset()
	c.b.Release()
}

func (c *capturedOut) memoryBytes() int64 { return 0 }

// GroupResultsAppender is an optional accumulator interface: the results
// of many groups in one call. A HashAggregate reads the new results of an
// epoch's changed groups through it when the accumulator has it (else one
// AppendResult per group, about 150 instructions each through a wrapper
// and an Arrow builder). Wrappers that keep no per-group state of their
// own should forward it.
type GroupResultsAppender interface {
	// AppendGroupResults appends the results of groups gs, in order, to b,
	// exactly as AppendResult would one group at a time.
	AppendGroupResults(ctx *kernels.EvalContext, gs []uint32, b array.Builder) error
}

// appendResults appends the results of groups gs to b and returns them as
// an array (b is empty again).
func appendResults(ctx *kernels.EvalContext, r kernels.GroupResulter, gs []uint32, b array.Builder) (arrow.Array, error) {
	b.Reserve(len(gs))
	if ga, ok := r.(GroupResultsAppender); ok {
		if err := ga.AppendGroupResults(ctx, gs, b); err != nil {
			b.NewArray().Release()
			return nil, err
		}
		return b.NewArray(), nil
	}
	for _, g := range gs {
		if err := r.AppendResult(ctx, g, b); err != nil {
			b.NewArray().Release()
			return nil, err
		}
	}
	return b.NewArray(), nil
}
