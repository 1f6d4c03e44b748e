package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// NewRetractableMinMax returns a min (or max) accumulator over values of t
// that also implements kernels.Retractor, for streaming views over inputs
// with deletes and for sliding window frames. Each group keeps the multiset
// of its values (memcomparable key → count), so memory grows with the
// number of distinct values per group; retracting the current extreme
// rescans that group's multiset. Batch queries should use the registry's
// min/max, which keep one value per group.
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
}

type mmGroup struct {
	counts map[string]int64
	reps   map[string][]mmSpelling // the live spellings of each key
	best   string
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
	m := int64(cap(a.groups)) * 48
	for i := range a.groups {
		for k := range a.groups[i].counts {
			m += int64(len(k))*2 + 64
		}
	}
	return m
}

func (a *retractMinMaxAcc) better(k, than string) bool {
	if a.max {
		return k > than
	}
	return k < than
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
		d := types.GetDatum(arg, i, a.t)
		a.buf = types.AppendKey(a.buf[:0], d, a.t)
		a.exact = appendExactKey(a.exact[:0], arg, i)
		st := &a.groups[g]
		if st.counts == nil {
			st.counts = map[string]int64{}
			st.reps = map[string][]mmSpelling{}
		}
		k := string(a.buf)
		st.counts[k]++
		a.seq++
		sp := st.reps[k]
		j := 0
		for j < len(sp) && sp[j].exact != string(a.exact) {
			j++
		}
		switch {
		case j < len(sp) && len(sp) == 1:
			sp[j].ancient++
		case j < len(sp):
			sp[j].seqs = append(sp[j].seqs, a.seq)
		case len(sp) == 0:
			st.reps[k] = append(sp, mmSpelling{exact: string(a.exact), ancient: 1, d: d})
		default:
			st.reps[k] = append(sp, mmSpelling{exact: string(a.exact), seqs: []uint64{a.seq}, d: d})
		}
		if len(st.counts) == 1 || !a.better(st.best, k) {
			st.best = k
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
		a.buf = types.AppendKey(a.buf[:0], types.GetDatum(arg, i, a.t), a.t)
		a.exact = appendExactKey(a.exact[:0], arg, i)
		st := &a.groups[g]
		c, ok := st.counts[string(a.buf)]
		if !ok {
			continue // retracting a row never added: nothing to undo
		}
		sp := st.reps[string(a.buf)]
		j := 0
		for j < len(sp) && sp[j].exact != string(a.exact) {
			j++
		}
		if j == len(sp) {
			continue // this spelling was never added
		}
		if n := len(sp[j].seqs); n > 0 {
			sp[j].seqs = sp[j].seqs[:n-1]
		} else {
			sp[j].ancient--
		}
		if sp[j].ancient == 0 && len(sp[j].seqs) == 0 {
			sp = append(sp[:j], sp[j+1:]...)
			st.reps[string(a.buf)] = sp
		}
		if len(sp) == 1 && sp[0].seqs != nil {
			sp[0].ancient += int64(len(sp[0].seqs))
			sp[0].seqs = nil
		}
		if c > 1 {
			st.counts[string(a.buf)] = c - 1
			continue
		}
		delete(st.counts, string(a.buf))
		delete(st.reps, string(a.buf))
		if st.best == string(a.buf) {
			first := true
			for k := range st.counts {
				if first || a.better(k, st.best) {
					st.best, first = k, false
				}
			}
		}
	}
	return nil
}

func (a *retractMinMaxAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	st := &a.groups[g]
	if len(st.counts) == 0 {
		b.AppendNull()
		return nil
	}
	sp := st.reps[st.best]
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
