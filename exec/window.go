package exec

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Window materializes its input and computes each window call: rows are
// ordered by PARTITION BY then ORDER BY (a stable sort of row indices),
// partitions and peer groups are found on that order, and every row gets
// its value from its partition and frame. Results are scattered back, so
// the output keeps the input's row order with one extra column per call.
//
// Aggregates over frames use, in order of preference: a running
// accumulator (GroupResulter) when frames only grow, add/retract
// (Retractor + GroupResulter) for sliding frames, else recomputation per
// distinct frame.
type Window struct {
	opBase
	input Operator
	node  *planner.Window
	calls []*winCall
	buf   buffer
	dataT []types.T

	done bool
	out  []arrow.Array
	rows int
	pos  int
}

type winCall struct {
	call       *planner.WindowCall
	args       []*Evaluator
	argT       []types.T
	filter     *Evaluator
	part       []*Evaluator
	order      []*Evaluator
	start, end frameBound
}

// frameBound is a frame bound with its offset evaluated.
type frameBound struct {
	kind    planner.BoundKind
	n       int64          // ROWS/GROUPS offset
	num     float64        // RANGE offset over floats
	numText string         // RANGE offset over numerics (exact)
	iv      types.Interval // RANGE offset over timestamps
	isIv    bool
}

func newWindow(env *Env, n *planner.Window, input Operator) (*Window, error) {
	in := n.Input.Schema()
	w := &Window{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, input: input, node: n, dataT: in.Types()}
	w.buf.base = &w.opBase
	for i := range n.Calls {
		c := &n.Calls[i]
		wc := &winCall{call: c}
		var err error
		if wc.args, err = compileAll(env, c.Args, in); err != nil {
			return nil, err
		}
		for _, a := range c.Args {
			wc.argT = append(wc.argT, a.Type())
		}
		if c.Filter != nil {
			if wc.filter, err = Compile(env, c.Filter, in); err != nil {
				return nil, err
			}
		}
		if wc.part, err = compileAll(env, c.PartitionBy, in); err != nil {
			return nil, err
		}
		ord := make([]planner.Expr, len(c.OrderBy))
		for k, o := range c.OrderBy {
			ord[k] = o.E
		}
		if wc.order, err = compileAll(env, ord, in); err != nil {
			return nil, err
		}
		if c.Agg == nil {
			switch strings.ToLower(c.Name) {
			case "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
				"lag", "lead", "first_value", "last_value", "nth_value":
			default:
				return nil, pgerror.Unsupported("window function %s is not supported", c.Name)
			}
		}
		w.track(wc.args...)
		w.track(wc.filter)
		w.track(wc.part...)
		w.track(wc.order...)
		w.calls = append(w.calls, wc)
	}
	if len(n.Out) != len(in)+len(n.Calls) {
		return nil, pgerror.Internal("window output has %d columns, want %d", len(n.Out), len(in)+len(n.Calls))
	}
	return w, nil
}

// Init initializes the input.
func (w *Window) Init(ctx context.Context) error { w.initBase(ctx); return w.input.Init(w.ctx) }

func (w *Window) evalBound(b planner.FrameBound, mode planner.FrameMode, start bool) (frameBound, error) {
	fb := frameBound{kind: b.Kind}
	if b.Kind != planner.OffsetPreceding && b.Kind != planner.OffsetFollowing {
		return fb, nil
	}
	if b.Offset == nil {
		return fb, pgerror.Internal("frame offset missing")
	}
	d, err := constDatum(w.ctx, w.env, b.Offset)
	if err != nil {
		return fb, err
	}
	which := "ending"
	if start {
		which = "starting"
	}
	if d == nil {
		return fb, pgerror.New(pgerror.NullValueNotAllowed, "frame %s offset must not be null", which)
	}
	neg := false
	switch v := d.(type) {
	case int64:
		fb.n, fb.num, fb.numText, neg = v, float64(v), fmt.Sprint(v), v < 0
	case float64:
		fb.num, fb.n, fb.numText, neg = v, int64(v), fmt.Sprint(v), v < 0
	case *apd.Decimal:
		f, _ := v.Float64()
		fb.num, fb.numText, neg = f, v.String(), v.Negative
		if i, err := v.Int64(); err == nil {
			fb.n = i
		}
	case types.Interval:
		fb.iv, fb.isIv = v, true
		neg = v.Months < 0 || v.Days < 0 || v.Micros < 0
	default:
		return fb, pgerror.Unsupported("frame offset of type %T is not supported", d)
	}
	if neg {
		return fb, pgerror.New("22013", "frame %s offset must not be negative", which)
	}
	return fb, nil
}

