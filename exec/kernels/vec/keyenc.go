package vec

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Key encoding: each column of a row appends a NULL tag (0x00 NULL, 0x01
// value) and, for values, a canonical form:
//
//	ints, date, time, timestamp  8 bytes, big endian, sign bit flipped
//	float4/float8                8 bytes of floatKey (−0 = 0, one NaN)
//	bool                         1 byte
//	numeric                      AppendNumericKey (value, self-delimiting)
//	text/bytea                   uvarint length + bytes (bpchar: trimmed)
//	interval                     span: days (8 bytes) + µs in day (8 bytes)
//	array                        uvarint count + each element (tagged)
//
// Equal encodings ⇔ equal rows in the GROUP BY sense. The encoding is not
// order-preserving for text (length prefix); use the sort kernels to order.

// AppendRowKey appends the key of row i of cols (types ts) to buf.
func AppendRowKey(buf []byte, cols []arrow.Array, ts []types.T, i int) []byte {
	for c, col := range cols {
		t := types.UnknownT
		if c < len(ts) {
			t = ts[c]
		}
		buf = appendValueKey(buf, col, t, i)
	}
	return buf
}

// KeyEncoder encodes whole batches of rows into one arena.
type KeyEncoder struct {
	Types []types.T
	// Arena holds the encoded keys of the last Encode; row i is
	// Arena[Offsets[i]:Offsets[i+1]].
	Arena   []byte
	Offsets []int
}

// Encode encodes every row of cols, replacing the previous contents.
func (e *KeyEncoder) Encode(cols []arrow.Array) {
	n := 0
	if len(cols) > 0 {
		n = cols[0].Len()
	}
	e.Arena = e.Arena[:0]
	e.Offsets = append(e.Offsets[:0], 0)
	for i := 0; i < n; i++ {
		e.Arena = AppendRowKey(e.Arena, cols, e.Types, i)
		e.Offsets = append(e.Offsets, len(e.Arena))
	}
}

// Key returns row i's encoded key from the last Encode.
func (e *KeyEncoder) Key(i int) []byte { return e.Arena[e.Offsets[i]:e.Offsets[i+1]] }

func appendValueKey(buf []byte, col arrow.Array, t types.T, i int) []byte {
	if col.IsNull(i) {
		return append(buf, 0x00)
	}
	buf = append(buf, 0x01)
	switch a := col.(type) {
	case *array.Int16:
		return appendIntKey(buf, int64(a.Value(i)))
	case *array.Int32:
		return appendIntKey(buf, int64(a.Value(i)))
	case *array.Int64:
		return appendIntKey(buf, a.Value(i))
	case *array.Date32:
		return appendIntKey(buf, int64(a.Value(i)))
	case *array.Time64:
		return appendIntKey(buf, int64(a.Value(i)))
	case *array.Timestamp:
		return appendIntKey(buf, int64(a.Value(i)))
	case *array.Float32:
		return binary.BigEndian.AppendUint64(buf, floatKey(float64(a.Value(i))))
	case *array.Float64:
		return binary.BigEndian.AppendUint64(buf, floatKey(a.Value(i)))
	case *array.Boolean:
		if a.Value(i) {
			return append(buf, 1)
		}
		return append(buf, 0)
	case *array.String:
		s := a.Value(i)
		switch t.Family {
		case types.FamNumeric:
			buf, _ = AppendNumericKey(buf, s)
			return buf
		case types.FamJSONB:
			k := types.AppendKey(nil, s, t)
			buf = binary.AppendUvarint(buf, uint64(len(k)))
			return append(buf, k...)
		case types.FamBpchar:
			b := trimBpchar(stringBytes(s))
			buf = binary.AppendUvarint(buf, uint64(len(b)))
			return append(buf, b...)
		}
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		return append(buf, s...)
	case *array.Binary:
		b := a.Value(i)
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		return append(buf, b...)
	case *array.MonthDayNanoInterval:
		d, r := intervalSpan(a.Value(i))
		buf = appendIntKey(buf, d)
		return appendIntKey(buf, r)
	case *array.List:
		s, e := a.ValueOffsets(i)
		buf = binary.AppendUvarint(buf, uint64(e-s))
		child := a.ListValues()
		et := t.ElemType()
		for j := s; j < e; j++ {
			buf = appendValueKey(buf, child, et, int(j))
		}
		return buf
	}
	s := col.ValueStr(i)
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendIntKey(buf []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(buf, uint64(v)^1<<63)
}
