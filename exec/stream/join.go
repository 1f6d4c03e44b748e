package stream

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// JoinType selects which sides of a HashJoin are preserved.
type JoinType uint8

// Join types.
const (
	InnerJoin JoinType = iota
	LeftJoin
	RightJoin
	FullJoin
)

// HashJoin is an incremental equi-join of two inputs. Each side's rows are
// kept in memory by join key with multiplicities; a change on one side
// probes the other side's state and emits the joined changes with its own
// sign. Outer sides emit NULL-extended rows while a key has no match and
// retract them when the first match arrives (and the reverse when the last
// match goes). Output updates are emitted as Delete/Insert rows, never as
// update pairs. NULL keys never match.
//
// Output columns: the left input's columns, then the right input's.
type HashJoin struct {
	al     *aligner
	jt     JoinType
	types  [2][]types.T
	keys   [2][]int
	width  [2]int
	schema *arrow.Schema
	mem    memory.Allocator
	state  [2]map[string]*joinBucket
	kbuf   []byte
	rbuf   []byte

	builders []array.Builder
	ops      []Op

	// cond is the residual ON condition over (left row, right row); nil
	// means every key match joins.
	cond func(l, r []types.Datum) (bool, error)
}

// WithCondition adds a residual ON condition: a left and a right row join
// when their keys are equal and cond holds. Outer sides then track, per
// row, how many rows of the other side it joins with.
func (j *HashJoin) WithCondition(cond func(l, r []types.Datum) (bool, error)) *HashJoin {
	j.cond = cond
	return j
}

type joinBucket struct {
	rows  []*joinRow
	index map[string]int // row identity → position in rows
	total int64          // sum of multiplicities
}

type joinRow struct {
	id string
	// matches counts the other side's rows (with multiplicity) this row
	// joins with under the residual condition (only with a condition).
	matches int64
	vals    []types.Datum
	n       int64
}

// NewHashJoin joins left and right (columns of SQL types leftTypes,
// rightTypes) on leftKeys[i] = rightKeys[i].
func NewHashJoin(left, right Executor, leftTypes, rightTypes []types.T, leftKeys, rightKeys []int, jt JoinType) (*HashJoin, error) {
	if len(leftKeys) != len(rightKeys) || len(leftKeys) == 0 {
		return nil, pgerror.Internal("stream: join needs equal, non-empty key lists (%d, %d)", len(leftKeys), len(rightKeys))
	}
	j := &HashJoin{al: newAligner(left, right), jt: jt, types: [2][]types.T{leftTypes, rightTypes},
		keys: [2][]int{leftKeys, rightKeys}, mem: memory.DefaultAllocator,
		state: [2]map[string]*joinBucket{{}, {}}}
	var fields []arrow.Field
	for s, in := range []Executor{left, right} {
		sc := in.Schema()
		if sc.NumFields() != len(j.types[s]) {
			return nil, pgerror.Internal("stream: join input %d has %d fields and %d types", s, sc.NumFields(), len(j.types[s]))
		}
		for _, k := range j.keys[s] {
			if k < 0 || k >= len(j.types[s]) {
				return nil, pgerror.Internal("stream: join key column %d out of range", k)
			}
		}
		j.width[s] = sc.NumFields()
		for _, f := range sc.Fields() {
			f.Nullable = true
			fields = append(fields, f)
		}
	}
	for i := range leftKeys {
		if leftTypes[leftKeys[i]].Family != rightTypes[rightKeys[i]].Family {
			return nil, pgerror.Internal("stream: join key types %s and %s differ", leftTypes[leftKeys[i]], rightTypes[rightKeys[i]])
		}
	}
	j.schema = arrow.NewSchema(fields, nil)
	return j, nil
}

// WithAllocator makes the join allocate its output with mem (before use).
func (j *HashJoin) WithAllocator(mem memory.Allocator) *HashJoin {
	j.mem = mem
	return j
}

// Schema implements Executor.
func (j *HashJoin) Schema() *arrow.Schema { return j.schema }

func (j *HashJoin) preserved(side int) bool {
	switch j.jt {
	case LeftJoin:
		return side == 0
	case RightJoin:
		return side == 1
	case FullJoin:
		return true
	}
	return false
}

// Next implements Executor.
func (j *HashJoin) Next(ctx context.Context) (Message, error) {
	for {
		side, m, err := j.al.next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			out, err := j.process(side, m)
			m.Release()
			if err != nil {
				return nil, err
			}
			if out != nil {
				return out, nil
			}
		case Watermark:
			if side == 1 {
				m.Col += j.width[0]
			}
			return m, nil
		default:
			return m, nil
		}
	}
}