// Next returns the next batch of input rows with their window values.
func (w *Window) Next() (arrow.RecordBatch, error) {
	if !w.done {
		w.done = true
		if err := w.compute(); err != nil {
			return nil, err
		}
	}
	if err := w.checkCtx(); err != nil {
		return nil, err
	}
	if w.pos >= w.rows {
		return nil, nil
	}
	end := min(w.rows, w.pos+w.env.batchSize())
	cols := make([]arrow.Array, len(w.out))
	for i, a := range w.out {
		cols[i] = array.NewSlice(a, int64(w.pos), int64(end))
	}
	n := end - w.pos
	w.pos = end
	return w.emit(newBatch(w.schema, cols, n)), nil
}

func (w *Window) compute() error {
	for _, wc := range w.calls {
		var err error
		if wc.start, err = w.evalBound(wc.call.Frame.Start, wc.call.Frame.Mode, true); err != nil {
			return err
		}
		if wc.end, err = w.evalBound(wc.call.Frame.End, wc.call.Frame.Mode, false); err != nil {
			return err
		}
	}
	for {
		if err := w.checkCtx(); err != nil {
			return err
		}
		b, err := w.input.Next()
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		if err := w.buf.add(b); err != nil {
			return err
		}
	}
	w.rows = w.buf.rows
	data, _, err := w.buf.concat(w.env.alloc(), w.dataT)
	w.buf.reset()
	if err != nil {
		return err
	}
	w.out = data
	all := newBatch(arrowSchema(w.node.Input.Schema()), retainAll(data), w.rows)
	defer all.Release()
	// Calls over the same window (PARTITION BY + ORDER BY) share one sort.
	type cached struct {
		l         *layout
		orderCols []arrow.Array
	}
	layouts := map[string]cached{}
	defer func() {
		for _, c := range layouts {
			releaseAll(c.orderCols)
		}
	}()
	for i, wc := range w.calls {
		if err := w.checkCtx(); err != nil {
			return err
		}
		key := windowKey(wc.call)
		c, ok := layouts[key]
		if !ok {
			l, orderCols, err := w.layoutFor(all, wc)
			if err != nil {
				return err
			}
			c = cached{l, orderCols}
			layouts[key] = c
		}
		res, err := w.computeCall(all, wc, c.l, c.orderCols)
		if err != nil {
			return err
		}
		if res, err = conform(w.env, res, wc.call.T, w.node.Out[len(w.dataT)+i].T); err != nil {
			return err
		}
		w.out = append(w.out, res)
		if err := w.grow(arrayBytes(res)); err != nil {
			return err
		}
	}
	return nil
}

func retainAll(as []arrow.Array) []arrow.Array {
	for _, a := range as {
		a.Retain()
	}
	return as
}

// layout describes the sorted rows of one window call.
type layout struct {
	perm   []int32 // sorted position → input row
	pstart []int32 // partition start of each sorted position
	pend   []int32 // partition end (exclusive)
	gstart []int32 // peer group start
	gend   []int32 // peer group end (exclusive)
	gnum   []int32 // peer group number within the partition
	groups [][2]int32
	part   []int32 // partition number
}

