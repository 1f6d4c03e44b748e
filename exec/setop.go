package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// SetOp executes UNION, INTERSECT and EXCEPT with PostgreSQL's multiset
// semantics: a row occurring m times on the left and n times on the right
// appears m+n (UNION ALL), min(m,n) (INTERSECT ALL), max(m-n,0) (EXCEPT
// ALL) times, and at most once without ALL. NULLs compare equal. UNION
// streams both inputs; INTERSECT/EXCEPT first count the right input's rows
// by key, then stream the left.
type SetOp struct {
	opBase
	node        *planner.SetOp
	left, right Operator
	enc         vec.KeyEncoder
	seen        map[string]struct{}
	counts      map[string]int64
	onRight     bool
	built       bool
	sel         []int32
}

func newSetOp(env *Env, n *planner.SetOp, left, right Operator) *SetOp {
	s := &SetOp{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, node: n, left: left, right: right}
	s.enc.Types = n.Out.Types()
	s.seen = map[string]struct{}{}
	return s
}

// Init initializes both inputs.
func (s *SetOp) Init(ctx context.Context) error {
	s.initBase(ctx)
	if err := s.left.Init(s.ctx); err != nil {
		return err
	}
	return s.right.Init(s.ctx)
}

func (s *SetOp) relabel(b arrow.RecordBatch, sel []int32) arrow.RecordBatch {
	cols := make([]arrow.Array, b.NumCols())
	for i := range cols {
		if sel == nil {
			cols[i] = b.Column(i)
			cols[i].Retain()
		} else {
			cols[i] = takeArr(b.Column(i), sel)
		}
		if !arrow.TypeEqual(cols[i].DataType(), s.schema.Field(i).Type) {
			t := s.node.Out[i].T
			if a, err := conform(s.env, cols[i], t, t); err == nil {
				cols[i] = a
			}
		}
	}
	n := int(b.NumRows())
	if sel != nil {
		n = len(sel)
	}
	return newBatch(s.schema, cols, n)
}

// Next returns the next batch of result rows.
func (s *SetOp) Next() (arrow.RecordBatch, error) {
	if s.node.Kind == planner.SetUnion {
		return s.nextUnion()
	}
	if !s.built {
		if err := s.countRight(); err != nil {
			return nil, err
		}
	}
	for {
		if err := s.checkCtx(); err != nil {
			return nil, err
		}
		b, err := s.left.Next()
		if err != nil || b == nil {
			return nil, err
		}
		n := int(b.NumRows())
		key := rowKeys(&s.enc, b.Columns())
		sel := s.sel[:0]
		for i := 0; i < n; i++ {
			k := key(i)
			c, inRight := s.counts[string(k)]
			switch {
			case s.node.Kind == planner.SetIntersect:
				if c > 0 {
					sel = append(sel, int32(i))
					if s.node.All {
						s.counts[string(k)] = c - 1
					} else {
						s.counts[string(k)] = 0
					}
				}
			case s.node.All: // EXCEPT ALL
				if c > 0 {
					s.counts[string(k)] = c - 1
				} else {
					sel = append(sel, int32(i))
				}
			default: // EXCEPT
				if !inRight {
					sel = append(sel, int32(i))
					s.counts[string(k)] = 0
					if err := s.grow(int64(len(k)) + 56); err != nil {
						return nil, err
					}
				}
			}
		}
		s.sel = sel
		if len(sel) > 0 {
			return s.emit(s.relabel(b, sel)), nil
		}
	}
}

func (s *SetOp) countRight() error {
	s.built = true
	s.counts = map[string]int64{}
	enc := vec.KeyEncoder{Types: s.enc.Types}
	for {
		if err := s.checkCtx(); err != nil {
			return err
		}
		b, err := s.right.Next()
		if err != nil {
			return err
		}
		if b == nil {
			return nil
		}
		key := rowKeys(&enc, b.Columns())
		var added int64
		for i := 0; i < int(b.NumRows()); i++ {
			k := key(i)
			if _, ok := s.counts[string(k)]; !ok {
				added += int64(len(k)) + 56
			}
			s.counts[string(k)]++
		}
		if err := s.grow(added); err != nil {
			return err
		}
	}
}

func (s *SetOp) nextUnion() (arrow.RecordBatch, error) {
	for {
		if err := s.checkCtx(); err != nil {
			return nil, err
		}
		in := s.left
		if s.onRight {
			in = s.right
		}
		b, err := in.Next()
		if err != nil {
			return nil, err
		}
		if b == nil {
			if s.onRight {
				return nil, nil
			}
			s.onRight = true
			continue
		}
		if s.node.All {
			return s.emit(s.relabel(b, nil)), nil
		}
		sel, err := firstSeen(&s.opBase, &s.enc, s.seen, b.Columns(), int(b.NumRows()), s.sel[:0])
		if err != nil {
			return nil, err
		}
		s.sel = sel
		if len(sel) == int(b.NumRows()) {
			return s.emit(s.relabel(b, nil)), nil
		}
		if len(sel) > 0 {
			return s.emit(s.relabel(b, sel)), nil
		}
	}
}

// Close closes both inputs.
func (s *SetOp) Close() error {
	s.closeBase()
	s.seen, s.counts = nil, nil
	err1 := s.left.Close()
	err2 := s.right.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// rowKeys encodes the rows of cols and returns a lookup of row i's key
// (rows of zero columns all have the empty key).
func rowKeys(enc *vec.KeyEncoder, cols []arrow.Array) func(i int) []byte {
	if len(cols) == 0 {
		return func(int) []byte { return nil }
	}
	enc.Encode(cols)
	return enc.Key
}
