package pgwire

import (
	"encoding/binary"
	"math"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// encodeBinary and decodeBinary are a stopgap until sql/types provides
// EncodeBinary/DecodeBinary: they cover the fixed-width and string types.
func encodeBinary(_ *types.Ctx, d types.Datum, t types.T) ([]byte, error) {
	switch t.Family {
	case types.FamBool:
		if d.(bool) {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	case types.FamInt2:
		return binary.BigEndian.AppendUint16(nil, uint16(d.(int64))), nil
	case types.FamInt4:
		return binary.BigEndian.AppendUint32(nil, uint32(d.(int64))), nil
	case types.FamInt8:
		return binary.BigEndian.AppendUint64(nil, uint64(d.(int64))), nil
	case types.FamFloat4:
		return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(d.(float64)))), nil
	case types.FamFloat8:
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(d.(float64))), nil
	case types.FamText, types.FamVarchar, types.FamBpchar, types.FamName:
		return []byte(d.(string)), nil
	case types.FamBytea:
		return d.([]byte), nil
	case types.FamDate:
		return binary.BigEndian.AppendUint32(nil, uint32(int32(d.(types.Date))-10957)), nil
	}
	return nil, pgerror.Unsupported("binary output of type %s is not supported", t)
}

func decodeBinary(_ *types.Ctx, b []byte, t types.T) (types.Datum, error) {
	bad := func() error {
		return pgerror.New(pgerror.InvalidBinaryRepresentation, "incorrect binary data format")
	}
	switch t.Family {
	case types.FamBool:
		if len(b) != 1 {
			return nil, bad()
		}
		return b[0] != 0, nil
	case types.FamInt2:
		if len(b) != 2 {
			return nil, bad()
		}
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case types.FamInt4:
		if len(b) != 4 {
			return nil, bad()
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case types.FamInt8:
		if len(b) != 8 {
			return nil, bad()
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	case types.FamFloat4:
		if len(b) != 4 {
			return nil, bad()
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	case types.FamFloat8:
		if len(b) != 8 {
			return nil, bad()
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case types.FamText, types.FamVarchar, types.FamBpchar, types.FamName:
		return string(b), nil
	case types.FamBytea:
		return append([]byte(nil), b...), nil
	case types.FamDate:
		if len(b) != 4 {
			return nil, bad()
		}
		return types.Date(int32(binary.BigEndian.Uint32(b)) + 10957), nil
	}
	return nil, pgerror.Unsupported("binary input of type %s is not supported", t)
}