func (w *Window) layoutFor(all arrow.RecordBatch, wc *winCall) (*layout, []arrow.Array, error) {
	n := w.rows
	partCols, err := evalList(w.ctx, wc.part, all)
	if err != nil {
		return nil, nil, err
	}
	defer releaseAll(partCols)
	orderCols, err := evalList(w.ctx, wc.order, all)
	if err != nil {
		return nil, nil, err
	}
	keys := append(append([]arrow.Array{}, partCols...), orderCols...)
	var vk []vec.SortKey
	for i, e := range wc.call.PartitionBy {
		vk = append(vk, vec.SortKey{Col: i, T: e.Type()})
	}
	for i, o := range wc.call.OrderBy {
		vk = append(vk, vec.SortKey{Col: len(partCols) + i, Desc: o.Desc, NullsFirst: o.NullsFirst, T: o.E.Type()})
	}
	l := &layout{}
	if len(keys) > 0 && n > 0 {
		l.perm = vec.SortIndices(keys, vk)
	} else {
		l.perm = seqIdx(n)
	}
	if err := w.grow(int64(n) * 28); err != nil {
		releaseAll(orderCols)
		return nil, nil, err
	}
	var pe, oe vec.KeyEncoder
	for _, e := range wc.call.PartitionBy {
		pe.Types = append(pe.Types, e.Type())
	}
	for _, o := range wc.call.OrderBy {
		oe.Types = append(oe.Types, o.E.Type())
	}
	if len(partCols) > 0 {
		pe.Encode(partCols)
	}
	if len(orderCols) > 0 {
		oe.Encode(orderCols)
	}
	l.pstart, l.pend = make([]int32, n), make([]int32, n)
	l.gstart, l.gend, l.gnum = make([]int32, n), make([]int32, n), make([]int32, n)
	l.part = make([]int32, n)
	ps, gs, g, p := 0, 0, int32(0), int32(-1)
	for k := 0; k <= n; k++ {
		newPart := k == n || k == 0 || (len(partCols) > 0 && !bytes.Equal(pe.Key(int(l.perm[k])), pe.Key(int(l.perm[k-1]))))
		newGroup := newPart || (len(orderCols) > 0 && !bytes.Equal(oe.Key(int(l.perm[k])), oe.Key(int(l.perm[k-1]))))
		if newGroup && k > 0 {
			for j := gs; j < k; j++ {
				l.gstart[j], l.gend[j], l.gnum[j] = int32(gs), int32(k), g
			}
			g++
			gs = k
		}
		if newPart {
			if k > 0 {
				for j := ps; j < k; j++ {
					l.pstart[j], l.pend[j] = int32(ps), int32(k)
				}
			}
			ps, g = k, 0
			p++
		}
		if k < n {
			l.part[k] = p
		}
	}
	return l, orderCols, nil
}

