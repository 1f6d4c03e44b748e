package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Join executes every join kind. The right input is materialized (the build
// side); the left input streams (the probe side). With equi-keys the build
// rows are indexed by a hash table and each probe row visits only rows with
// an equal key (HashJoin); without keys every build row is a candidate
// (nested loop, see nestedloop.go). Candidate pairs are checked against the
// residual condition in batches, then the join kind decides what is output:
// matched pairs, unmatched probe rows (LEFT/FULL, ANTI), matched probe rows
// once (SEMI), and unmatched build rows at the end (RIGHT/FULL).
type Join struct {
	opBase
	node        *planner.Join
	kind        planner.JoinKind
	left, right Operator
	lkeys       []*Evaluator
	rkeys       []*Evaluator
	keyTypes    []types.T
	cond        *Evaluator
	condSchema  *arrow.Schema
	condNeed    []bool // columns the residual condition reads (nil: all)
	leftTypes   []types.T
	nested      bool

	// build side
	built    bool
	rcols    []arrow.Array
	rn       int
	ht       *i64Table
	hs       map[string]int32
	next     []int32
	rmatched []bool

	// probe state
	lb       arrow.RecordBatch
	lkeyArrs []arrow.Array
	lints    []int64
	lnull    []bool
	lenc     vec.KeyEncoder
	li       int
	chain    int32
	lmatched []bool
	heads    []int32
	rightPos int
	leftDone bool

	pl, pr []int32
}

func newJoin(env *Env, n *planner.Join, left, right Operator) (*Join, error) {
	j := &Join{opBase: opBase{env: env}, node: n, kind: n.Kind, left: left, right: right}
	if j.kind == planner.JoinCross {
		j.kind = planner.JoinInner
	}
	if len(n.LeftKeys) != len(n.RightKeys) {
		return nil, pgerror.Internal("join with %d left keys and %d right keys", len(n.LeftKeys), len(n.RightKeys))
	}
	var err error
	if j.lkeys, err = compileAll(env, n.LeftKeys, n.Left.Schema()); err != nil {
		return nil, err
	}
	if j.rkeys, err = compileAll(env, n.RightKeys, n.Right.Schema()); err != nil {
		return nil, err
	}
	for _, k := range n.LeftKeys {
		j.keyTypes = append(j.keyTypes, k.Type())
	}
	j.nested = len(n.LeftKeys) == 0
	both := append(append(planner.Schema{}, n.Left.Schema()...), n.Right.Schema()...)
	if n.Cond != nil {
		if j.cond, err = Compile(env, n.Cond, both); err != nil {
			return nil, err
		}
		j.condSchema = arrowSchema(both)
		cp := &compiler{env: env, input: both}
		if need := cp.need(n.Cond); need != nil {
			j.condNeed = make([]bool, len(both))
			for _, c := range need {
				if c < len(both) {
					j.condNeed[c] = true
				}
			}
		}
	}
	j.leftTypes = n.Left.Schema().Types()
	j.track(j.lkeys...)
	j.track(j.rkeys...)
	j.track(j.cond)
	want := len(both)
	if j.kind == planner.JoinSemi || j.kind == planner.JoinAnti {
		want = len(n.Left.Schema())
	}
	if len(n.Out) != want {
		return nil, pgerror.Internal("join output has %d columns, want %d", len(n.Out), want)
	}
	// Column layouts come from the inputs (names from the plan), so a
	// batch always matches its schema.
	outT := both[:want]
	fs := make([]arrow.Field, want)
	for i := range fs {
		fs[i] = types.ArrowField(n.Out[i].Name, outT[i].T)
	}
	j.schema = arrow.NewSchema(fs, nil)
	return j, nil
}

// Init initializes both inputs; the build side is read on the first Next.
func (j *Join) Init(ctx context.Context) error {
	j.initBase(ctx)
	if err := j.left.Init(j.ctx); err != nil {
		return err
	}
	return j.right.Init(j.ctx)
}

// intKeyable reports whether a key column can be hashed as an int64.
func intKeyable(t types.T) bool {
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamOid, types.FamDate, types.FamTime,
		types.FamTimestamp, types.FamTimestampTZ, types.FamBool:
		return t.Family != types.FamBool
	}
	return false
}

