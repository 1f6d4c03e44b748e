package ops

import (
	"unsafe"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

func errDivByZero() error { return pgerror.New(pgerror.DivisionByZero, "division by zero") }

func errFloatOverflow() error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "value out of range: overflow")
}

func errFloatUnderflow() error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "value out of range: underflow")
}

func errIntervalRange() error {
	return pgerror.New(pgerror.DatetimeFieldOverflow, "interval out of range")
}

func errTimestampRange() error {
	return pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range")
}

func errDateRange() error { return pgerror.New(pgerror.DatetimeFieldOverflow, "date out of range") }

// errIntRange is PostgreSQL's overflow error for an integer of T's width.
func errIntRange[T intT]() error {
	var z T
	switch unsafe.Sizeof(z) {
	case 2:
		return pgerror.New(pgerror.NumericValueOutOfRange, "smallint out of range")
	case 4:
		return pgerror.New(pgerror.NumericValueOutOfRange, "integer out of range")
	}
	return pgerror.New(pgerror.NumericValueOutOfRange, "bigint out of range")
}

func internalArg(name string, d any) error {
	return pgerror.Internal("%s: unexpected argument %T", name, d)
}
