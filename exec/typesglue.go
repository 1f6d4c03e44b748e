package exec

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// STOPGAP: sql/types Cast/Compare/AppendKey are being written in parallel.
// These wrappers are the only place exec touches those functions, so the
// switch-over is one file.

func castDatum(c *types.Ctx, d types.Datum, from, to types.T, explicit bool) (types.Datum, error) {
	if d == nil {
		return nil, nil
	}
	switch v := d.(type) {
	case int64:
		switch to.Family {
		case types.FamInt2, types.FamInt4, types.FamInt8:
			return checkIntRange(v, to)
		case types.FamFloat4, types.FamFloat8:
			return float64(v), nil
		case types.FamNumeric:
			return apd.New(v, 0), nil
		}
	case float64:
		switch to.Family {
		case types.FamFloat4, types.FamFloat8:
			return v, nil
		case types.FamInt2, types.FamInt4, types.FamInt8:
			return checkIntRange(int64(math.RoundToEven(v)), to)
		}
	}
	if from.Family == to.Family {
		return d, nil
	}
	return nil, pgerror.Unsupported("cast from %s to %s is not supported", from, to)
}

func checkIntRange(v int64, to types.T) (types.Datum, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	name := "bigint"
	switch to.Family {
	case types.FamInt2:
		lo, hi, name = math.MinInt16, math.MaxInt16, "smallint"
	case types.FamInt4:
		lo, hi, name = math.MinInt32, math.MaxInt32, "integer"
	}
	if v < lo || v > hi {
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "%s out of range", name)
	}
	return v, nil
}

// compareDatum orders two non-nil datums of type t.
func compareDatum(a, b types.Datum, t types.T) int {
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return cmp.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case *apd.Decimal:
		return x.Cmp(b.(*apd.Decimal))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case types.Date:
		return cmp.Compare(x, b.(types.Date))
	case types.TimeOfDay:
		return cmp.Compare(x, b.(types.TimeOfDay))
	case types.Timestamp:
		return cmp.Compare(x, b.(types.Timestamp))
	case types.TimestampTZ:
		return cmp.Compare(x, b.(types.TimestampTZ))
	case types.Interval:
		y := b.(types.Interval)
		return cmp.Compare(intervalKey(x), intervalKey(y))
	case *types.Array:
		y := b.(*types.Array)
		for i := 0; i < len(x.Elems) && i < len(y.Elems); i++ {
			ea, eb := x.Elems[i], y.Elems[i]
			switch {
			case ea == nil && eb == nil:
			case ea == nil:
				return 1
			case eb == nil:
				return -1
			default:
				if c := compareDatum(ea, eb, t.ElemType()); c != 0 {
					return c
				}
			}
		}
		return cmp.Compare(len(x.Elems), len(y.Elems))
	}
	return 0
}

func intervalKey(v types.Interval) float64 {
	return float64(v.Months)*30*float64(types.MicrosPerDay) + float64(v.Days)*float64(types.MicrosPerDay) + float64(v.Micros)
}

// appendKey appends an equality key for d (nil allowed): equal keys mean
// equal values for GROUP BY / DISTINCT.
func appendKey(buf []byte, d types.Datum, t types.T) []byte {
	if d == nil {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	switch v := d.(type) {
	case bool:
		if v {
			return append(buf, 1)
		}
		return append(buf, 0)
	case int64:
		return binary.BigEndian.AppendUint64(buf, uint64(v))
	case float64:
		if v == 0 {
			v = 0
		}
		if math.IsNaN(v) {
			v = math.NaN()
		}
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(v))
	case string:
		if t.Family == types.FamBpchar {
			v = trimRightSpaces(v)
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		return append(buf, v...)
	case []byte:
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		return append(buf, v...)
	case *apd.Decimal:
		var r apd.Decimal
		r.Reduce(v)
		s := r.String()
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		return append(buf, s...)
	case types.Date:
		return binary.BigEndian.AppendUint64(buf, uint64(v))
	case types.TimeOfDay:
		return binary.BigEndian.AppendUint64(buf, uint64(v))
	case types.Timestamp:
		return binary.BigEndian.AppendUint64(buf, uint64(v))
	case types.TimestampTZ:
		return binary.BigEndian.AppendUint64(buf, uint64(v))
	case types.Interval:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(intervalKey(v)))
	case *types.Array:
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v.Elems)))
		for _, e := range v.Elems {
			buf = appendKey(buf, e, t.ElemType())
		}
		return buf
	}
	return buf
}

func trimRightSpaces(s string) string {
	i := len(s)
	for i > 0 && s[i-1] == ' ' {
		i--
	}
	return s[:i]
}
