package types

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"
)

// ArrowType returns the Arrow type that holds values of t (see the package doc).
func ArrowType(t T) arrow.DataType {
	switch t.Family {
	case FamBool:
		return arrow.FixedWidthTypes.Boolean
	case FamInt2:
		return arrow.PrimitiveTypes.Int16
	case FamInt4:
		return arrow.PrimitiveTypes.Int32
	case FamInt8, FamOid, FamRegclass, FamRegtype:
		return arrow.PrimitiveTypes.Int64
	case FamFloat4:
		return arrow.PrimitiveTypes.Float32
	case FamFloat8:
		return arrow.PrimitiveTypes.Float64
	case FamNumeric, FamText, FamVarchar, FamBpchar, FamName, FamUnknown, FamRecord, FamVoid, FamJSONB:
		return arrow.BinaryTypes.String
	case FamBytea:
		return arrow.BinaryTypes.Binary
	case FamDate:
		return arrow.FixedWidthTypes.Date32
	case FamTime:
		return arrow.FixedWidthTypes.Time64us
	case FamTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case FamTimestampTZ:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case FamInterval:
		return arrow.FixedWidthTypes.MonthDayNanoInterval
	case FamArray:
		return arrow.ListOf(ArrowType(t.ElemType()))
	}
	panic(fmt.Sprintf("types: no arrow type for family %d", t.Family))
}

// ArrowField returns an Arrow field for a column named name of type t.
// The SQL type is kept in the field metadata so it survives IPC round trips.
func ArrowField(name string, t T) arrow.Field {
	return arrow.Field{
		Name:     name,
		Type:     ArrowType(t),
		Nullable: true,
		Metadata: arrow.NewMetadata([]string{"sabot.type"}, []string{EncodeTypeTag(t)}),
	}
}

// EncodeTypeTag renders t as a compact string "family:mod:elem".
func EncodeTypeTag(t T) string { return fmt.Sprintf("%d:%d:%d", t.Family, t.Mod, t.Elem) }

// DecodeTypeTag parses EncodeTypeTag's output.
func DecodeTypeTag(s string) (T, error) {
	var f, e int
	var m int32
	if _, err := fmt.Sscanf(s, "%d:%d:%d", &f, &m, &e); err != nil {
		return UnknownT, fmt.Errorf("types: bad type tag %q: %w", s, err)
	}
	return T{Family: Family(f), Mod: m, Elem: Family(e)}, nil
}

// GetDatum reads row i of arr, which holds values of SQL type t.
// It boxes: use it only off hot paths.
func GetDatum(arr arrow.Array, i int, t T) Datum {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		s := a.Value(i)
		if t.Family == FamNumeric {
			d, _, err := apd.NewFromString(s)
			if err != nil {
				panic(fmt.Sprintf("types: corrupt numeric %q in array", s))
			}
			return d
		}
		return s
	case *array.Binary:
		b := a.Value(i)
		out := make([]byte, len(b))
		copy(out, b)
		return out
	case *array.Date32:
		return Date(a.Value(i))
	case *array.Time64:
		return TimeOfDay(a.Value(i))
	case *array.Timestamp:
		if t.Family == FamTimestampTZ {
			return TimestampTZ(a.Value(i))
		}
		return Timestamp(a.Value(i))
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		return Interval{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000}
	case *array.List:
		start, end := a.ValueOffsets(i)
		vals := a.ListValues()
		et := t.ElemType()
		out := &Array{Elem: et, Elems: make([]Datum, 0, end-start)}
		for j := start; j < end; j++ {
			out.Elems = append(out.Elems, GetDatum(vals, int(j), et))
		}
		return out
	case *array.Null:
		return nil
	}
	panic(fmt.Sprintf("types: GetDatum: unsupported arrow array %T", arr))
}

// AppendDatum appends d (a Datum of SQL type t, or nil) to b, a builder for
// ArrowType(t). The caller guarantees d's Go type matches t.
func AppendDatum(b array.Builder, d Datum, t T) {
	if d == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(d.(bool))
	case *array.Int16Builder:
		bb.Append(int16(d.(int64)))
	case *array.Int32Builder:
		bb.Append(int32(d.(int64)))
	case *array.Int64Builder:
		bb.Append(d.(int64))
	case *array.Float32Builder:
		bb.Append(float32(d.(float64)))
	case *array.Float64Builder:
		bb.Append(d.(float64))
	case *array.StringBuilder:
		switch v := d.(type) {
		case string:
			bb.Append(v)
		case *apd.Decimal:
			// The canonical numeric_out text: exact, keeps the scale.
			bb.Append(string(appendNumeric(nil, v)))
		default:
			panic(fmt.Sprintf("types: AppendDatum: %T into string column", d))
		}
	case *array.BinaryBuilder:
		bb.Append(d.([]byte))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(d.(Date)))
	case *array.Time64Builder:
		bb.Append(arrow.Time64(d.(TimeOfDay)))
	case *array.TimestampBuilder:
		switch v := d.(type) {
		case Timestamp:
			bb.Append(arrow.Timestamp(v))
		case TimestampTZ:
			bb.Append(arrow.Timestamp(v))
		default:
			panic(fmt.Sprintf("types: AppendDatum: %T into timestamp column", d))
		}
	case *array.MonthDayNanoIntervalBuilder:
		v := d.(Interval)
		bb.Append(arrow.MonthDayNanoInterval{Months: v.Months, Days: v.Days, Nanoseconds: v.Micros * 1000})
	case *array.ListBuilder:
		a := d.(*Array)
		bb.Append(true)
		vb := bb.ValueBuilder()
		for _, e := range a.Elems {
			AppendDatum(vb, e, t.ElemType())
		}
	case *array.NullBuilder:
		bb.AppendNull()
	default:
		panic(fmt.Sprintf("types: AppendDatum: unsupported builder %T", b))
	}
}
