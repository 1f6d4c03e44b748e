package types

// Datum is one SQL value; see the package documentation for which Go type
// represents which SQL type. nil is NULL.
type Datum = any

// Date is a calendar date: days since 1970-01-01 (may be negative).
type Date int32

// TimeOfDay is a time without zone: microseconds since midnight, in [0, 86400e6].
type TimeOfDay int64

// Timestamp is a timestamp without time zone: microseconds since
// 1970-01-01 00:00:00 of the naive clock.
type Timestamp int64

// TimestampTZ is an absolute instant: microseconds since 1970-01-01 00:00:00 UTC.
type TimestampTZ int64

// Interval is PostgreSQL's interval: months, days and microseconds kept apart.
type Interval struct {
	Months int32
	Days   int32
	Micros int64
}

// Array is a one-dimensional SQL array. Elems holds Datums of Elem's family.
type Array struct {
	Elem  T
	Elems []Datum
}

// Microseconds per unit.
const (
	MicrosPerSecond = int64(1_000_000)
	MicrosPerMinute = 60 * MicrosPerSecond
	MicrosPerHour   = 60 * MicrosPerMinute
	MicrosPerDay    = 24 * MicrosPerHour
)
