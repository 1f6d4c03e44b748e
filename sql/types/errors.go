package types

import (
	"fmt"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// errSyntax is PostgreSQL's "invalid input syntax for type X" (22P02).
func errSyntax(t T, s string) error {
	return pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type %s: \"%s\"", typeLabel(t), s)
}

// errDatetimeSyntax is the datetime flavour of errSyntax (22007).
func errDatetimeSyntax(t T, s string) error {
	return pgerror.New(pgerror.InvalidDatetimeFormat, "invalid input syntax for type %s: \"%s\"", typeLabel(t), s)
}

// errFieldRange is "date/time field value out of range" (22008).
func errFieldRange(s string) error {
	return pgerror.New(pgerror.DatetimeFieldOverflow, "date/time field value out of range: \"%s\"", s)
}

// errValueRange is `value "x" is out of range for type integer` (22003).
func errValueRange(t T, s string) error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "value \"%s\" is out of range for type %s", s, typeLabel(t))
}

// errOutOfRange is "integer out of range" and friends (22003).
func errOutOfRange(t T) error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "%s out of range", typeLabel(t))
}

func errBinary(format string, args ...any) error {
	return pgerror.New(pgerror.InvalidBinaryRepresentation, format, args...)
}

// errBadDatum reports a Datum whose Go type does not match its SQL type: a
// bug in the caller, not a user error.
func errBadDatum(d Datum, t T) error {
	return pgerror.Internal("types: datum of Go type %T does not hold SQL type %s", d, t)
}

// typeLabel is the type name PostgreSQL uses in input error messages.
func typeLabel(t T) string {
	switch t.Family {
	case FamArray:
		return t.String()
	case FamTime:
		return "time"
	case FamTimestamp:
		return "timestamp"
	case FamVarchar, FamBpchar, FamNumeric, FamTimestampTZ:
		return t.Unmodified().String()
	}
	if int(t.Family) < len(familyNames) && familyNames[t.Family] != "" {
		return familyNames[t.Family]
	}
	return fmt.Sprintf("family%d", t.Family)
}