// computeCall returns the call's values in input row order.
func (w *Window) computeCall(all arrow.RecordBatch, wc *winCall, l *layout, orderCols []arrow.Array) (arrow.Array, error) {
	args, err := evalList(w.ctx, wc.args, all)
	if err != nil {
		return nil, err
	}
	defer releaseAll(args)
	n := w.rows
	mem := w.env.alloc()
	t := wc.call.T
	if wc.call.Agg != nil {
		sorted, err := w.frameAgg(all, wc, l, orderCols, args)
		if err != nil {
			return nil, err
		}
		defer sorted.Release()
		return scatter(sorted, l.perm), nil
	}
	name := strings.ToLower(wc.call.Name)
	switch name {
	case "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile":
		bld := array.NewBuilder(mem, types.ArrowType(t))
		defer bld.Release()
		for k := 0; k < n; k++ {
			ps, pe := int64(l.pstart[k]), int64(l.pend[k])
			rank := int64(l.gstart[k]) - ps + 1
			var d types.Datum
			switch name {
			case "row_number":
				d = int64(k) - ps + 1
			case "rank":
				d = rank
			case "dense_rank":
				d = int64(l.gnum[k]) + 1
			case "percent_rank":
				if pe-ps <= 1 {
					d = 0.0
				} else {
					d = float64(rank-1) / float64(pe-ps-1)
				}
			case "cume_dist":
				d = float64(int64(l.gend[k])-ps) / float64(pe-ps)
			case "ntile":
				if len(args) != 1 || args[0].IsNull(int(l.perm[k])) {
					d = nil
					break
				}
				bk, _ := types.GetDatum(args[0], int(l.perm[k]), wc.argT[0]).(int64)
				if bk <= 0 {
					return nil, pgerror.New("22014", "argument of ntile must be greater than zero")
				}
				d = ntile(int64(k)-ps, pe-ps, bk)
			}
			types.AppendDatum(bld, d, t)
		}
		sorted := bld.NewArray()
		defer sorted.Release()
		return scatter(sorted, l.perm), nil
	case "lag", "lead":
		return w.lagLead(wc, l, args, name == "lead")
	default: // first_value, last_value, nth_value
		src := make([]int32, n)
		for k := 0; k < n; k++ {
			fs, fe := w.frame(wc, l, k, orderCols)
			pos := -1
			switch name {
			case "first_value":
				if fs < fe {
					pos = fs
				}
			case "last_value":
				if fs < fe {
					pos = fe - 1
				}
			case "nth_value":
				row := int(l.perm[k])
				if len(args) < 2 || args[1].IsNull(row) {
					break
				}
				nth, _ := types.GetDatum(args[1], row, wc.argT[1]).(int64)
				if nth <= 0 {
					return nil, pgerror.New("22016", "argument of nth_value must be greater than zero")
				}
				if nth <= int64(fe-fs) {
					pos = fs + int(nth) - 1
				}
			}
			if pos >= 0 {
				src[l.perm[k]] = l.perm[pos]
			} else {
				src[l.perm[k]] = -1
			}
		}
		if len(args) == 0 {
			return nil, pgerror.Internal("%s without argument", name)
		}
		return takeArr(args[0], src), nil
	}
}

// windowKey identifies a call's window (partitioning and ordering).
func windowKey(c *planner.WindowCall) string {
	var sb strings.Builder
	for _, e := range c.PartitionBy {
		sb.WriteString(e.String())
		sb.WriteByte(',')
	}
	sb.WriteByte('/')
	for _, k := range c.OrderBy {
		fmt.Fprintf(&sb, "%s %v %v,", k.E, k.Desc, k.NullsFirst)
	}
	return sb.String()
}

// ntile returns the bucket (1-based) of 0-based row i of a partition of
// size rows split into b buckets, the first rows%b buckets one row larger.
func ntile(i, rows, b int64) int64 {
	if b > rows {
		return i + 1
	}
	size, extra := rows/b, rows%b
	big := extra * (size + 1)
	if i < big {
		return i/(size+1) + 1
	}
	return extra + (i-big)/size + 1
}

// scatter reorders values given in sorted order back to input order.
func scatter(sorted arrow.Array, perm []int32) arrow.Array {
	inv := make([]int32, len(perm))
	for k, p := range perm {
		inv[p] = int32(k)
	}
	return takeArr(sorted, inv)
}

func (w *Window) lagLead(wc *winCall, l *layout, args []arrow.Array, lead bool) (arrow.Array, error) {
	n := w.rows
	if len(args) == 0 {
		return nil, pgerror.Internal("lag/lead without argument")
	}
	// Index into value ++ default: rows ≥ n pick the default of row-n.
	src := make([]int32, n)
	useDefault := len(args) >= 3
	for k := 0; k < n; k++ {
		row := int(l.perm[k])
		off := int64(1)
		if len(args) >= 2 {
			if args[1].IsNull(row) {
				src[row] = -1
				continue
			}
			off, _ = types.GetDatum(args[1], row, wc.argT[1]).(int64)
		}
		if lead {
			off = -off
		}
		target := int64(k) - off
		if target >= int64(l.pstart[k]) && target < int64(l.pend[k]) {
			src[row] = l.perm[target]
		} else if useDefault {
			src[row] = int32(n + row)
		} else {
			src[row] = -1
		}
	}
	vals := args[0]
	if useDefault {
		def := args[2]
		if !arrow.TypeEqual(def.DataType(), vals.DataType()) {
			return nil, pgerror.Internal("lag/lead default of another type")
		}
		both, err := concatArrs(w.env.alloc(), []arrow.Array{vals, def})
		if err != nil {
			return nil, err
		}
		defer both.Release()
		return takeArr(both, src), nil
	}
	return takeArr(vals, src), nil
}