func (j *HashJoin) process(s int, c *Chunk) (*Chunk, error) {
	o := 1 - s
	b := c.Batch
	ts := j.types[s]
	cols := b.Columns()
	keyCols := make([]arrow.Array, len(j.keys[s]))
	keyTypes := make([]types.T, len(j.keys[s]))
	for i, k := range j.keys[s] {
		keyCols[i] = cols[k]
		keyTypes[i] = ts[k]
	}
	if j.builders == nil {
		for _, f := range j.schema.Fields() {
			j.builders = append(j.builders, array.NewBuilder(j.mem, f.Type))
		}
	}
	j.ops = j.ops[:0]
	for i, op := range c.Ops {
		sg := op.Sign()
		nullKey := false
		for _, kc := range keyCols {
			if kc.IsNull(i) {
				nullKey = true
				break
			}
		}
		vals := make([]types.Datum, len(ts))
		for k := range ts {
			vals[k] = types.GetDatum(cols[k], i, ts[k])
		}
		if nullKey {
			if j.preserved(s) {
				j.emit(s, sg, vals, nil, 1)
			}
			continue
		}
		j.kbuf = vec.AppendRowKey(j.kbuf[:0], keyCols, keyTypes, i)
		key := string(j.kbuf)
		if j.cond != nil {
			if err := j.processCond(s, sg, key, vals, cols, ts, i); err != nil {
				return nil, err
			}
			continue
		}
		ob := j.state[o][key]
		if ob != nil && ob.total > 0 {
			for _, x := range ob.rows {
				j.emit(s, sg, vals, x.vals, x.n)
			}
		} else if j.preserved(s) {
			j.emit(s, sg, vals, nil, 1)
		}
		sb := j.state[s][key]
		if sb == nil {
			sb = &joinBucket{index: map[string]int{}}
			j.state[s][key] = sb
		}
		if j.preserved(o) && ob != nil {
			before, after := sb.total, sb.total+sg
			switch {
			case before <= 0 && after > 0:
				for _, x := range ob.rows {
					j.emit(o, -1, x.vals, nil, x.n)
				}
			case before > 0 && after <= 0:
				for _, x := range ob.rows {
					j.emit(o, 1, x.vals, nil, x.n)
				}
			}
		}
		j.rbuf = vec.AppendRowKey(j.rbuf[:0], cols, ts, i)
		sb.add(string(j.rbuf), vals, sg)
		if len(sb.rows) == 0 {
			delete(j.state[s], key)
		}
	}
	if len(j.ops) == 0 {
		return nil, nil
	}
	out := make([]arrow.Array, len(j.builders))
	for i, bl := range j.builders {
		out[i] = bl.NewArray()
	}
	rb := array.NewRecordBatch(j.schema, out, int64(len(j.ops)))
	for _, a := range out {
		a.Release()
	}
	return &Chunk{Batch: rb, Ops: append([]Op(nil), j.ops...)}, nil
}

// processCond handles one row of side s under a residual condition.
func (j *HashJoin) processCond(s int, sg int64, key string, vals []types.Datum, cols []arrow.Array, ts []types.T, i int) error {
	o := 1 - s
	ob := j.state[o][key]
	var m int64
	if ob != nil {
		for _, y := range ob.rows {
			var l, r []types.Datum
			if s == 0 {
				l, r = vals, y.vals
			} else {
				l, r = y.vals, vals
			}
			ok, err := j.cond(l, r)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			m += y.n
			j.emit(s, sg, vals, y.vals, y.n)
			if j.preserved(o) {
				before, after := y.matches, y.matches+sg
				switch {
				case before <= 0 && after > 0:
					j.emit(o, -1, y.vals, nil, y.n)
				case before > 0 && after <= 0:
					j.emit(o, 1, y.vals, nil, y.n)
				}
			}
			y.matches += sg
		}
	}
	if m == 0 && j.preserved(s) {
		j.emit(s, sg, vals, nil, 1)
	}
	sb := j.state[s][key]
	if sb == nil {
		sb = &joinBucket{index: map[string]int{}}
		j.state[s][key] = sb
	}
	j.rbuf = vec.AppendRowKey(j.rbuf[:0], cols, ts, i)
	id := string(j.rbuf)
	sb.add(id, vals, sg)
	if k, ok := sb.index[id]; ok {
		sb.rows[k].matches = m
	}
	if len(sb.rows) == 0 {
		delete(j.state[s], key)
	}
	return nil
}

// emit appends n copies of the joined row (own row from side s, other row
// from the other side; nil means NULLs) with sign sg.
func (j *HashJoin) emit(s int, sg int64, own, other []types.Datum, n int64) {
	if n <= 0 {
		return
	}
	var l, r []types.Datum
	if s == 0 {
		l, r = own, other
	} else {
		l, r = other, own
	}
	op := Insert
	if sg < 0 {
		op = Delete
	}
	for ; n > 0; n-- {
		for k := 0; k < j.width[0]; k++ {
			var d types.Datum
			if l != nil {
				d = l[k]
			}
			types.AppendDatum(j.builders[k], d, j.types[0][k])
		}
		for k := 0; k < j.width[1]; k++ {
			var d types.Datum
			if r != nil {
				d = r[k]
			}
			types.AppendDatum(j.builders[j.width[0]+k], d, j.types[1][k])
		}
		j.ops = append(j.ops, op)
	}
}

func (b *joinBucket) add(id string, vals []types.Datum, sg int64) {
	b.total += sg
	if i, ok := b.index[id]; ok {
		r := b.rows[i]
		r.n += sg
		if r.n == 0 {
			last := len(b.rows) - 1
			b.rows[i] = b.rows[last]
			b.index[b.rows[i].id] = i
			b.rows = b.rows[:last]
			delete(b.index, id)
		}
		return
	}
	b.index[id] = len(b.rows)
	b.rows = append(b.rows, &joinRow{id: id, vals: vals, n: sg})
}

// Close implements Executor.
func (j *HashJoin) Close() error {
	for _, b := range j.builders {
		b.Release()
	}
	j.builders = nil
	j.state = [2]map[string]*joinBucket{{}, {}}
	if err := j.al.close(); err != nil {
		return fmt.Errorf("stream: join close: %w", err)
	}
	return nil
}
