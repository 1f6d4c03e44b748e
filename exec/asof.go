package exec

import (
	"bytes"
	"cmp"
	"context"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// AsOfJoin executes ASOF [LEFT] JOIN (planner.JoinAsOf, JoinAsOfLeft; the
// semantics are documented in sql/planner/asof.go). The right input is
// materialized and partitioned by its equality keys; each partition is
// sorted by (right "time" value, canonical encoding of the whole right row),
// so the match of a left row is found by binary search and ties resolve to
// the smallest right-row encoding. Left rows stream: each left batch yields
// at most one output batch (one row per left row at most).
type AsOfJoin struct {
	opBase
	node        *planner.Join
	left, right Operator
	lkeys       []*Evaluator
	rkeys       []*Evaluator
	lts, rts    *Evaluator
	op          string
	keyTypes    []types.T
	tsType      types.T
	rightTypes  []types.T

	built  bool
	rcols  []arrow.Array
	rtsArr arrow.Array
	// rInts holds the right times as int64 when their type is integer-like
	// (ints, dates, times, timestamps): the fast comparison path.
	rInts  []int64
	lInts  []int64
	lNulls []bool
	groups map[string][]int32
	lenc   vec.KeyEncoder
}

func newAsOfJoin(env *Env, n *planner.Join, left, right Operator) (*AsOfJoin, error) {
	le, op, re, err := planner.AsOfInequality(n)
	if err != nil {
		return nil, err
	}
	j := &AsOfJoin{opBase: opBase{env: env}, node: n, left: left, right: right, op: op, tsType: le.Type()}
	if j.lkeys, err = compileAll(env, n.LeftKeys, n.Left.Schema()); err != nil {
		return nil, err
	}
	if j.rkeys, err = compileAll(env, n.RightKeys, n.Right.Schema()); err != nil {
		return nil, err
	}
	if j.lts, err = Compile(env, le, n.Left.Schema()); err != nil {
		return nil, err
	}
	if j.rts, err = Compile(env, re, n.Right.Schema()); err != nil {
		return nil, err
	}
	for _, k := range n.LeftKeys {
		j.keyTypes = append(j.keyTypes, k.Type())
	}
	j.rightTypes = n.Right.Schema().Types()
	j.track(j.lkeys...)
	j.track(j.rkeys...)
	j.track(j.lts, j.rts)
	both := append(append(planner.Schema{}, n.Left.Schema()...), n.Right.Schema()...)
	if len(n.Out) != len(both) {
		return nil, pgerror.Internal("asof join output has %d columns, want %d", len(n.Out), len(both))
	}
	fs := make([]arrow.Field, len(both))
	for i := range fs {
		fs[i] = types.ArrowField(n.Out[i].Name, both[i].T)
	}
	j.schema = arrow.NewSchema(fs, nil)
	return j, nil
}

// Init initializes both inputs; the right side is read on the first Next.
func (j *AsOfJoin) Init(ctx context.Context) error {
	j.initBase(ctx)
	if err := j.left.Init(j.ctx); err != nil {
		return err
	}
	return j.right.Init(j.ctx)
}

// build materializes the right input and sorts each key partition.
func (j *AsOfJoin) build() error {
	j.built = true
	var batches []arrow.RecordBatch
	var keyBatches [][]arrow.Array
	var tsBatches []arrow.Array
	defer func() {
		for _, b := range batches {
			b.Release()
		}
		for _, ks := range keyBatches {
			releaseAll(ks)
		}
		releaseAll(tsBatches)
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
		if err := j.grow(batchBytes(b) + b.NumRows()*16); err != nil {
			return err
		}
		ks, err := evalList(j.ctx, j.rkeys, b)
		if err != nil {
			return err
		}
		keyBatches = append(keyBatches, ks)
		ts, err := j.rts.Eval(j.ctx, b)
		if err != nil {
			return err
		}
		tsBatches = append(tsBatches, ts)
		b.Retain()
		batches = append(batches, b)
	}
	mem := j.env.alloc()
	rs := j.node.Right.Schema()
	j.rcols = make([]arrow.Array, len(rs))
	for c := range rs {
		parts := make([]arrow.Array, len(batches))
		for i, b := range batches {
			parts[i] = b.Column(c)
		}
		if len(parts) == 0 {
			j.rcols[c] = nullArr(mem, rs[c].T, 0)
			continue
		}
		a, err := concatArrs(mem, parts)
		if err != nil {
			return err
		}
		j.rcols[c] = a
	}
	if len(tsBatches) == 0 {
		j.rtsArr = nullArr(mem, j.tsType, 0)
	} else {
		a, err := concatArrs(mem, tsBatches)
		if err != nil {
			return err
		}
		j.rtsArr = a
	}
	if intKeyable(j.tsType) {
		j.rInts, _ = intValues(j.rtsArr, nil, nil)
	}
	j.groups = map[string][]int32{}
	enc := vec.KeyEncoder{Types: j.keyTypes}
	row := int32(0)
	for bi, ks := range keyBatches {
		n := int(batches[bi].NumRows())
		if len(ks) > 0 {
			enc.Encode(ks)
		}
		for i := 0; i < n; i++ {
			if !anyNull(ks, i) && !j.rtsArr.IsNull(int(row)) {
				k := ""
				if len(ks) > 0 {
					k = string(enc.Key(i))
				}
				j.groups[k] = append(j.groups[k], row)
			}
			row++
		}
	}
	var ka, kb []byte
	for _, g := range j.groups {
		if err := j.checkCtx(); err != nil {
			return err
		}
		sort.SliceStable(g, func(a, b int) bool {
			c := j.cmpRight(g[a], g[b])
			if c != 0 {
				return c < 0
			}
			ka = vec.AppendRowKey(ka[:0], j.rcols, j.rightTypes, int(g[a]))
			kb = vec.AppendRowKey(kb[:0], j.rcols, j.rightTypes, int(g[b]))
			return bytes.Compare(ka, kb) < 0
		})
	}
	return nil
}

// cmpRight compares the times of right rows a and b.
func (j *AsOfJoin) cmpRight(a, b int32) int {
	if j.rInts != nil {
		return cmp.Compare(j.rInts[a], j.rInts[b])
	}
	return vec.CompareValues(j.tsType, j.rtsArr, int(a), j.rtsArr, int(b))
}

// match returns the right row matched by the left value at row i of lts
// within partition g, or -1.
func (j *AsOfJoin) match(lts arrow.Array, i int, g []int32) int32 {
	same := func(a, b int) bool { return j.cmpRight(g[a], g[b]) == 0 }
	if j.rInts != nil {
		lv := j.lInts[i]
		return asOfMatch(j.op, len(g), func(k int) int { return cmp.Compare(j.rInts[g[k]], lv) }, same, g)
	}
	return asOfMatch(j.op, len(g), func(k int) int {
		return vec.CompareValues(j.tsType, j.rtsArr, int(g[k]), lts, i)
	}, same, g)
}

// asOfMatch finds the match in a partition of n rows sorted by (time, tie
// order): cmp(k) compares the time of row k with the left value, same(a, b)
// reports equal times. It returns g[k] of the chosen row or -1.
func asOfMatch(op string, n int, cmp func(k int) int, same func(a, b int) bool, g []int32) int32 {
	switch op {
	case ">=", ">":
		// Last row whose time is <= (>=) or < (>) the left value, then the
		// first row of its run of equal times.
		idx := sort.Search(n, func(k int) bool {
			if op == ">=" {
				return cmp(k) > 0
			}
			return cmp(k) >= 0
		})
		if idx == 0 {
			return -1
		}
		last := idx - 1
		if last == 0 || !same(last-1, last) {
			return g[last]
		}
		start := sort.Search(last+1, func(k int) bool { return same(k, last) })
		return g[start]
	default:
		idx := sort.Search(n, func(k int) bool {
			if op == "<=" {
				return cmp(k) >= 0
			}
			return cmp(k) > 0
		})
		if idx == n {
			return -1
		}
		return g[idx]
	}
}

// Next returns the output rows of the next left batch that produces any.
func (j *AsOfJoin) Next() (arrow.RecordBatch, error) {
	if !j.built {
		if err := j.build(); err != nil {
			return nil, err
		}
	}
	outer := j.node.Kind == planner.JoinAsOfLeft
	for {
		if err := j.checkCtx(); err != nil {
			return nil, err
		}
		b, err := j.left.Next()
		if err != nil || b == nil {
			return nil, err
		}
		ks, err := evalList(j.ctx, j.lkeys, b)
		if err != nil {
			return nil, err
		}
		lts, err := j.lts.Eval(j.ctx, b)
		if err != nil {
			releaseAll(ks)
			return nil, err
		}
		if j.rInts != nil {
			j.lInts, j.lNulls = intValues(lts, j.lInts, j.lNulls)
		}
		j.lenc.Types = j.keyTypes
		if len(ks) > 0 {
			j.lenc.Encode(ks)
		}
		n := int(b.NumRows())
		var outL, outR []int32
		for i := 0; i < n; i++ {
			m := int32(-1)
			if !anyNull(ks, i) && !lts.IsNull(i) {
				k := ""
				if len(ks) > 0 {
					k = string(j.lenc.Key(i))
				}
				if g := j.groups[k]; len(g) > 0 {
					m = j.match(lts, i, g)
				}
			}
			if m >= 0 || outer {
				outL = append(outL, int32(i))
				outR = append(outR, m)
			}
		}
		releaseAll(ks)
		lts.Release()
		if len(outL) == 0 {
			continue
		}
		cols := make([]arrow.Array, 0, j.schema.NumFields())
		for c := 0; c < int(b.NumCols()); c++ {
			cols = append(cols, takeArr(b.Column(c), outL))
		}
		for _, rc := range j.rcols {
			cols = append(cols, takeArr(rc, outR))
		}
		return j.emit(newBatch(j.schema, cols, len(outL))), nil
	}
}

// Close releases the right side and closes both inputs.
func (j *AsOfJoin) Close() error {
	j.closeBase()
	releaseAll(j.rcols)
	j.rcols = nil
	if j.rtsArr != nil {
		j.rtsArr.Release()
		j.rtsArr = nil
	}
	j.groups = nil
	err1 := j.left.Close()
	err2 := j.right.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
