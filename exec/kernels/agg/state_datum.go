package agg

import (
	"encoding/binary"
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Values inside group states (min/max multisets, string_agg and array_agg
// elements, DISTINCT representatives, ORDER BY rows) use appendExactKey's
// encoding: a flag byte (0 NULL, 1 value), then the stored representation
// of the value in its Arrow column (little-endian fixed width; strings,
// numeric text and bytea as uvarint length and bytes; intervals as months,
// days, nanoseconds; arrays as uvarint count and elements). It is exact
// (float bits, numeric display scale, bpchar padding), self-delimiting,
// and is what the accumulators already keep as exact keys, so saving a
// value usually copies bytes it already holds.

// appendExactDatum appends the exact encoding of d (a Datum of t, or nil):
// the bytes appendExactKey writes for d stored in an Arrow column of t.
func appendExactDatum(dst []byte, d types.Datum, t types.T) []byte {
	if d == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch t.Family {
	case types.FamBool:
		if d.(bool) {
			return append(dst, 1)
		}
		return append(dst, 0)
	case types.FamInt2:
		return binary.LittleEndian.AppendUint16(dst, uint16(d.(int64)))
	case types.FamInt4:
		return binary.LittleEndian.AppendUint32(dst, uint32(d.(int64)))
	case types.FamInt8, types.FamOid, types.FamRegclass, types.FamRegtype:
		return binary.LittleEndian.AppendUint64(dst, uint64(d.(int64)))
	case types.FamFloat4:
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(d.(float64))))
	case types.FamFloat8:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(d.(float64)))
	case types.FamDate:
		return binary.LittleEndian.AppendUint32(dst, uint32(d.(types.Date)))
	case types.FamTime:
		return binary.LittleEndian.AppendUint64(dst, uint64(d.(types.TimeOfDay)))
	case types.FamTimestamp:
		return binary.LittleEndian.AppendUint64(dst, uint64(d.(types.Timestamp)))
	case types.FamTimestampTZ:
		return binary.LittleEndian.AppendUint64(dst, uint64(d.(types.TimestampTZ)))
	case types.FamInterval:
		v := d.(types.Interval)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.Months))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.Days))
		return binary.LittleEndian.AppendUint64(dst, uint64(v.Micros*1000))
	case types.FamBytea:
		v := d.([]byte)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		return append(dst, v...)
	case types.FamArray:
		a := d.(*types.Array)
		et := t.ElemType()
		dst = binary.AppendUvarint(dst, uint64(len(a.Elems)))
		for _, e := range a.Elems {
			dst = appendExactDatum(dst, e, et)
		}
		return dst
	}
	// Utf8 columns: numeric as its canonical text, the rest as strings.
	var s []byte
	switch v := d.(type) {
	case string:
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		return append(dst, v...)
	default:
		s = types.AppendText(nil, nil, v, t)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// exactDatum decodes one appendExactDatum value of t and returns it with
// the bytes it took (which alias the input).
func (r *stateReader) exactDatum(t types.T) (types.Datum, []byte) {
	start := r.Rest()
	d := r.exactBody(t)
	if r.Err() != nil {
		return nil, nil
	}
	return d, start[:len(start)-len(r.Rest())]
}

func (r *stateReader) exactBody(t types.T) types.Datum {
	switch r.Byte() {
	case 0:
		return nil
	case 1:
	default:
		r.Fail("bad value flag")
		return nil
	}
	le := binary.LittleEndian
	switch t.Family {
	case types.FamBool:
		switch r.Byte() {
		case 0:
			return false
		case 1:
			return true
		}
		r.Fail("bad boolean")
		return nil
	case types.FamInt2:
		return int64(int16(le.Uint16(r.Fixed(2))))
	case types.FamInt4:
		return int64(int32(le.Uint32(r.Fixed(4))))
	case types.FamInt8, types.FamOid, types.FamRegclass, types.FamRegtype:
		return int64(le.Uint64(r.Fixed(8)))
	case types.FamFloat4:
		return float64(math.Float32frombits(le.Uint32(r.Fixed(4))))
	case types.FamFloat8:
		return math.Float64frombits(le.Uint64(r.Fixed(8)))
	case types.FamDate:
		return types.Date(int32(le.Uint32(r.Fixed(4))))
	case types.FamTime:
		return types.TimeOfDay(int64(le.Uint64(r.Fixed(8))))
	case types.FamTimestamp:
		return types.Timestamp(int64(le.Uint64(r.Fixed(8))))
	case types.FamTimestampTZ:
		return types.TimestampTZ(int64(le.Uint64(r.Fixed(8))))
	case types.FamInterval:
		b := r.Fixed(16)
		return types.Interval{Months: int32(le.Uint32(b)), Days: int32(le.Uint32(b[4:])),
			Micros: int64(le.Uint64(b[8:])) / 1000}
	case types.FamBytea:
		return append([]byte{}, r.Bytes()...)
	case types.FamArray:
		n := r.Count(1)
		et := t.ElemType()
		a := &types.Array{Elem: et, Elems: make([]types.Datum, 0, n)}
		for i := 0; i < n && r.Err() == nil; i++ {
			a.Elems = append(a.Elems, r.exactBody(et))
		}
		return a
	case types.FamNumeric:
		s := r.Bytes()
		if r.Err() != nil {
			return nil
		}
		d, _, err := apd.NewFromString(string(s))
		if err != nil {
			r.Fail("bad numeric")
			return nil
		}
		return d
	}
	switch t.Family {
	case types.FamText, types.FamVarchar, types.FamBpchar, types.FamName, types.FamJSONB,
		types.FamUnknown, types.FamRecord, types.FamVoid:
		return string(r.Bytes())
	}
	r.Fail("unsupported value type")
	return nil
}
