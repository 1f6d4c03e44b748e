package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TopN executes Limit over Sort without sorting the whole input: it keeps
// the best offset+count rows seen so far and, whenever the pending rows
// reach that size again, merges them in (concatenate, stable sort, keep the
// first offset+count). Memory is bounded by about twice offset+count rows
// plus one batch. Ties keep input order, as a stable sort would.
type TopN struct {
	opBase
	input         Operator
	sort          *planner.Sort
	limit         *planner.Limit
	keys          []*Evaluator
	keyT          []types.T
	dataT         []types.T
	count, offset int64
	k             int
	kept          []arrow.Array // data columns then key columns, sorted
	pending       buffer
	done          bool
	out           []arrow.Array
	pos, end      int
}

func newTopN(env *Env, l *planner.Limit, s *planner.Sort, input Operator) (*TopN, error) {
	t := &TopN{opBase: opBase{env: env, schema: arrowSchema(s.Schema())}, input: input, sort: s, limit: l, dataT: s.Schema().Types()}
	exprs := make([]planner.Expr, len(s.Keys))
	for i, k := range s.Keys {
		exprs[i] = k.E
		t.keyT = append(t.keyT, k.E.Type())
	}
	evs, err := compileAll(env, exprs, s.Input.Schema())
	if err != nil {
		return nil, err
	}
	t.keys = evs
	t.track(evs...)
	t.pending = buffer{base: &t.opBase, keys: evs, keyT: t.keyT}
	return t, nil
}

// Init evaluates the bounds and initializes the input.
func (t *TopN) Init(ctx context.Context) error {
	t.initBase(ctx)
	c, o, err := limitValues(t.ctx, t.env, t.limit)
	if err != nil {
		return err
	}
	t.count, t.offset = c, o
	if c < 0 {
		t.k = -1
	} else {
		t.k = int(c + o)
	}
	return t.input.Init(t.ctx)
}

func (t *TopN) compact() error {
	mem := t.env.alloc()
	nd := len(t.dataT)
	data, keys, err := t.pending.concat(mem, t.dataT)
	t.pending.reset()
	if err != nil {
		return err
	}
	all := append(data, keys...)
	if t.kept != nil {
		for i := range all {
			a, err := concatArrs(mem, []arrow.Array{t.kept[i], all[i]})
			if err != nil {
				return err
			}
			all[i].Release()
			all[i] = a
		}
		releaseAll(t.kept)
	}
	perm := vec.SortIndices(all[nd:], vecKeys(t.sort.Keys))
	if len(t.keys) == 0 {
		perm = seqIdx(all[0].Len())
	}
	if t.k >= 0 && len(perm) > t.k {
		cut := t.k
		if t.limit.WithTies && cut > 0 {
			// FETCH … WITH TIES keeps the rows tied with the last one.
			rc, keys := vec.NewRowComparator(vecKeys(t.sort.Keys)), all[nd:]
			for cut < len(perm) && rc.Compare(keys, int(perm[t.k-1]), keys, int(perm[cut])) == 0 {
				cut++
			}
		}
		perm = perm[:cut]
	}
	t.kept = make([]arrow.Array, len(all))
	for i, a := range all {
		t.kept[i] = takeArr(a, perm)
		a.Release()
	}
	t.shrinkAll()
	var sz int64
	for _, a := range t.kept {
		sz += arrayBytes(a)
	}
	return t.grow(sz)
}

// Next returns the next slice of the top rows.
func (t *TopN) Next() (arrow.RecordBatch, error) {
	if t.k == 0 {
		return nil, nil
	}
	for !t.done {
		if err := t.checkCtx(); err != nil {
			return nil, err
		}
		b, err := t.input.Next()
		if err != nil {
			return nil, err
		}
		if b == nil {
			if err := t.compact(); err != nil {
				return nil, err
			}
			t.done = true
			t.pos = int(min(t.offset, int64(1)<<40))
			if len(t.kept) > 0 {
				t.end = t.kept[0].Len()
			}
			break
		}
		if err := t.pending.add(b); err != nil {
			return nil, err
		}
		if t.k > 0 && t.pending.rows >= max(t.k, t.env.batchSize()) {
			if err := t.compact(); err != nil {
				return nil, err
			}
		}
	}
	if len(t.dataT) == 0 || t.pos >= t.end {
		return nil, nil
	}
	hi := min(t.end, t.pos+t.env.batchSize())
	cols := make([]arrow.Array, len(t.dataT))
	for i := range cols {
		cols[i] = takeArr(t.kept[i], seqRange(t.pos, hi))
	}
	n := hi - t.pos
	t.pos = hi
	return t.emit(newBatch(t.schema, cols, n)), nil
}

func seqRange(lo, hi int) []int32 {
	out := make([]int32, hi-lo)
	for i := range out {
		out[i] = int32(lo + i)
	}
	return out
}

// Close frees the kept rows and closes the input.
func (t *TopN) Close() error {
	t.closeBase()
	t.pending.reset()
	releaseAll(t.kept)
	t.kept = nil
	return t.input.Close()
}
