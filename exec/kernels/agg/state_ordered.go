package agg

import (
	"encoding/binary"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

var _ kernels.GroupStater = (*orderedAcc)(nil)

// NewOrdered: version, uvarint number of rows, then each row in order
// (ORDER BY keys, then arrival) as the exact values (state_datum.go) of
// its arguments and keys. The inner accumulator is not saved: it is
// rebuilt from the rows when the group is read.
func (a *orderedAcc) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.groups[g]
	dst = binary.AppendUvarint(append(dst, stateV1), uint64(len(st.rows)))
	for _, row := range st.rows {
		dst = append(dst, row.key...)
	}
	return dst
}

func (a *orderedAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	n := r.Count(len(a.allTypes) * 1)
	rows := make([]ordRow, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		start := r.Rest()
		vals := make([]types.Datum, len(a.allTypes))
		for k, t := range a.allTypes {
			vals[k], _ = r.exactDatum(t)
		}
		if r.Err() != nil {
			break
		}
		if i > 0 && a.cmpKeys(rows[i-1].vals, vals) > 0 {
			r.Fail("rows out of order")
			break
		}
		rows = append(rows, ordRow{vals: vals, key: string(start[:len(start)-len(r.Rest())])})
	}
	if err := r.Done(); err != nil {
		return err
	}
	for i := range rows {
		a.seq++
		rows[i].seq = a.seq
	}
	st := &a.groups[g]
	a.rows += int64(len(rows) - len(st.rows))
	*st = ordGroup{rows: rows, dirty: true}
	return nil
}