// frame returns the frame [fs, fe) of sorted position k.
func (w *Window) frame(wc *winCall, l *layout, k int, orderCols []arrow.Array) (int, int) {
	ps, pe := int(l.pstart[k]), int(l.pend[k])
	mode := wc.call.Frame.Mode
	var fs, fe int
	bound := func(b frameBound, start bool) int {
		switch b.kind {
		case planner.UnboundedPreceding:
			return ps
		case planner.UnboundedFollowing:
			return pe
		case planner.CurrentRow:
			switch mode {
			case planner.FrameRows:
				if start {
					return k
				}
				return k + 1
			default:
				if start {
					return int(l.gstart[k])
				}
				return int(l.gend[k])
			}
		}
		preceding := b.kind == planner.OffsetPreceding
		switch mode {
		case planner.FrameRows:
			// Offsets beyond the partition saturate (no int64 overflow).
			off := min(b.n, int64(pe-ps)+1)
			if preceding {
				off = -off
			}
			pos := int64(k) + off
			if !start {
				pos++
			}
			return int(max(int64(ps), min(int64(pe), pos)))
		case planner.FrameGroups:
			return groupBound(l, k, b.n, preceding, start)
		}
		return w.rangeBound(wc, l, k, b, preceding, start, orderCols)
	}
	fs = bound(wc.start, true)
	fe = bound(wc.end, false)
	if fe < fs {
		fe = fs
	}
	return fs, fe
}

// groupBound finds a GROUPS-mode bound: the start (or end) of the peer
// group off groups before/after k's group, clamped to the partition.
func groupBound(l *layout, k int, off int64, preceding, start bool) int {
	ps, pe := int(l.pstart[k]), int(l.pend[k])
	target := int64(l.gnum[k])
	off = min(off, int64(pe-ps)+1) // saturate: no overflow
	if preceding {
		target -= off
	} else {
		target += off
	}
	if target < 0 {
		return ps
	}
	// Walk groups from k's group (groups are contiguous).
	pos := int(l.gstart[k])
	g := int64(l.gnum[k])
	for g < target {
		if int(l.gend[pos]) >= pe {
			return pe
		}
		pos = int(l.gend[pos])
		g++
	}
	for g > target {
		pos = int(l.gstart[pos-1])
		g--
	}
	if start {
		return pos
	}
	return int(l.gend[pos])
}