// intValues reads an integer-like array as int64 plus a NULL mask.
func intValues(a arrow.Array, out []int64, null []bool) ([]int64, []bool) {
	n := a.Len()
	out = append(out[:0], make([]int64, n)...)
	null = append(null[:0], make([]bool, n)...)
	switch x := a.(type) {
	case *array.Int64:
		copy(out, x.Int64Values())
	case *array.Int32:
		for i, v := range x.Int32Values() {
			out[i] = int64(v)
		}
	case *array.Int16:
		for i, v := range x.Int16Values() {
			out[i] = int64(v)
		}
	case *array.Date32:
		for i, v := range x.Date32Values() {
			out[i] = int64(v)
		}
	case *array.Time64:
		for i, v := range x.Time64Values() {
			out[i] = int64(v)
		}
	case *array.Timestamp:
		for i, v := range x.TimestampValues() {
			out[i] = int64(v)
		}
	}
	if a.NullN() > 0 {
		for i := range null {
			null[i] = a.IsNull(i)
		}
	}
	return out, null
}

func anyNull(cols []arrow.Array, i int) bool {
	for _, c := range cols {
		if c.IsNull(i) {
			return true
		}
	}
	return false
}

// build materializes the right input and indexes its keys.
func (j *Join) build() error {
	j.built = true
	var batches []arrow.RecordBatch
	var keyBatches [][]arrow.Array
	defer func() {
		for _, b := range batches {
			b.Release()
		}
		for _, ks := range keyBatches {
			releaseAll(ks)
		}
	}()
	for {
		if err := j.checkCtx(); err != nil {
			return err
		}
		b, err := j.right.Next()
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		if err := j.grow(batchBytes(b) + b.NumRows()*8); err != nil {
			return err
		}
		ks, err := evalList(j.ctx, j.rkeys, b)
		if err != nil {
			return err
		}
		b.Retain()
		batches = append(batches, b)
		keyBatches = append(keyBatches, ks)
		j.rn += int(b.NumRows())
	}
	ncols := len(j.node.Right.Schema())
	j.rcols = make([]arrow.Array, ncols)
	mem := j.env.alloc()
	for c := 0; c < ncols; c++ {
		parts := make([]arrow.Array, len(batches))
		for i, b := range batches {
			parts[i] = b.Column(c)
		}
		if len(parts) == 0 {
			j.rcols[c] = nullArr(mem, j.node.Right.Schema()[c].T, 0)
			continue
		}
		a, err := concatArrs(mem, parts)
		if err != nil {
			return err
		}
		j.rcols[c] = a
	}
	if j.kind == planner.JoinRight || j.kind == planner.JoinFull {
		j.rmatched = make([]bool, j.rn)
	}
	if j.nested {
		return nil
	}
	j.next = make([]int32, j.rn)
	if err := j.grow(int64(j.rn) * 4); err != nil {
		return err
	}
	if len(j.rkeys) == 1 && intKeyable(j.keyTypes[0]) && intKeyable(j.node.RightKeys[0].Type()) {
		if err := j.grow(int64(tableSlots(j.rn)) * 12); err != nil {
			return err
		}
		j.ht = newI64Table(j.rn)
		row := 0
		var vals []int64
		var nulls []bool
		for _, ks := range keyBatches {
			vals, nulls = intValues(ks[0], vals, nulls)
			for i, v := range vals {
				if !nulls[i] {
					j.ht.insert(v, int32(row), j.next)
				}
				row++
			}
		}
		return nil
	}
	j.hs = make(map[string]int32, j.rn)
	enc := vec.KeyEncoder{Types: j.keyTypes}
	row := 0
	for _, ks := range keyBatches {
		enc.Encode(ks)
		if err := j.grow(int64(len(enc.Arena)) + int64(ks[0].Len())*24); err != nil {
			return err
		}
		for i := 0; i < ks[0].Len(); i++ {
			if anyNull(ks, i) {
				j.next[row] = -1
				row++
				continue
			}
			k := enc.Key(i)
			if h, ok := j.hs[string(k)]; ok {
				j.next[row] = h
			} else {
				j.next[row] = -1
			}
			j.hs[string(k)] = int32(row)
			row++
		}
	}
	return nil
}

// Next returns the next batch of joined rows.
func (j *Join) Next() (arrow.RecordBatch, error) {
	if !j.built {
		if err := j.build(); err != nil {
			return nil, err
		}
	}
	bs := j.env.batchSize()
	for {
		if err := j.checkCtx(); err != nil {
			return nil, err
		}
		if j.leftDone {
			return j.emitRightUnmatched(bs)
		}
		if j.lb == nil {
			b, err := j.left.Next()
			if err != nil {
				return nil, err
			}
			if b == nil {
				j.leftDone = true
				continue
			}
			if err := j.startProbe(b); err != nil {
				return nil, err
			}
		}
		out, err := j.probeChunk(bs)
		if err != nil {
			return nil, err
		}
		if out != nil {
			return j.emit(out), nil
		}
	}
}

