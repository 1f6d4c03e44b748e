package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// Scan reads a base table through the Env's TableReader.
type Scan struct {
	opBase
	node  *planner.Scan
	inner Operator
}

func newScan(env *Env, n *planner.Scan) (*Scan, error) {
	if env.Tables == nil {
		return nil, pgerror.Internal("no table reader for scan of %s", n.Table.Name)
	}
	return &Scan{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, node: n}, nil
}

// Init opens the table snapshot.
func (s *Scan) Init(ctx context.Context) error {
	s.initBase(ctx)
	op, err := s.env.Tables.ScanTable(s.ctx, s.node.Table, s.node.Cols, s.node.RowID)
	if err != nil {
		return err
	}
	s.inner = op
	return op.Init(s.ctx)
}

// Next returns the next batch of the table (relabelled to the plan schema).
func (s *Scan) Next() (arrow.RecordBatch, error) {
	if err := s.checkCtx(); err != nil {
		return nil, err
	}
	if s.inner == nil {
		return nil, nil
	}
	for {
		b, err := s.inner.Next()
		if err != nil || b == nil {
			return nil, err
		}
		if b.NumRows() == 0 {
			continue
		}
		if int(b.NumCols()) != s.schema.NumFields() {
			return nil, pgerror.Internal("scan of %s returned %d columns, want %d", s.node.Table.Name, b.NumCols(), s.schema.NumFields())
		}
		cols := make([]arrow.Array, b.NumCols())
		for i, c := range b.Columns() {
			c.Retain()
			t := s.node.Out[i].T
			a, err := conform(s.env, c, t, t)
			if err != nil {
				releaseAll(cols[:i])
				return nil, err
			}
			cols[i] = a
		}
		return s.emit(newBatch(s.schema, cols, int(b.NumRows()))), nil
	}
}

// Close closes the table scan.
func (s *Scan) Close() error {
	s.closeBase()
	if s.inner != nil {
		err := s.inner.Close()
		s.inner = nil
		return err
	}
	return nil
}
