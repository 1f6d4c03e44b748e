package stream

import (
	"bytes"
	"context"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// EOWC implements EMIT ON WINDOW CLOSE: it holds back its input's changes
// and emits each row once, as an Insert, when the watermark on the window
// column passes the row's window. Its output is append-only.
//
// Pending rows are keyed by keyCols (the view key of the input, e.g. the
// group columns of an aggregate; nil means the whole row) with a
// multiplicity: Insert and UpdateInsert add one (a keyed row takes the new
// values), Delete and UpdateDelete remove one, and a row whose multiplicity
// reaches 0 is forgotten. So an update pair of a key replaces its pending
// row, and duplicate rows keyed by all columns are emitted as often as they
// are pending.
//
// On Watermark{windowCol, w} every pending row whose window value is < w is
// emitted, ordered by window value (then key), and forgotten; the watermark
// is then forwarded (a window-column watermark not above the previous one is
// dropped; others pass on). Input rows for a window already closed (value <
// the last watermark) are dropped and counted in LateRows. Rows whose window
// value is NULL never close.
type EOWC struct {
	input     Executor
	inTypes   []types.T
	keyCols   []int
	keyTypes  []types.T
	windowCol int
	mem       memory.Allocator

	pending  map[string]*eowcRow
	closed   types.Datum // last watermark on windowCol (nil: none)
	late     int64
	queue    []Message
	keyBuf   []byte
	multiset bool // no key columns: the whole row is the key

	bytes  int64 // eowcRowBytes of the pending rows
	charge memCharge
}

// eowcRowBytes estimates one pending row without its values: its map
// entry, key and eowcRow (rowBytes of its values come on top).
func eowcRowBytes(r *eowcRow) int64 {
	return mapEntryBytes + stringBytes + ptrBytes + 48 + int64(len(r.key))
}

// WithMemBudget makes EOWC charge its state (every pending row, boxed,
// until its window closes) to b after every chunk and watermark, failing
// with SQLSTATE 53200 from Next when b refuses. Close releases it all. nil
// (the default) means unlimited.
func (e *EOWC) WithMemBudget(b MemBudget) *EOWC {
	e.charge = memCharge{budget: b, what: "emit-on-window-close"}
	return e
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (e *EOWC) StateBytes() int64 { return e.bytes }

type eowcRow struct {
	key   string
	vals  []types.Datum
	count int64
}

// NewEOWC returns an emit-on-window-close stage over input (columns of SQL
// types inTypes) keyed by keyCols, closing on watermarks of windowCol.
func NewEOWC(input Executor, inTypes []types.T, keyCols []int, windowCol int) (*EOWC, error) {
	if input.Schema().NumFields() != len(inTypes) {
		return nil, pgerror.Internal("stream: EOWC input has %d fields and %d types", input.Schema().NumFields(), len(inTypes))
	}
	if windowCol < 0 || windowCol >= len(inTypes) {
		return nil, pgerror.Internal("stream: EOWC window column %d out of range", windowCol)
	}
	e := &EOWC{input: input, inTypes: inTypes, windowCol: windowCol, mem: memory.DefaultAllocator, pending: map[string]*eowcRow{}}
	if len(keyCols) == 0 {
		for i := range inTypes {
			e.keyCols = append(e.keyCols, i)
		}
	} else {
		e.keyCols = append([]int(nil), keyCols...)
	}
	for _, c := range e.keyCols {
		if c < 0 || c >= len(inTypes) {
			return nil, pgerror.Internal("stream: EOWC key column %d out of range", c)
		}
		e.keyTypes = append(e.keyTypes, inTypes[c])
	}
	e.multiset = len(keyCols) == 0
	return e, nil
}

// WithAllocator makes EOWC allocate its output with mem (before use).
func (e *EOWC) WithAllocator(mem memory.Allocator) *EOWC {
	e.mem = mem
	return e
}

// Schema implements Executor.
func (e *EOWC) Schema() *arrow.Schema { return e.input.Schema() }

// LateRows is the number of input rows dropped because their window had
// already closed.
func (e *EOWC) LateRows() int64 { return e.late }

// Pending is the number of rows held back.
func (e *EOWC) Pending() int { return len(e.pending) }

// Next implements Executor.
func (e *EOWC) Next(ctx context.Context) (Message, error) {
	for {
		if len(e.queue) > 0 {
			m := e.queue[0]
			e.queue[0] = nil
			e.queue = e.queue[1:]
			return m, nil
		}
		m, err := e.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			e.apply(m)
			m.Release()
			if err := e.charge.set(e.StateBytes()); err != nil {
				return nil, err
			}
		case Watermark:
			if m.Col != e.windowCol || m.Value == nil {
				return m, nil
			}
			if e.closed != nil && types.Compare(m.Value, e.closed, e.inTypes[e.windowCol]) <= 0 {
				continue // not an advance
			}
			e.closed = m.Value
			out := e.close(m.Value)
			if err := e.charge.set(e.StateBytes()); err != nil {
				if out != nil {
					out.Release()
				}
				return nil, err
			}
			if out == nil {
				return m, nil
			}
			e.queue = append(e.queue, m)
			return out, nil
		default:
			return m, nil
		}
	}
}

func (e *EOWC) apply(c *Chunk) {
	b := c.Batch
	keys := make([]arrow.Array, len(e.keyCols))
	for i, col := range e.keyCols {
		keys[i] = b.Column(col)
	}
	wcol := b.Column(e.windowCol)
	wt := e.inTypes[e.windowCol]
	for i, op := range c.Ops {
		if e.closed != nil && wcol.IsValid(i) && types.Compare(types.GetDatum(wcol, i, wt), e.closed, wt) < 0 {
			e.late++
			continue
		}
		e.keyBuf = vec.AppendRowKey(e.keyBuf[:0], keys, e.keyTypes, i)
		r := e.pending[string(e.keyBuf)]
		if op.Sign() > 0 {
			if r == nil {
				r = &eowcRow{key: string(e.keyBuf)}
				e.pending[r.key] = r
				e.bytes += eowcRowBytes(r)
			}
			if r.vals == nil || !e.multiset {
				if r.vals != nil {
					e.bytes -= rowBytes(r.vals)
				}
				r.vals = make([]types.Datum, len(e.inTypes))
				for col, t := range e.inTypes {
					r.vals[col] = types.GetDatum(b.Column(col), i, t)
				}
				e.bytes += rowBytes(r.vals)
			}
			r.count++
			continue
		}
		if r == nil {
			continue
		}
		r.count--
		if r.count <= 0 {
			delete(e.pending, r.key)
			e.bytes -= eowcRowBytes(r) + rowBytes(r.vals)
		}
	}
}

// close emits and forgets the pending rows of windows below w (nil: none).
func (e *EOWC) close(w types.Datum) *Chunk {
	wt := e.inTypes[e.windowCol]
	var due []*eowcRow
	for _, r := range e.pending {
		v := r.vals[e.windowCol]
		if v != nil && types.Compare(v, w, wt) < 0 {
			due = append(due, r)
		}
	}
	if len(due) == 0 {
		return nil
	}
	sort.Slice(due, func(i, j int) bool {
		if c := types.Compare(due[i].vals[e.windowCol], due[j].vals[e.windowCol], wt); c != 0 {
			return c < 0
		}
		return bytes.Compare([]byte(due[i].key), []byte(due[j].key)) < 0
	})
	bs := make([]array.Builder, len(e.inTypes))
	for i, t := range e.inTypes {
		bs[i] = array.NewBuilder(e.mem, types.ArrowType(t))
	}
	n := 0
	for _, r := range due {
		delete(e.pending, r.key)
		e.bytes -= eowcRowBytes(r) + rowBytes(r.vals)
		for k := int64(0); k < r.count; k++ {
			for i, t := range e.inTypes {
				types.AppendDatum(bs[i], r.vals[i], t)
			}
			n++
		}
	}
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		b.Release()
	}
	out := array.NewRecordBatch(e.input.Schema(), cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	ops := make([]Op, n) // all Insert
	return &Chunk{Batch: out, Ops: ops}
}

// Close implements Executor.
func (e *EOWC) Close() error {
	for _, m := range e.queue {
		ReleaseMessage(m)
	}
	e.queue = nil
	e.pending = map[string]*eowcRow{}
	e.bytes = 0
	e.charge.release()
	return e.input.Close()
}
