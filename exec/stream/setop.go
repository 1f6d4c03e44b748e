package stream

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// SetOp maintains INTERSECT [ALL] or EXCEPT [ALL] of two inputs. It keeps,
// per distinct row (NULLs equal), the live count on each side and the
// number of copies it emitted; rows touched in an epoch are re-evaluated at
// the barrier and the difference is emitted as Inserts/Deletes. Barriers
// are aligned; a watermark is forwarded as the minimum over both inputs.
type SetOp struct {
	al     *aligner
	ts     []types.T
	except bool
	all    bool
	schema *arrow.Schema
	wm     *minWatermarks

	rows  map[string]*setRow
	dirty []*setRow
	kbuf  []byte
	em    *rowEmitter
	q     opQueue

	bytes  int64 // setRowBytes of every row
	charge memCharge
}

// setRowBytes estimates one distinct row: its map entry, key, setRow and
// boxed values.
func setRowBytes(r *setRow) int64 {
	return mapEntryBytes + stringBytes + ptrBytes + 48 + int64(len(r.key)) + rowBytes(r.vals)
}

// WithMemBudget makes SetOp charge its state (every distinct row of either
// input, boxed, with its counts) to b after every chunk and barrier,
// failing with SQLSTATE 53200 from Next when b refuses. Close releases it
// all. nil (the default) means unlimited.
func (s *SetOp) WithMemBudget(b MemBudget) *SetOp {
	s.charge = memCharge{budget: b, what: "set operation"}
	return s
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (s *SetOp) StateBytes() int64 { return s.bytes + int64(cap(s.dirty))*ptrBytes }

type setRow struct {
	key   string
	vals  []types.Datum
	n     [2]int64 // live copies on the left and right
	out   int64    // copies emitted
	dirty bool
}

// NewSetOp computes INTERSECT / EXCEPT (kind "intersect" or "except"), ALL
// or distinct, with PostgreSQL multiset semantics (INTERSECT ALL: min(l,r)
// copies; EXCEPT ALL: max(l-r,0); distinct versions: 0 or 1 copy), NULLs
// equal. Both inputs have the column types ts; the output has the left
// input's schema.
func NewSetOp(left, right Executor, ts []types.T, kind string, all bool) (*SetOp, error) {
	var except bool
	switch kind {
	case "intersect":
	case "except":
		except = true
	default:
		return nil, pgerror.Internal("stream: unknown set operation %q", kind)
	}
	ls, rs := left.Schema(), right.Schema()
	if ls.NumFields() != len(ts) || rs.NumFields() != len(ts) {
		return nil, pgerror.Internal("stream: set operation inputs have %d and %d fields and %d types", ls.NumFields(), rs.NumFields(), len(ts))
	}
	for i := range ts {
		if !arrow.TypeEqual(ls.Field(i).Type, rs.Field(i).Type) {
			return nil, pgerror.Internal("stream: set operation column %d types %s and %s differ", i, ls.Field(i).Type, rs.Field(i).Type)
		}
	}
	return &SetOp{al: newAligner(left, right), ts: ts, except: except, all: all, schema: ls,
		wm: newMinWatermarks(ts, 2), rows: map[string]*setRow{}, em: newRowEmitter(ls, ts, memory.DefaultAllocator)}, nil
}

// WithAllocator makes the operator allocate its output with mem (before use).
func (s *SetOp) WithAllocator(mem memory.Allocator) *SetOp {
	s.em.mem = mem
	return s
}

// Schema implements Executor.
func (s *SetOp) Schema() *arrow.Schema { return s.schema }

// Next implements Executor.
func (s *SetOp) Next(ctx context.Context) (Message, error) {
	for {
		if m, ok := s.q.pop(); ok {
			return m, nil
		}
		side, m, err := s.al.next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			err := s.apply(side, m)
			m.Release()
			if err == nil {
				err = s.charge.set(s.StateBytes())
			}
			if err != nil {
				return nil, err
			}
		case Barrier:
			s.flush()
			if err := s.charge.set(s.StateBytes()); err != nil {
				return nil, err
			}
			s.q.push(s.em.take()...)
			s.q.push(m)
		case Watermark:
			if side < 0 {
				return m, nil
			}
			w, ok, err := s.wm.observe(side, m, s.al.ended)
			if err != nil {
				return nil, err
			}
			if ok {
				return w, nil
			}
		default:
			return m, nil
		}
	}
}

func (s *SetOp) apply(side int, c *Chunk) error {
	for i, op := range c.Ops {
		vals := boxRow(c.Batch, i, s.ts)
		s.kbuf = appendRowIdentity(s.kbuf[:0], vals, s.ts)
		r := s.rows[string(s.kbuf)]
		if r == nil {
			r = &setRow{key: string(s.kbuf), vals: vals}
			s.rows[r.key] = r
			s.bytes += setRowBytes(r)
		}
		r.n[side] += op.Sign()
		if r.n[side] < 0 {
			return pgerror.Internal("stream: set operation input %d deletes a row that is not present", side)
		}
		if !r.dirty {
			r.dirty = true
			s.dirty = append(s.dirty, r)
		}
	}
	return nil
}

// want is the number of copies of a row with counts l, r in the result.
func (s *SetOp) want(l, r int64) int64 {
	var n int64
	if s.except {
		if !s.all {
			l, r = min(l, 1), min(r, 1)
		}
		n = max(l-r, 0)
	} else {
		n = min(l, r)
		if !s.all {
			n = min(n, 1)
		}
	}
	return n
}

func (s *SetOp) flush() {
	for _, r := range s.dirty {
		r.dirty = false
		w := s.want(r.n[0], r.n[1])
		s.em.diff(w-r.out, r.vals)
		r.out = w
		if r.n[0] == 0 && r.n[1] == 0 {
			delete(s.rows, r.key)
			s.bytes -= setRowBytes(r)
		}
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
}

// Close implements Executor.
func (s *SetOp) Close() error {
	s.q.release()
	s.em.release()
	s.rows = map[string]*setRow{}
	s.dirty = nil
	s.bytes = 0
	s.charge.release()
	return s.al.close()
}
