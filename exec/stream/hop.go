package stream

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Hop is the streaming hop(t, ts, slide, size [, offset]) table function:
// every input row becomes size/slide output rows, the input columns followed
// by window_start and window_end (typed like the time column). A row with a
// NULL time has no window and produces nothing.
//
// Ops: every output row carries its input row's op. An update pair whose
// halves produce the same number of windows stays a sequence of update pairs
// (old window k paired with new window k); otherwise its halves become a
// plain Delete and Insert.
//
// Watermarks: Watermark{timeCol, w} passes on unchanged and also yields
// Watermark{window_start column, first window start of w} — the smallest
// window_start a row with time ≥ w can have. Other watermarks pass on.
type Hop struct {
	input               Executor
	timeCol             int
	slide, size, offset types.Interval
	schema              *arrow.Schema
	mem                 memory.Allocator
	tz, isInt           bool
	pending             []Message

	charge memCharge // the last expanded chunk, until the next call
	perRow int64     // windows per row (size/slide)
}

// WithMemBudget makes Hop charge each expanded chunk (an input chunk
// times size/slide windows, the one thing hop holds) to b until its next
// Next call: an estimate is reserved before the expansion is allocated,
// then the real size. Next fails with SQLSTATE 53200 when b refuses.
// Close releases it. nil (the default) means unlimited.
func (h *Hop) WithMemBudget(b MemBudget) *Hop {
	h.charge = memCharge{budget: b, what: "hop window"}
	return h
}

// NewHop returns hop over input's column timeCol. Bad intervals are 0A000
// (months) or 22023 (non-positive, or size not a multiple of slide).
func NewHop(input Executor, timeCol int, slide, size, offset types.Interval) (*Hop, error) {
	if err := timewin.ValidateHop(slide, size); err != nil {
		return nil, err
	}
	if _, err := timewin.Micros(offset); err != nil {
		return nil, err
	}
	s := input.Schema()
	if timeCol < 0 || timeCol >= s.NumFields() {
		return nil, pgerror.Internal("stream: hop time column %d out of range", timeCol)
	}
	h := &Hop{input: input, timeCol: timeCol, slide: slide, size: size, offset: offset, mem: memory.DefaultAllocator}
	switch dt := s.Field(timeCol).Type.(type) {
	case *arrow.TimestampType:
		h.tz = dt.TimeZone != ""
	case *arrow.Int64Type:
		h.isInt = true
	default:
		return nil, pgerror.New(pgerror.DatatypeMismatch, "hop time column must be a timestamp, not %s", dt)
	}
	h.schema = timewin.WindowSchema(s, timeCol)
	sl, err1 := timewin.Micros(slide)
	sz, err2 := timewin.Micros(size)
	if err1 == nil && err2 == nil && sl > 0 {
		h.perRow = max(sz/sl, 1)
	}
	return h, nil
}

// WithAllocator makes hop allocate its output with mem (before use).
func (h *Hop) WithAllocator(mem memory.Allocator) *Hop {
	h.mem = mem
	return h
}

// Schema implements Executor.
func (h *Hop) Schema() *arrow.Schema { return h.schema }

// Next implements Executor.
func (h *Hop) Next(ctx context.Context) (Message, error) {
	h.charge.release()
	for {
		if len(h.pending) > 0 {
			m := h.pending[0]
			h.pending[0] = nil
			h.pending = h.pending[1:]
			return m, nil
		}
		m, err := h.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			// Reserve the expansion's estimate (the input's bytes times the
			// windows per row, plus the two window columns) before
			// allocating it.
			est := h.perRow * (batchBytes(m.Batch) + 16*int64(m.NumRows()))
			if err := h.charge.set(est); err != nil {
				m.Release()
				return nil, err
			}
			out, err := h.expand(m)
			m.Release()
			if err == nil {
				var n int64
				if out != nil {
					n = batchBytes(out.Batch)
				}
				err = h.charge.set(n)
			}
			if err != nil {
				if out != nil {
					out.Release()
				}
				return nil, err
			}
			if out != nil {
				return out, nil
			}
		case Watermark:
			if m.Col == h.timeCol {
				if v, ok := datumMicros(m.Value); ok {
					starts, err := timewin.HopStarts(v, h.slide, h.size, h.offset, nil)
					if err == nil {
						h.pending = append(h.pending, Watermark{Col: h.schema.NumFields() - 2, Value: h.datum(starts[0])})
					}
				}
			}
			return m, nil
		default:
			return m, nil
		}
	}
}

func (h *Hop) datum(v int64) types.Datum {
	switch {
	case h.isInt:
		return v
	case h.tz:
		return types.TimestampTZ(v)
	}
	return types.Timestamp(v)
}

// expand returns c's windows (nil if none); it does not release c.
func (h *Hop) expand(c *Chunk) (*Chunk, error) {
	out, src, err := timewin.HopExpand(h.mem, c.Batch, h.timeCol, h.slide, h.size, h.offset)
	if err != nil {
		return nil, err
	}
	if len(src) == 0 {
		out.Release()
		return nil, nil
	}
	// Output rows of input row i are the run src[lo[i]:lo[i]+cnt[i]].
	n := len(c.Ops)
	lo := make([]int32, n)
	cnt := make([]int32, n)
	for k := len(src) - 1; k >= 0; k-- {
		lo[src[k]] = int32(k)
		cnt[src[k]]++
	}
	ops := make([]Op, len(src))
	var perm []int32
	pos := 0
	for i := 0; i < n; i++ {
		op := c.Ops[i]
		if op == UpdateDelete && i+1 < n && c.Ops[i+1] == UpdateInsert {
			if cnt[i] == cnt[i+1] {
				if perm == nil {
					perm = make([]int32, 0, len(src))
					for k := 0; k < pos; k++ {
						perm = append(perm, int32(k))
					}
				}
				for k := int32(0); k < cnt[i]; k++ {
					perm = append(perm, lo[i]+k, lo[i+1]+k)
					ops[pos], ops[pos+1] = UpdateDelete, UpdateInsert
					pos += 2
				}
				i++
				continue
			}
			op = Delete
		} else if op == UpdateDelete {
			op = Delete
		} else if op == UpdateInsert {
			op = Insert
		}
		for k := int32(0); k < cnt[i]; k++ {
			if perm != nil {
				perm = append(perm, lo[i]+k)
			}
			ops[pos] = op
			pos++
		}
	}
	if perm != nil {
		reordered := vec.TakeBatch(h.mem, out, perm)
		out.Release()
		out = reordered
	}
	return &Chunk{Batch: out, Ops: ops}, nil
}

// Close implements Executor.
func (h *Hop) Close() error {
	for _, m := range h.pending {
		ReleaseMessage(m)
	}
	h.pending = nil
	h.charge.release()
	return h.input.Close()
}
