package funcs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Expected values from PostgreSQL 15.18 with TimeZone = 'America/New_York'.
var newYorkCases = []fnCase{
	{"date_trunc", []string{"text:day", "timestamptz:2024-03-10 12:00+00"}, `2024-03-10 00:00:00-05`},
	{"date_trunc", []string{"text:day", "timestamptz:2024-03-10 03:00+00"}, `2024-03-09 00:00:00-05`},
	{"date_trunc", []string{"text:hour", "timestamptz:2024-03-10 07:30+00"}, `2024-03-10 03:00:00-04`},
	{"date_trunc", []string{"text:hour", "timestamptz:2024-11-03 05:30+00"}, `2024-11-03 01:00:00-04`},
	{"date_trunc", []string{"text:hour", "timestamptz:2024-11-03 06:30+00"}, `2024-11-03 01:00:00-05`},
	{"date_trunc", []string{"text:day", "timestamptz:2024-11-03 12:00+00"}, `2024-11-03 00:00:00-04`},
	{"date_trunc", []string{"text:month", "timestamptz:2024-07-01 02:00+00"}, `2024-06-01 00:00:00-04`},
	{"date_trunc", []string{"text:week", "timestamptz:2024-03-12 02:00+00"}, `2024-03-11 00:00:00-04`},
	{"date_trunc", []string{"text:minute", "timestamptz:2024-03-10 06:59:59+00"}, `2024-03-10 01:59:00-05`},
	{"date_trunc", []string{"text:day", "timestamptz:2024-03-10 12:00+00", "text:UTC"}, `2024-03-09 19:00:00-05`},
	{"extract", []string{"text:hour", "timestamptz:2024-07-01 00:00+00"}, `20`},
	{"extract", []string{"text:timezone", "timestamptz:2024-07-01"}, `-14400`},
	{"extract", []string{"text:timezone_hour", "timestamptz:2024-01-01"}, `-5`},
	{"extract", []string{"text:timezone_minute", "timestamptz:2024-01-01"}, `0`},
	{"extract", []string{"text:epoch", "timestamptz:2024-07-01 00:00+00"}, `1719792000.000000`},
	{"extract", []string{"text:day", "timestamptz:2024-07-01 00:00+00"}, `30`},
	{"date_part", []string{"text:hour", "timestamptz:2024-07-01 00:00+00"}, `20`},
	{"date_part", []string{"text:timezone", "timestamptz:2024-01-01"}, `-18000`},
	{"age", []string{"timestamptz:2024-03-31 00:00+00", "timestamptz:2024-01-31 12:00+00"}, `1 mon 30 days 13:00:00`},
	{"make_timestamptz", []string{"int4:2024", "int4:7", "int4:1", "int4:12", "int4:0", "float8:0"}, `2024-07-01 12:00:00-04`},
	{"make_timestamptz", []string{"int4:2024", "int4:3", "int4:10", "int4:2", "int4:30", "float8:0"}, `2024-03-10 03:30:00-04`},
	{"timezone", []string{"text:UTC", "timestamptz:2024-07-01 00:00+00"}, `2024-07-01 00:00:00`},
	{"timezone", []string{"text:Asia/Kolkata", "timestamp:2024-07-01 00:00"}, `2024-06-30 14:30:00-04`},
	{"date_bin", []string{"interval:1 day", "timestamptz:2024-01-01 10:00+05", "timestamptz:2000-01-01"}, `2024-01-01 00:00:00-05`},
	// x AT LOCAL (PostgreSQL 17 syntax; same as AT TIME ZONE current_setting('TimeZone')).
	{"timezone", []string{"timestamptz:2024-07-01 00:00+00"}, `2024-06-30 20:00:00`},
	{"timezone", []string{"timestamp:2024-07-01 00:00"}, `2024-07-01 00:00:00-04`},
}

func TestNewYorkSession(t *testing.T) { runCases(t, "America/New_York", newYorkCases) }

// TestClockFunctions checks the transaction/statement clock functions
// against the EvalContext's times (2024-01-02 03:04:05.123456 UTC).
func TestClockFunctions(t *testing.T) {
	runCases(t, "", []fnCase{
		{"now", nil, "2024-01-02 03:04:05.123456+00"},
		{"current_timestamp", nil, "2024-01-02 03:04:05.123456+00"},
		{"current_timestamp", []string{"int4:2"}, "2024-01-02 03:04:05.12+00"},
		{"transaction_timestamp", nil, "2024-01-02 03:04:05.123456+00"},
		{"statement_timestamp", nil, "2024-01-02 03:04:05.124456+00"},
		{"current_date", nil, "2024-01-02"},
		{"localtimestamp", nil, "2024-01-02 03:04:05.123456"},
		{"localtimestamp", []string{"int4:0"}, "2024-01-02 03:04:05"},
		{"localtime", nil, "03:04:05.123456"},
		{"current_time", []string{"int4:3"}, "03:04:05.123"},
		{"age", []string{"timestamp:2000-02-01"}, "23 years 11 mons 1 day"},
	})
	runCases(t, "Asia/Tokyo", []fnCase{
		{"now", nil, "2024-01-02 12:04:05.123456+09"},
		{"current_date", nil, "2024-01-02"},
		{"localtimestamp", nil, "2024-01-02 12:04:05.123456"},
	})
	runCases(t, "America/Los_Angeles", []fnCase{
		{"current_date", nil, "2024-01-01"},
		{"localtime", nil, "19:04:05.123456"},
	})
	f := resolve("clock_timestamp", nil)
	require.NotNil(t, f)
	require.Equal(t, "Volatile", volName(f.Volatility))
	require.Equal(t, "Stable", volName(resolve("now", nil).Volatility))
	require.Equal(t, "Immutable", volName(resolve("lower", []types.T{types.TextT}).Volatility))
}

// TestSessionFunctions checks functions that read the SessionInfo.
func TestSessionFunctions(t *testing.T) {
	runCases(t, "", []fnCase{
		{"current_user", nil, "alice"},
		{"session_user", nil, "alice"},
		{"user", nil, "alice"},
		{"current_database", nil, "db1"},
		{"current_setting", []string{"text:TimeZone"}, "UTC"},
		{"current_setting", []string{"text:DateStyle", "bool:false"}, "ISO, MDY"},
		{"pg_get_userbyid", []string{"oid:10"}, "alice"},
		{"has_table_privilege", []string{"text:t", "text:select"}, "true"},
		{"has_column_privilege", []string{"name:u", "oid:1", "text:c", "text:select"}, "true"},
		{"pg_table_is_visible", []string{"oid:1259"}, "true"},
		{"obj_description", []string{"oid:1259", "name:pg_class"}, "NULL"},
		{"pg_get_expr", []string{"text:(a > 1)", "oid:1259"}, "(a > 1)"},
		{"pg_total_relation_size", []string{"regclass:1259"}, "0"},
		{"pg_backend_pid", nil, "1"},
		{"version", nil, Version},
	})
	require.Regexp(t, `^PostgreSQL 15\.\d+ `, Version)
}
