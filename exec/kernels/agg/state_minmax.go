package agg

import (
	"encoding/binary"
	"slices"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

var _ kernels.GroupStater = (*retractMinMaxAcc)(nil)

// Retractable min/max: version, uvarint number of distinct values (keys,
// in key order); per key a uvarint number of spellings, and per spelling
// its exact value (state_datum.go), a varint count of ancient copies, a
// uvarint number of later copies and their arrival numbers (uvarint
// deltas, ascending). Arrival numbers only order copies within a group:
// loading renumbers them after every number the accumulator has issued,
// keeping their order.
func (a *retractMinMaxAcc) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.groups[g]
	dst = binary.AppendUvarint(append(dst, stateV1), uint64(len(st.keys)))
	keys := make([]string, 0, len(st.keys))
	for k := range st.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := st.keys[k]
		dst = binary.AppendUvarint(dst, uint64(len(e.sp)))
		for j := range e.sp {
			sp := &e.sp[j]
			dst = append(dst, sp.exact...)
			dst = binary.AppendVarint(dst, sp.ancient)
			dst = binary.AppendUvarint(dst, uint64(len(sp.seqs)))
			prev := uint64(0)
			for _, s := range sp.seqs {
				dst = binary.AppendUvarint(dst, s-prev)
				prev = s
			}
		}
	}
	return dst
}

func (a *retractMinMaxAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	nkeys := r.Count(4)
	keys := make(map[string]*mmKey, nkeys)
	var seqs []uint64 // every arrival number, for renumbering
	var kb []byte
	for i := 0; i < nkeys && r.Err() == nil; i++ {
		nsp := r.Count(3)
		if nsp == 0 {
			r.Fail("value without copies")
		}
		e := &mmKey{sp: make([]mmSpelling, 0, nsp)}
		var key string
		for j := 0; j < nsp && r.Err() == nil; j++ {
			d, exact := r.exactDatum(a.t)
			if r.Err() == nil && d == nil {
				r.Fail("NULL in min/max state")
			}
			sp := mmSpelling{exact: string(exact), ancient: r.NonNeg(), d: d}
			n := r.Count(1)
			if n > 0 {
				sp.seqs = make([]uint64, n)
			}
			prev := uint64(0)
			for k := range sp.seqs {
				delta := r.Uvarint()
				if delta == 0 && k > 0 || prev+delta < prev {
					r.Fail("arrival numbers not ascending")
				}
				prev += delta
				sp.seqs[k] = prev
			}
			seqs = append(seqs, sp.seqs...)
			if sp.ancient == 0 && len(sp.seqs) == 0 {
				r.Fail("spelling without copies")
			}
			if r.Err() != nil {
				break
			}
			kb = types.AppendKey(kb[:0], d, a.t)
			switch {
			case j == 0:
				key = string(kb)
			case string(kb) != key:
				r.Fail("spellings of different values")
			}
			for _, o := range e.sp {
				if o.exact == sp.exact {
					r.Fail("duplicate spelling")
				}
			}
			e.n += sp.ancient + int64(len(sp.seqs))
			e.sp = append(e.sp, sp)
		}
		if r.Err() != nil {
			break
		}
		if _, dup := keys[key]; dup {
			r.Fail("duplicate value")
			break
		}
		if len(e.sp) == 1 && e.sp[0].seqs != nil {
			// A value's only spelling keeps plain counts.
			e.sp[0].ancient += int64(len(e.sp[0].seqs))
			e.sp[0].seqs = nil
		}
		keys[key] = e
	}
	if err := r.Done(); err != nil {
		return err
	}
	// Renumber arrivals after every number issued so far, in order.
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	for _, e := range keys {
		for j := range e.sp {
			for k, s := range e.sp[j].seqs {
				i, _ := slices.BinarySearch(seqs, s)
				e.sp[j].seqs[k] = a.seq + 1 + uint64(i)
			}
		}
	}
	a.seq += uint64(len(seqs))
	st := &a.groups[g]
	a.nkeys += int64(len(keys) - len(st.keys))
	*st = mmGroup{stale: true}
	if len(keys) > 0 {
		st.keys = keys
	}
	return nil
}
