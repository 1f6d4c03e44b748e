package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// buffer materializes batches with extra computed key columns, accounting
// their memory. It is shared by Sort, TopN and Window.
type buffer struct {
	base    *opBase
	keys    []*Evaluator
	keyT    []types.T
	batches []arrow.RecordBatch
	keyCols [][]arrow.Array
	rows    int
}

func (b *buffer) add(rb arrow.RecordBatch) error {
	if err := b.base.grow(batchBytes(rb) + rb.NumRows()*int64(8*len(b.keys)+8)); err != nil {
		return err
	}
	ks, err := evalList(b.base.ctx, b.keys, rb)
	if err != nil {
		return err
	}
	rb.Retain()
	b.batches = append(b.batches, rb)
	b.keyCols = append(b.keyCols, ks)
	b.rows += int(rb.NumRows())
	return nil
}

// concat returns every buffered column (data then keys) as one array each.
func (b *buffer) concat(mem memory.Allocator, dataT []types.T) ([]arrow.Array, []arrow.Array, error) {
	data := make([]arrow.Array, len(dataT))
	keys := make([]arrow.Array, len(b.keys))
	for c := range data {
		parts := make([]arrow.Array, len(b.batches))
		for i, rb := range b.batches {
			parts[i] = rb.Column(c)
		}
		if len(parts) == 0 {
			data[c] = nullArr(mem, dataT[c], 0)
			continue
		}
		a, err := concatArrs(mem, parts)
		if err != nil {
			return nil, nil, err
		}
		data[c] = a
	}
	for c := range keys {
		parts := make([]arrow.Array, len(b.keyCols))
		for i, ks := range b.keyCols {
			parts[i] = ks[c]
		}
		if len(parts) == 0 {
			keys[c] = nullArr(mem, b.keyT[c], 0)
			continue
		}
		a, err := concatArrs(mem, parts)
		if err != nil {
			return nil, nil, err
		}
		keys[c] = a
	}
	return data, keys, nil
}

func (b *buffer) reset() {
	for _, rb := range b.batches {
		rb.Release()
	}
	for _, ks := range b.keyCols {
		releaseAll(ks)
	}
	b.batches, b.keyCols, b.rows = nil, nil, 0
}

// vecKeys converts plan sort keys over key columns 0..n-1 to vec sort keys.
func vecKeys(keys []planner.SortKey) []vec.SortKey {
	out := make([]vec.SortKey, len(keys))
	for i, k := range keys {
		out[i] = vec.SortKey{Col: i, Desc: k.Desc, NullsFirst: k.NullsFirst, T: k.E.Type()}
	}
	return out
}

// Sort materializes its input, orders it stably by the key expressions and
// returns it in BatchSize slices.
type Sort struct {
	opBase
	input  Operator
	node   *planner.Sort
	buf    buffer
	dataT  []types.T
	data   []arrow.Array
	perm   []int32
	pos    int
	sorted bool
}

func newSort(env *Env, n *planner.Sort, input Operator) (*Sort, error) {
	s := &Sort{opBase: opBase{env: env, schema: arrowSchema(n.Schema())}, input: input, node: n, dataT: n.Schema().Types()}
	exprs := make([]planner.Expr, len(n.Keys))
	for i, k := range n.Keys {
		exprs[i] = k.E
		s.buf.keyT = append(s.buf.keyT, k.E.Type())
	}
	evs, err := compileAll(env, exprs, n.Input.Schema())
	if err != nil {
		return nil, err
	}
	s.buf.keys = evs
	s.track(evs...)
	s.buf.base = &s.opBase
	return s, nil
}

// Init initializes the input.
func (s *Sort) Init(ctx context.Context) error { s.initBase(ctx); return s.input.Init(s.ctx) }

// Next returns the next slice of sorted rows.
func (s *Sort) Next() (arrow.RecordBatch, error) {
	if !s.sorted {
		if err := s.sortAll(); err != nil {
			return nil, err
		}
	}
	if err := s.checkCtx(); err != nil {
		return nil, err
	}
	if s.pos >= len(s.perm) {
		return nil, nil
	}
	end := min(len(s.perm), s.pos+s.env.batchSize())
	idx := s.perm[s.pos:end]
	s.pos = end
	cols := make([]arrow.Array, len(s.data))
	for i, c := range s.data {
		cols[i] = takeArr(c, idx)
	}
	return s.emit(newBatch(s.schema, cols, len(idx))), nil
}

func (s *Sort) sortAll() error {
	s.sorted = true
	for {
		if err := s.checkCtx(); err != nil {
			return err
		}
		b, err := s.input.Next()
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		if err := s.buf.add(b); err != nil {
			return err
		}
	}
	rows := s.buf.rows
	if err := s.grow(int64(rows) * 4); err != nil {
		return err
	}
	data, keys, err := s.buf.concat(s.env.alloc(), s.dataT)
	s.buf.reset()
	if err != nil {
		return err
	}
	defer releaseAll(keys)
	s.data = data
	if len(keys) == 0 {
		s.perm = seqIdx(rows)
		return nil
	}
	s.perm = vec.SortIndices(keys, vecKeys(s.node.Keys))
	return nil
}

// Close frees the buffered rows and closes the input.
func (s *Sort) Close() error {
	s.closeBase()
	s.buf.reset()
	releaseAll(s.data)
	s.data = nil
	return s.input.Close()
}