func (j *Join) startProbe(b arrow.RecordBatch) error {
	b.Retain()
	j.lb = b
	releaseAll(j.lkeyArrs)
	ks, err := evalList(j.ctx, j.lkeys, b)
	if err != nil {
		return err
	}
	j.lkeyArrs = ks
	if j.ht != nil {
		j.lints, j.lnull = intValues(ks[0], j.lints, j.lnull)
	} else if !j.nested {
		j.lenc.Types = j.keyTypes
		j.lenc.Encode(ks)
	}
	j.li = 0
	j.chain = -2
	n := int(b.NumRows())
	j.heads = append(j.heads[:0], make([]int32, n)...)
	switch {
	case j.nested:
		for i := range j.heads {
			j.heads[i] = -1
			if j.rn > 0 {
				j.heads[i] = 0
			}
		}
	case j.ht != nil:
		j.ht.lookupAll(j.lints, j.lnull, j.heads)
	default:
		for i := range j.heads {
			j.heads[i] = -1
			if anyNull(j.lkeyArrs, i) {
				continue
			}
			if h, ok := j.hs[string(j.lenc.Key(i))]; ok {
				j.heads[i] = h
			}
		}
	}
	j.lmatched = append(j.lmatched[:0], make([]bool, n)...)
	return nil
}

// probeChunk generates up to bs candidate pairs, applies the residual
// condition and returns the output rows they produce (nil when none).
func (j *Join) probeChunk(bs int) (arrow.RecordBatch, error) {
	n := int(j.lb.NumRows())
	pl, pr := j.pl[:0], j.pr[:0]
	quick := (j.kind == planner.JoinSemi || j.kind == planner.JoinAnti) && j.cond == nil
	if quick {
		for i, h := range j.heads {
			j.lmatched[i] = h >= 0
		}
		j.li = n
	}
	heads, next := j.heads, j.next
	li, chain := j.li, j.chain
	semi := j.kind == planner.JoinSemi || j.kind == planner.JoinAnti
	for li < n && len(pl) < bs {
		if semi && j.lmatched[li] {
			// Decided by an earlier chunk: skip its other candidates.
			li++
			chain = -2
			continue
		}
		if chain == -2 {
			chain = heads[li]
		}
		if j.nested {
			for chain >= 0 && len(pl) < bs {
				pl = append(pl, int32(li))
				pr = append(pr, chain)
				if chain++; int(chain) >= j.rn {
					chain = -1
				}
			}
		} else {
			for chain >= 0 && len(pl) < bs {
				pl = append(pl, int32(li))
				pr = append(pr, chain)
				chain = next[chain]
			}
		}
		if chain < 0 {
			li++
			chain = -2
		}
	}
	j.li, j.chain = li, chain
	j.pl, j.pr = pl, pr
	if j.cond != nil && len(pl) > 0 {
		var err error
		if pl, pr, err = j.applyCond(pl, pr); err != nil {
			return nil, err
		}
	}
	if j.kind != planner.JoinInner && j.kind != planner.JoinRight {
		for _, l := range pl {
			j.lmatched[l] = true
		}
	}
	if j.rmatched != nil {
		for _, r := range pr {
			j.rmatched[r] = true
		}
	}
	finished := j.li >= n
	var outL, outR []int32
	switch j.kind {
	case planner.JoinInner, planner.JoinRight:
		outL, outR = pl, pr
	case planner.JoinLeft, planner.JoinFull:
		outL, outR = pl, pr
		if finished {
			for i, m := range j.lmatched {
				if !m {
					outL = append(outL, int32(i))
					outR = append(outR, -1)
				}
			}
		}
	case planner.JoinSemi, planner.JoinAnti:
		if finished {
			want := j.kind == planner.JoinSemi
			for i, m := range j.lmatched {
				if m == want {
					outL = append(outL, int32(i))
				}
			}
		}
	}
	var out arrow.RecordBatch
	if len(outL) > 0 {
		out = j.assemble(j.lb, outL, outR)
	}
	if finished {
		j.lb.Release()
		j.lb = nil
	}
	return out, nil
}

// assemble builds output rows from probe rows outL and build rows outR
// (-1: NULL padding; outR nil for SEMI/ANTI).
func (j *Join) assemble(lb arrow.RecordBatch, outL, outR []int32) arrow.RecordBatch {
	cols := make([]arrow.Array, 0, j.schema.NumFields())
	for c := 0; c < int(lb.NumCols()); c++ {
		cols = append(cols, takeArr(lb.Column(c), outL))
	}
	if outR != nil || (j.kind != planner.JoinSemi && j.kind != planner.JoinAnti) {
		for _, rc := range j.rcols {
			cols = append(cols, takeArr(rc, outR))
		}
	}
	return newBatch(j.schema, cols, len(outL))
}

