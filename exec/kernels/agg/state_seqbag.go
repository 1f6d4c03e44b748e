package agg

import (
	"encoding/binary"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

var (
	_ kernels.GroupStater = (*stringAggAcc)(nil)
	_ kernels.GroupStater = (*arrayAggAcc)(nil)
)

// string_agg: version, uvarint number of live elements, then each in
// arrival order as a uvarint length and its key without the group prefix
// (uvarint value length, value, then 0, or 1 and the delimiter).
//
// array_agg: version, uvarint number of live elements, then each element's
// exact value (state_datum.go) in arrival order.
//
// Tombstones are not saved: a loaded group is compacted.

func (a *stringAggAcc) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.bag.groups[g]
	dst = binary.AppendUvarint(append(dst, stateV1), uint64(st.live))
	for _, e := range st.elems {
		if !e.dead {
			dst = binary.AppendUvarint(dst, uint64(len(e.key)-4))
			dst = append(dst, e.key[4:]...)
		}
	}
	return dst
}

// validStringAggKey reports whether body is a well-formed string_agg key
// (without its group prefix).
func validStringAggKey(body []byte) bool {
	n, k := binary.Uvarint(body)
	if k <= 0 || n > uint64(len(body)-k) {
		return false
	}
	rest := body[k+int(n):]
	return len(rest) == 1 && rest[0] == 0 || len(rest) >= 1 && rest[0] == 1
}

func (a *stringAggAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	n := r.Count(3)
	bodies := make([][]byte, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		b := r.Bytes()
		if r.Err() == nil && !validStringAggKey(b) {
			r.Fail("bad string_agg element")
		}
		bodies = append(bodies, b)
	}
	if err := r.Done(); err != nil {
		return err
	}
	a.bag.clearGroup(g)
	for _, b := range bodies {
		a.bag.push(g, append(a.bag.keyStart(g), b...), nil)
	}
	return nil
}

func (a *arrayAggAcc) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.bag.groups[g]
	dst = binary.AppendUvarint(append(dst, stateV1), uint64(st.live))
	for _, e := range st.elems {
		if !e.dead {
			dst = append(dst, e.key[4:]...)
		}
	}
	return dst
}

func (a *arrayAggAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	n := r.Count(1)
	raws := make([][]byte, 0, n)
	vals := make([]types.Datum, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		d, raw := r.exactDatum(a.elem)
		raws = append(raws, raw)
		vals = append(vals, d)
	}
	if err := r.Done(); err != nil {
		return err
	}
	a.bag.clearGroup(g)
	for i, raw := range raws {
		a.bag.push(g, append(a.bag.keyStart(g), raw...), vals[i])
	}
	return nil
}

// clearGroup empties group g (its live keys leave the index).
func (s *seqBag) clearGroup(g uint32) {
	st := &s.groups[g]
	for _, e := range st.elems {
		if s.indexed && !e.dead {
			delete(s.top, e.key)
		}
		s.bytes -= int64(len(e.key))
	}
	*st = bagGroup{}
}