// rangeBound finds a RANGE offset bound by binary search over the
// partition's non-NULL order values (single ORDER BY key).
func (w *Window) rangeBound(wc *winCall, l *layout, k int, b frameBound, preceding, start bool, orderCols []arrow.Array) int {
	ps, pe := int(l.pstart[k]), int(l.pend[k])
	if len(orderCols) != 1 {
		return ps
	}
	col := orderCols[0]
	ot := wc.call.OrderBy[0].E.Type()
	desc := wc.call.OrderBy[0].Desc
	cur := int(l.perm[k])
	if col.IsNull(cur) {
		if start {
			return int(l.gstart[k])
		}
		return int(l.gend[k])
	}
	// Non-NULL region of the partition.
	lo, hi := ps, pe
	for lo < hi && col.IsNull(int(l.perm[lo])) {
		lo++
	}
	for hi > lo && col.IsNull(int(l.perm[hi-1])) {
		hi--
	}
	// cmp(p) compares row p's value with the bound value v ∓ offset (moving
	// in the direction of the sort), exactly for each kind of key.
	sub := preceding != desc
	var cmp func(p int) int
	switch x := col.(type) {
	case *array.Float32, *array.Float64:
		v := orderValue(col, cur, ot)
		lim := v + b.num
		if sub {
			lim = v - b.num
		}
		cmp = func(p int) int {
			y := orderValue(x, int(l.perm[p]), ot)
			switch {
			case y < lim:
				return -1
			case y > lim:
				return 1
			}
			return 0
		}
	case *array.String: // numeric
		v, _, err := apd.NewFromString(x.Value(cur))
		if err != nil {
			return ps
		}
		off, _, _ := apd.NewFromString(b.numText)
		if off == nil {
			off = apd.New(b.n, 0)
		}
		lim := new(apd.Decimal)
		c := apd.BaseContext.WithPrecision(1000)
		if sub {
			c.Sub(lim, v, off)
		} else {
			c.Add(lim, v, off)
		}
		cmp = func(p int) int {
			y, _, err := apd.NewFromString(x.Value(int(l.perm[p])))
			if err != nil {
				return 0
			}
			return y.Cmp(lim)
		}
	default: // integers, date, time, timestamps: exact int64
		v, ok := orderInt(col, cur)
		if !ok {
			return ps
		}
		var lim int64
		if b.isIv {
			iv := b.iv
			if sub {
				iv = types.Interval{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
			}
			loc := time.UTC
			if ot.Family == types.FamTimestampTZ {
				loc = w.env.evalCtx().Ctx.Location()
			}
			lim = addInterval(v, iv, loc)
		} else if sub {
			lim = satAdd(v, -b.n)
		} else {
			lim = satAdd(v, b.n)
		}
		cmp = func(p int) int {
			y, _ := orderInt(col, int(l.perm[p]))
			switch {
			case y < lim:
				return -1
			case y > lim:
				return 1
			}
			return 0
		}
	}
	// before(p): row p sorts strictly before the bound (start) or at or
	// before it (end); rows are sorted, so this is a prefix.
	before := func(p int) bool {
		c := cmp(p)
		if desc {
			c = -c
		}
		if start {
			return c < 0
		}
		return c <= 0
	}
	return lo + sort.Search(hi-lo, func(i int) bool { return !before(lo + i) })
}

// satAdd adds without wrapping around.
func satAdd(a, b int64) int64 {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// orderInt reads an integer-like ORDER BY value (dates as microseconds, so
// interval offsets apply).
func orderInt(a arrow.Array, i int) (int64, bool) {
	switch x := a.(type) {
	case *array.Int16:
		return int64(x.Value(i)), true
	case *array.Int32:
		return int64(x.Value(i)), true
	case *array.Int64:
		return x.Value(i), true
	case *array.Date32:
		return int64(x.Value(i)) * types.MicrosPerDay, true
	case *array.Timestamp:
		return int64(x.Value(i)), true
	case *array.Time64:
		return int64(x.Value(i)), true
	}
	return 0, false
}

// orderValue reads an ORDER BY value as a number for RANGE arithmetic.
func orderValue(a arrow.Array, i int, t types.T) float64 {
	switch x := a.(type) {
	case *array.Int16:
		return float64(x.Value(i))
	case *array.Int32:
		return float64(x.Value(i))
	case *array.Int64:
		return float64(x.Value(i))
	case *array.Float32:
		return float64(x.Value(i))
	case *array.Float64:
		return x.Value(i)
	case *array.Date32:
		return float64(int64(x.Value(i)) * types.MicrosPerDay)
	case *array.Timestamp:
		return float64(x.Value(i))
	case *array.Time64:
		return float64(x.Value(i))
	case *array.String:
		d, _, err := apd.NewFromString(x.Value(i))
		if err != nil {
			return math.NaN()
		}
		f, _ := d.Float64()
		return f
	}
	return 0
}

// frameAgg computes an aggregate over each row's frame, in sorted order.
func (w *Window) frameAgg(all arrow.RecordBatch, wc *winCall, l *layout, orderCols []arrow.Array, args []arrow.Array) (arrow.Array, error) {
	n := w.rows
	mem := w.env.alloc()
	ctx := w.env.evalCtx()
	fn := wc.call.Agg
	t := wc.call.T
	// Sorted copies of the arguments and the FILTER mask.
	sargs := make([]arrow.Array, len(args))
	for i, a := range args {
		sargs[i] = takeArr(a, l.perm)
	}
	defer releaseAll(sargs)
	var keep []bool
	if wc.filter != nil {
		m, err := wc.filter.Eval(w.ctx, all)
		if err != nil {
			return nil, err
		}
		bm, ok := m.(*array.Boolean)
		if !ok {
			m.Release()
			return nil, pgerror.Internal("window FILTER is not boolean")
		}
		keep = make([]bool, n)
		for k, p := range l.perm {
			keep[k] = bm.IsValid(int(p)) && bm.Value(int(p))
		}
		m.Release()
	}
	bld := array.NewBuilder(mem, types.ArrowType(t))
	defer bld.Release()
	if s, e, ok := shiftFrame(wc); ok {
		return w.shiftedAgg(wc, l, sargs, keep, s, e)
	}
	probe := fn.New(wc.argT, t)
	_, resulter := probe.(kernels.GroupResulter)
	_, retractor := probe.(kernels.Retractor)
	growOnly := wc.start.kind == planner.UnboundedPreceding

	var acc kernels.GroupedAcc
	curPart := int32(-1)
	cs, ce := 0, 0 // rows currently in acc (sorted positions)
	var accMem int64
	defer func() { w.shrink(accMem) }()
	var groupsBuf []uint32
	sl := make([]arrow.Array, len(sargs))
	feed := func(lo, hi int, retract bool) error {
		if hi <= lo {
			return nil
		}
		groupsBuf = append(groupsBuf[:0], make([]uint32, hi-lo)...)
		groups := groupsBuf
		if keep != nil {
			for i := range groups {
				if !keep[lo+i] {
					groups[i] = kernels.NoGroup
				}
			}
		}
		for i, a := range sargs {
			sl[i] = array.NewSlice(a, int64(lo), int64(hi))
		}
		defer releaseAll(sl)
		if retract {
			return acc.(kernels.Retractor).Retract(ctx, groups, sl)
		}
		return acc.Update(ctx, groups, sl)
	}
	// Frames that end at the partition's end and only shrink (start moves
	// forward) are swept backwards so they grow: one running accumulator
	// per partition instead of recomputation (not for order-sensitive
	// aggregates, which would see their rows reversed).
	if resulter && !retractor && !growOnly && wc.end.kind == planner.UnboundedFollowing && !fn.OrderSensitive {
		pos := make([]int32, n)
		next := int32(0)
		for k := n - 1; k >= 0; {
			if err := w.checkCtx(); err != nil {
				return nil, err
			}
			ps := int(l.pstart[k])
			acc = fn.New(wc.argT, t)
			acc.Grow(1)
			cs := int(l.pend[k]) // rows [cs, pend) are in acc
			for ; k >= ps; k-- {
				fs, _ := w.frame(wc, l, k, orderCols)
				if fs < cs {
					if err := feed(fs, cs, false); err != nil {
						return nil, err
					}
					cs = fs
				}
				if err := acc.(kernels.GroupResulter).AppendResult(ctx, 0, bld); err != nil {
					return nil, err
				}
				pos[k] = next
				next++
			}
			if d := acc.MemoryBytes() - accMem; d > 0 {
				if err := w.grow(d); err != nil {
					return nil, err
				}
				accMem += d
			}
		}
		rev := bld.NewArray()
		defer rev.Release()
		return takeArr(rev, pos), nil
	}
	lastFs, lastFe := -1, -1
	var lastVal arrow.Array
	defer func() {
		if lastVal != nil {
			lastVal.Release()
		}
	}()
	for k := 0; k < n; k++ {
		if k%1024 == 0 {
			if err := w.checkCtx(); err != nil {
				return nil, err
			}
		}
		fs, fe := w.frame(wc, l, k, orderCols)
		switch {
		case resulter && (growOnly || retractor):
			if l.part[k] != curPart {
				curPart = l.part[k]
				acc = fn.New(wc.argT, t)
				acc.Grow(1)
				cs, ce = fs, fs
			}
			if fe < ce || fs < cs {
				// Frame moved backwards (cannot happen for monotone bounds): rebuild.
				acc = fn.New(wc.argT, t)
				acc.Grow(1)
				cs, ce = fs, fs
			}
			if fs >= ce {
				if cs < ce && !growOnly {
					if err := feed(cs, ce, true); err != nil {
						return nil, err
					}
				}
				cs, ce = fs, fs
			}
			if err := feed(ce, fe, false); err != nil {
				return nil, err
			}
			ce = max(ce, fe)
			if fs > cs {
				if err := feed(cs, fs, true); err != nil {
					return nil, err
				}
				cs = fs
			}
			if err := acc.(kernels.GroupResulter).AppendResult(ctx, 0, bld); err != nil {
				return nil, err
			}
			if d := acc.MemoryBytes() - accMem; d > 0 {
				if err := w.grow(d); err != nil {
					return nil, err
				}
				accMem += d
			}
		default:
			if fs != lastFs || fe != lastFe {
				a := fn.New(wc.argT, t)
				a.Grow(1)
				acc = a
				if err := feed(fs, fe, false); err != nil {
					return nil, err
				}
				one := array.NewBuilder(mem, types.ArrowType(t))
				if err := a.Finish(ctx, one); err != nil {
					one.Release()
					return nil, err
				}
				if lastVal != nil {
					lastVal.Release()
				}
				lastVal = one.NewArray()
				one.Release()
				lastFs, lastFe = fs, fe
			}
			types.AppendDatum(bld, types.GetDatum(lastVal, 0, t), t)
		}
	}
	return bld.NewArray(), nil
}

// Close frees the materialized rows and closes the input.
func (w *Window) Close() error {
	w.closeBase()
	w.buf.reset()
	releaseAll(w.out)
	w.out = nil
	return w.input.Close()
}

// maxShiftWidth bounds the ROWS frames computed by shifting (one Update
// pass per frame row offset).
const maxShiftWidth = 64

// shiftFrame reports whether a call's frame is ROWS with both bounds at
// fixed offsets from the current row (s..e, negative = preceding) and a
// small width.
func shiftFrame(wc *winCall) (s, e int64, ok bool) {
	if wc.call.Frame.Mode != planner.FrameRows {
		return 0, 0, false
	}
	rel := func(b frameBound) (int64, bool) {
		switch b.kind {
		case planner.CurrentRow:
			return 0, true
		case planner.OffsetPreceding:
			return -b.n, true
		case planner.OffsetFollowing:
			return b.n, true
		}
		return 0, false
	}
	s, ok1 := rel(wc.start)
	e, ok2 := rel(wc.end)
	if !ok1 || !ok2 || s < -maxShiftWidth || e > maxShiftWidth || e-s+1 > maxShiftWidth {
		return 0, 0, false
	}
	return s, e, true
}

// shiftedAgg computes a fixed-offset ROWS frame aggregate with one group
// per output row: for each offset d in s..e (ascending, so every group sees
// its rows in frame order), row j is fed to group j-d when that row is in
// j's partition. This is e-s+1 vectorized Update passes instead of one
// call per row, and works for every aggregate.
func (w *Window) shiftedAgg(wc *winCall, l *layout, sargs []arrow.Array, keep []bool, s, e int64) (arrow.Array, error) {
	n := w.rows
	ctx := w.env.evalCtx()
	acc := wc.call.Agg.New(wc.argT, wc.call.T)
	acc.Grow(n)
	groups := make([]uint32, n)
	for d := s; d <= e; d++ {
		if err := w.checkCtx(); err != nil {
			return nil, err
		}
		for j := range groups {
			k := int64(j) - d
			if k < int64(l.pstart[j]) || k >= int64(l.pend[j]) || (keep != nil && !keep[j]) {
				groups[j] = kernels.NoGroup
			} else {
				groups[j] = uint32(k)
			}
		}
		if err := acc.Update(ctx, groups, sargs); err != nil {
			return nil, err
		}
	}
	if err := w.grow(acc.MemoryBytes()); err != nil {
		return nil, err
	}
	bld := array.NewBuilder(w.env.alloc(), types.ArrowType(wc.call.T))
	defer bld.Release()
	if err := acc.Finish(ctx, bld); err != nil {
		return nil, err
	}
	return bld.NewArray(), nil
}
