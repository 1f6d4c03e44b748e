package keys

import (
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

const (
	markValue = 0x01
	markNull  = 0x02
)

// Kind selects how a column is encoded.
type Kind uint8

const (
	// KindNative encodes by the Arrow type.
	KindNative Kind = iota
	// KindNumericText encodes a Utf8 column holding PostgreSQL numeric text
	// ("-12.50", "NaN", "Infinity") by numeric value.
	KindNumericText
)

// Column describes one key column.
type Column struct {
	Type arrow.DataType
	Kind Kind
}

// Encoder encodes rows of key columns. It is immutable and safe for
// concurrent use.
type Encoder struct {
	cols []Column
}

// NewEncoder checks that every column type is supported.
func NewEncoder(cols []Column) (*Encoder, error) {
	for i, c := range cols {
		if c.Kind == KindNumericText {
			if c.Type.ID() != arrow.STRING && c.Type.ID() != arrow.LARGE_STRING {
				return nil, pgerror.New(pgerror.FeatureNotSupported, "numeric-text key column %d must be utf8, not %s", i, c.Type)
			}
			continue
		}
		switch c.Type.ID() {
		case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
			arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
			arrow.FLOAT32, arrow.FLOAT64, arrow.STRING, arrow.LARGE_STRING,
			arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32, arrow.DATE64,
			arrow.TIMESTAMP, arrow.TIME32, arrow.TIME64, arrow.DURATION:
		default:
			return nil, pgerror.New(pgerror.FeatureNotSupported, "state key type %s is not supported", c.Type)
		}
	}
	return &Encoder{cols: append([]Column(nil), cols...)}, nil
}

// EncodeBatch encodes every row of the given columns (one array per key
// column, equal lengths) and returns one key per row. The keys share one
// backing buffer.
func (e *Encoder) EncodeBatch(cols []arrow.Array) ([][]byte, error) {
	if len(cols) != len(e.cols) {
		return nil, pgerror.Internal("keys: %d columns, encoder has %d", len(cols), len(e.cols))
	}
	n := 0
	if len(cols) > 0 {
		n = cols[0].Len()
	}
	out := make([][]byte, n)
	ends := make([]int, n)
	var buf []byte
	var err error
	for r := 0; r < n; r++ {
		for c, a := range cols {
			if buf, err = e.appendValue(buf, c, a, r); err != nil {
				return nil, err
			}
		}
		ends[r] = len(buf)
	}
	start := 0
	for r := range out {
		out[r] = buf[start:ends[r]:ends[r]]
		start = ends[r]
	}
	return out, nil
}

// AppendRow appends the encoding of row r of cols to dst.
func (e *Encoder) AppendRow(dst []byte, cols []arrow.Array, r int) ([]byte, error) {
	var err error
	for c, a := range cols {
		if dst, err = e.appendValue(dst, c, a, r); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func (e *Encoder) appendValue(dst []byte, c int, a arrow.Array, r int) ([]byte, error) {
	if a.IsNull(r) {
		return append(dst, markNull), nil
	}
	dst = append(dst, markValue)
	if e.cols[c].Kind == KindNumericText {
		switch s := a.(type) {
		case *array.String:
			return AppendNumericText(dst, s.Value(r))
		case *array.LargeString:
			return AppendNumericText(dst, s.Value(r))
		}
		return nil, pgerror.Internal("keys: column %d is %s, want utf8", c, a.DataType())
	}
	switch v := a.(type) {
	case *array.Boolean:
		if v.Value(r) {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case *array.Int8:
		return append(dst, uint8(v.Value(r))^0x80), nil
	case *array.Int16:
		return binary.BigEndian.AppendUint16(dst, uint16(v.Value(r))^(1<<15)), nil
	case *array.Int32:
		return AppendInt32(dst, v.Value(r)), nil
	case *array.Int64:
		return AppendInt64(dst, v.Value(r)), nil
	case *array.Uint8:
		return append(dst, v.Value(r)), nil
	case *array.Uint16:
		return binary.BigEndian.AppendUint16(dst, v.Value(r)), nil
	case *array.Uint32:
		return binary.BigEndian.AppendUint32(dst, v.Value(r)), nil
	case *array.Uint64:
		return binary.BigEndian.AppendUint64(dst, v.Value(r)), nil
	case *array.Float32:
		return AppendFloat64(dst, float64(v.Value(r))), nil
	case *array.Float64:
		return AppendFloat64(dst, v.Value(r)), nil
	case *array.String:
		return AppendBytes(dst, []byte(v.Value(r))), nil
	case *array.LargeString:
		return AppendBytes(dst, []byte(v.Value(r))), nil
	case *array.Binary:
		return AppendBytes(dst, v.Value(r)), nil
	case *array.LargeBinary:
		return AppendBytes(dst, v.Value(r)), nil
	case *array.Date32:
		return AppendInt32(dst, int32(v.Value(r))), nil
	case *array.Date64:
		return AppendInt64(dst, int64(v.Value(r))), nil
	case *array.Timestamp:
		return AppendInt64(dst, int64(v.Value(r))), nil
	case *array.Time32:
		return AppendInt32(dst, int32(v.Value(r))), nil
	case *array.Time64:
		return AppendInt64(dst, int64(v.Value(r))), nil
	case *array.Duration:
		return AppendInt64(dst, int64(v.Value(r))), nil
	}
	return nil, pgerror.New(pgerror.FeatureNotSupported, "state key type %s is not supported", a.DataType())
}

// AppendMarker appends the marker of a non-NULL column.
func AppendMarker(dst []byte) []byte { return append(dst, markValue) }

// AppendNull appends a NULL key column.
func AppendNull(dst []byte) []byte { return append(dst, markNull) }

// AppendInt32 appends the body of an int32 value. Like the other Append*
// body helpers it writes no marker byte: callers building keys by hand write
// AppendMarker first.
func AppendInt32(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v)^(1<<31))
}

// AppendInt64 appends the body of an int64 value.
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// Int64Key returns the complete one-column key for a non-NULL int64.
func Int64Key(v int64) []byte {
	b := make([]byte, 1, 9)
	b[0] = markValue
	return AppendInt64(b, v)
}

// AppendFloat64 appends the body of a float value: -0 equals 0, all NaNs
// are equal and greater than +Inf.
func AppendFloat64(dst []byte, f float64) []byte {
	var u uint64
	switch {
	case f != f:
		u = 0x7ff8000000000000
	case f == 0:
		u = 0
	default:
		u = math.Float64bits(f)
	}
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, u)
}

// AppendBytes appends the body of a string or binary value: 0x00 becomes
// 0x00 0xFF and the value ends with 0x00 0x01, so a prefix sorts first.
func AppendBytes(dst []byte, b []byte) []byte {
	for _, c := range b {
		if c == 0 {
			dst = append(dst, 0, 0xff)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}