// applyCond keeps the candidate pairs that satisfy the residual condition.
func (j *Join) applyCond(pl, pr []int32) ([]int32, []int32, error) {
	// Gather only the columns the condition reads.
	nl := int(j.lb.NumCols())
	cols := make([]arrow.Array, nl+len(j.rcols))
	for c := range cols {
		if j.condNeed != nil && !j.condNeed[c] {
			continue
		}
		if c < nl {
			cols[c] = takeArr(j.lb.Column(c), pl)
		} else {
			cols[c] = takeArr(j.rcols[c-nl], pr)
		}
	}
	defer releaseAll(cols)
	m, err := j.cond.evalCols(j.ctx, cols, len(pl))
	if err != nil {
		return nil, nil, err
	}
	defer m.Release()
	bm, ok := m.(*array.Boolean)
	if !ok {
		return nil, nil, pgerror.Internal("join condition is %s, not boolean", m.DataType())
	}
	k := 0
	for i := range pl {
		if bm.IsValid(i) && bm.Value(i) {
			pl[k], pr[k] = pl[i], pr[i]
			k++
		}
	}
	return pl[:k], pr[:k], nil
}

// emitRightUnmatched returns the build rows no probe row matched (RIGHT/FULL).
func (j *Join) emitRightUnmatched(bs int) (arrow.RecordBatch, error) {
	if j.rmatched == nil {
		return nil, nil
	}
	var idx []int32
	for j.rightPos < j.rn && len(idx) < bs {
		if !j.rmatched[j.rightPos] {
			idx = append(idx, int32(j.rightPos))
		}
		j.rightPos++
	}
	if len(idx) == 0 {
		return nil, nil
	}
	mem := j.env.alloc()
	cols := make([]arrow.Array, 0, j.schema.NumFields())
	for _, t := range j.leftTypes {
		cols = append(cols, nullArr(mem, t, len(idx)))
	}
	for _, rc := range j.rcols {
		cols = append(cols, takeArr(rc, idx))
	}
	return j.emit(newBatch(j.schema, cols, len(idx))), nil
}

// Close releases the build side and closes both inputs.
func (j *Join) Close() error {
	j.closeBase()
	releaseAll(j.rcols)
	j.rcols = nil
	releaseAll(j.lkeyArrs)
	j.lkeyArrs = nil
	if j.lb != nil {
		j.lb.Release()
		j.lb = nil
	}
	j.ht, j.hs, j.next = nil, nil, nil
	err1 := j.left.Close()
	err2 := j.right.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// i64Table is an open-addressing hash table from int64 keys to the first
// build row with that key; further rows chain through next. Key and head
// share one 16-byte slot so a probe touches one cache line.
type i64Table struct {
	shift uint
	mask  uint64
	slots []i64Slot
}

type i64Slot struct {
	key  int64
	head int32 // -1: empty
	_    int32
}

func tableSlots(n int) int {
	s := 16
	for s < 2*n {
		s <<= 1
	}
	return s
}

func newI64Table(n int) *i64Table {
	s := tableSlots(n)
	bits := uint(0)
	for 1<<bits < s {
		bits++
	}
	t := &i64Table{shift: 64 - bits, mask: uint64(s - 1), slots: make([]i64Slot, s)}
	for i := range t.slots {
		t.slots[i].head = -1
	}
	return t
}

func hashSlot(k int64, shift uint) uint64 { return (uint64(k) * 0x9E3779B97F4A7C15) >> shift }

func (t *i64Table) insert(k int64, row int32, next []int32) {
	for s := hashSlot(k, t.shift); ; s = (s + 1) & t.mask {
		sl := &t.slots[s]
		if sl.head < 0 {
			sl.key, sl.head = k, row
			next[row] = -1
			return
		}
		if sl.key == k {
			next[row] = sl.head
			sl.head = row
			return
		}
	}
}

// lookupAll sets heads[i] to the first build row for keys[i] (-1: none or
// NULL). The iterations are independent, so cache misses overlap.
func (t *i64Table) lookupAll(keys []int64, nulls []bool, heads []int32) {
	slots, mask, shift := t.slots, t.mask, t.shift
	for i, k := range keys {
		h := int32(-1)
		for s := hashSlot(k, shift); ; s = (s + 1) & mask {
			sl := &slots[s]
			if sl.head < 0 || sl.key == k {
				h = sl.head
				break
			}
		}
		heads[i] = h
	}
	for i, isNull := range nulls {
		if isNull {
			heads[i] = -1
		}
	}
}
