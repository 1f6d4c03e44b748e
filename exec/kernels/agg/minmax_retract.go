package agg

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// NewRetractableMinMax returns a min (or max) accumulator over values of t
// that also implements kernels.Retractor, for streaming views over inputs
// with deletes and for sliding window frames. Each group keeps the multiset
// of its values (memcomparable key → count), so memory grows with the
// number of distinct values per group. Retracting the current extreme only
// marks it stale; the next read rescans that group's keys once (O(distinct
// values)), however many rows were retracted in between. Batch queries
// should use the registry's min/max, which keep one value per group.
//
// SQL-equal values may be spelled differently (1.0 and 1.00, '1 mon' and
// '30 days', -0 and 0, bpchar trailing spaces). Like PostgreSQL's
// numeric_larger and friends the result is the most recently added live
// spelling of the extreme (bpchar: the earliest, as bpchar_larger keeps its
// first argument on ties), retraction removing a spelling's latest copy.
// While a key has one spelling only its count is kept; while it has
// several, each copy added since the second appeared costs 8 bytes of
// arrival sequence.
func NewRetractableMinMax(t types.T, max bool) kernels.GroupedAcc {
	return &retractMinMaxAcc{t: t, max: max}
}

type retractMinMaxAcc struct {
	t      types.T
	max    bool
	groups []mmGroup
	buf    []byte
	exact  []byte
	seq    uint64
	nkeys  int64
}

type mmGroup struct {
	keys  map[string]*mmKey
	best  string
	stale bool // best was retracted: rescan keys on the next read
}

// mmKey is one distinct value (SQL equality) of a group.
type mmKey struct {
	n  int64
	sp []mmSpelling
}

// mmSpelling is one exact representation of a key's value: ancient copies
// arrived before every other live spelling's copies, seqs are the arrival
// numbers of the later ones (ascending). A key's only spelling has no seqs.
type mmSpelling struct {
	exact   string
	ancient int64
	seqs    []uint64
	d       types.Datum
}

// latest and earliest order a key's spellings by their live copies.
func (sp *mmSpelling) latest() uint64 {
	if len(sp.seqs) > 0 {
		return sp.seqs[len(sp.seqs)-1]
	}
	return 0
}

func (sp *mmSpelling) earliest() uint64 {
	if sp.ancient > 0 || len(sp.seqs) == 0 {
		return 0
	}
	return sp.seqs[0]
}

func (a *retractMinMaxAcc) Grow(n int) { a.groups = growTo(a.groups, n) }

func (a *retractMinMaxAcc) MemoryBytes() int64 {
	return int64(cap(a.groups))*48 + a.nkeys*120
}

func (a *retractMinMaxAcc) better(k, than string) bool {
	if a.max {
		return k > than
	}
	return k < than
}

// orderKey appends the memcomparable key of row i of arg: types.AppendKey's
// encoding, built straight from the values for integer-like columns.
func (a *retractMinMaxAcc) orderKey(buf []byte, arg arrow.Array, i int) []byte {
	var v int64
	switch x := arg.(type) {
	case *array.Int16:
		v = int64(x.Value(i))
	case *array.Int32:
		v = int64(x.Value(i))
	case *array.Int64:
		v = x.Value(i)
	case *array.Date32:
		v = int64(x.Value(i))
	case *array.Time64:
		v = int64(x.Value(i))
	case *array.Timestamp:
		v = int64(x.Value(i))
	default:
		return types.AppendKey(buf, types.GetDatum(arg, i, a.t), a.t)
	}
	return binary.BigEndian.AppendUint64(append(buf, 0x01), uint64(v)^1<<63)
}

func (a *retractMinMaxAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup || arg.IsNull(i) {
			continue
		}
		a.buf = a.orderKey(a.buf[:0], arg, i)
		a.exact = appendExactKey(a.exact[:0], arg, i)
		st := &a.groups[g]
		if st.keys == nil {
			st.keys = map[string]*mmKey{}
		}
		a.seq++
		e := st.keys[string(a.buf)]
		if e == nil {
			e = &mmKey{}
			k := string(a.buf)
			st.keys[k] = e
			a.nkeys++
			if len(st.keys) == 1 {
				st.best, st.stale = k, false
			} else if !st.stale && a.better(k, st.best) {
				st.best = k
			}
		}
		e.n++
		j := 0
		for j < len(e.sp) && e.sp[j].exact != string(a.exact) {
			j++
		}
		switch {
		case j < len(e.sp) && len(e.sp) == 1:
			e.sp[j].ancient++
		case j < len(e.sp):
			e.sp[j].seqs = append(e.sp[j].seqs, a.seq)
		case len(e.sp) == 0:
			e.sp = append(e.sp, mmSpelling{exact: string(a.exact), ancient: 1, d: types.GetDatum(arg, i, a.t)})
		default:
			e.sp = append(e.sp, mmSpelling{exact: string(a.exact), seqs: []uint64{a.seq}, d: types.GetDatum(arg, i, a.t)})
		}
	}
	return nil
}

func (a *retractMinMaxAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup || arg.IsNull(i) {
			continue
		}
		a.buf = a.orderKey(a.buf[:0], arg, i)
		st := &a.groups[g]
		e := st.keys[string(a.buf)]
		if e == nil {
			continue // retracting a row never added: nothing to undo
		}
		a.exact = appendExactKey(a.exact[:0], arg, i)
		j := 0
		for j < len(e.sp) && e.sp[j].exact != string(a.exact) {
			j++
		}
		if j == len(e.sp) {
			continue // this spelling was never added
		}
		sp := &e.sp[j]
		if n := len(sp.seqs); n > 0 {
			sp.seqs = sp.seqs[:n-1]
		} else {
			sp.ancient--
		}
		if sp.ancient == 0 && len(sp.seqs) == 0 {
			e.sp = append(e.sp[:j], e.sp[j+1:]...)
		}
		if len(e.sp) == 1 && e.sp[0].seqs != nil {
			e.sp[0].ancient += int64(len(e.sp[0].seqs))
			e.sp[0].seqs = nil
		}
		if e.n--; e.n > 0 {
			continue
		}
		delete(st.keys, string(a.buf))
		a.nkeys--
		if st.best == string(a.buf) {
			st.stale = true
		}
	}
	return nil
}

func (a *retractMinMaxAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	st := &a.groups[g]
	if len(st.keys) == 0 {
		b.AppendNull()
		return nil
	}
	if st.stale {
		first := true
		for k := range st.keys {
			if first || a.better(k, st.best) {
				st.best, first = k, false
			}
		}
		st.stale = false
	}
	sp := st.keys[st.best].sp
	pick := 0
	for j := range sp {
		if a.t.Family == types.FamBpchar {
			if sp[j].earliest() < sp[pick].earliest() {
				pick = j
			}
		} else if sp[j].latest() > sp[pick].latest() {
			pick = j
		}
	}
	types.AppendDatum(b, sp[pick].d, a.t)
	return nil
}

func (a *retractMinMaxAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.groups), b)
}
