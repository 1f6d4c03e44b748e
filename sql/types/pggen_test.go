//go:build pggen

package types

// This file regenerates pg_expect_test.go from a real PostgreSQL 15:
//
//	PGGEN_DSN='host=/tmp/x port=54329 user=postgres' go test -tags pggen -run TestGeneratePGExpectations ./sql/types
//
// For every case it records PostgreSQL's text output of the input cast to
// the type (or the SQLSTATE of the error) and the hex of the type's binary
// send function.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

type genCase struct{ typ, in, tz string }

func genCases() []genCase {
	var cs []genCase
	add := func(typ string, ins ...string) {
		for _, in := range ins {
			cs = append(cs, genCase{typ: typ, in: in})
		}
	}
	addTZ := func(tz, typ string, ins ...string) {
		for _, in := range ins {
			cs = append(cs, genCase{typ: typ, in: in, tz: tz})
		}
	}
	add("bool", "t", "f", "true", "FALSE", " yes ", "no", "on", "off", "of", "o", "1", "0", "tr", "y", "n", "maybe", "", "2", "truee")
	add("int2", "0", "32767", "-32768", "32768", "-32769", " 12 ", "+5", "1.5", "abc", "", "-", "1e3", "0x10", "1_000")
	add("int4", "0", "2147483647", "-2147483648", "2147483648", "-2147483649", "  -42\n", "007", "99999999999999999999999", "12a", " ")
	add("int8", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "123456789012", "+0", "--1")
	add("float8", "0.1", "1e20", "123456789012345678", "1e15", "1e14", "100000000000000", "0.0001", "0.00001", "-0", "NaN", "nan",
		"Infinity", "-Infinity", "inf", "-INF", "1.7976931348623157e308", "2e308", "1e-400", "4.9e-324", "3.14159265358979",
		"1.5", "abc", "", " 2.5 ", "1e", ".5", "5.", "-.5e-3", "123456789.125", "0.000123456789", "1e-5", "12345678901234567890",
		"37968880018388384", "9007199254740993", "0.30000000000000004", "5e-324", "123456789012345.6")
	add("float4", "0.1", "1e6", "1e7", "123456", "1234567", "12345678", "0.0001", "1e-05", "3.4e38", "3.5e38", "1e-46", "NaN",
		"-Infinity", "1.5", "3.14159265358979", "-0", "100", "0.3", "16777217", "220588608", "2.205886e+08", "1e-45", "3.4028235e38")
	add("numeric", "1.50", " 1.5 ", "1e3", "1.5e-3", "NaN", "nan", "Infinity", "-Infinity", "inf", "-0", "-0.00", "0e-5",
		"123456789012345678901234567890.123456789", "-1.23", ".5", "5.", "+7", "abc", "", "1e", "1.2.3", "0.000001",
		"1e-20", "-12e2", "100", "0.1e1", "9999999999999999999.9999")
	add("numeric(5,2)", "1.234", "1.235", "-1.235", "999.994", "999.995", "-999.995", "0.001", "NaN", "Infinity", "12", "1e2")
	add("numeric(3,0)", "999.4", "999.5", "-999.5", "0.5", "-0.5", "1.5", "2.5")
	add("numeric(2,-3)", "12345", "99499", "99500")
	add("numeric(3,5)", "0.001234", "0.01", "0.00999")
	add("text", "", "hello", " padded ", "ünïcödé", "a\\b")
	add("varchar", "abc", "")
	add("varchar(3)", "abc", "ab")
	add("name", "abc", strings.Repeat("x", 70))
	add("bytea", "\\x", "\\x0102ff", "\\xDEADbeef", "\\x 01 02", "\\x0", "\\xzz", "abc", "a\\\\b", "\\001\\377", "\\8", "\\", "é")
	add("date", "2024-01-02", "20240102", "Jan 2 2024", "2 Jan 2024", "January 2, 2024", "01/02/2024", "2024/01/02",
		"2024-01-02 10:00", "2024-13-01", "2024-02-30", "2024-02-29", "2023-02-29", "foo", "epoch", "infinity", "-infinity",
		"10000-01-01", "Jan-02-2024", "2024-Jan-02", "02-Jan-2024", "2024.01.02", "1/2/24", "  2024-01-02  ", "1/2/99",
		"0001-01-01", "0001-01-01 BC", "2000-02-29 BC", "4713-11-24 BC", "4714-11-24 BC", "5874897-12-31", "2024-01-02T10:00:00Z",
		"", "2024-1-2", "Sat Jan 6 2024", "12/31/1999", "31/12/1999", "2024-01-02 25:00", "0000-01-01")
	add("time", "12:34", "24:00", "24:00:01", "1:2:3.5", "12:00 pm", "12:00 am", "12:00:00+02", "2024-01-02 12:00", "allballs",
		"00:00:00.0000005", "00:00:00.0000015", "23:59:59.9999999", "12:60", "foo", "", "13:00 pm", "08:15:30.123456", "1:02")
	add("time(2)", "12:34:56.789", "12:34:56.785")
	add("timestamp", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05.120", "2024-01-02 24:00:00", "2024-01-02 25:00:00",
		"2024-01-02 03:60:00", "2024-01-02 03:04:05 BC", "2024-01-02", "294276-12-31 23:59:59.999999", "294277-01-01",
		"2024-1-2 3:4:5", "2024-01-02 03:04:05.1234567", "2024-01-02 03:04", "epoch", "infinity", "-infinity",
		"2024-01-02 03:04:05+02", "1999-12-31 23:59:59.9999995", "2024-01-02 03:04:05 Europe/Paris", "4713-11-24 00:00 BC",
		"Jan 2 2024 3:04pm", "20240102 030405", "2024-01-02 03:04:05.", "garbage", "2024-06-15 12:00:00 PM")
	add("timestamp(0)", "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.4")
	add("timestamp(3)", "2024-01-02 03:04:05.1234565")
	add("timestamptz", "2024-01-02 03:04:05+02", "2024-01-02 03:04:05 Europe/Paris", "2024-01-02 03:04:05+05:30",
		"2024-01-02 03:04:05 EST", "2024-01-02 03:04:05 -0330", "2024-01-02 03:04:05Z", "2024-01-02 03:04:05", "2024-07-01 12:00 America/New_York",
		"2024-01-02T03:04:05.5+00:00", "epoch", "infinity", "2024-01-02 03:04:05 UTC", "2024-01-02 03:04:05 Mars/Olympus",
		"2024-01-02 03:04:05+15", "2024-01-02 03:04:05+16", "1900-01-01 00:00+00:19:32", "0001-01-01 00:00:00+00 BC",
		"2024-01-02 03:04:05 America/Argentina/Buenos_Aires", "2024-01-02 03:04:05 Etc/GMT+3", "2024-01-02T03:04:05.123456789Z",
		"2024-01-02 23:59:60", "2024-02-29 12:00:00 pst", "2024-01-02 03:04:05.5 +0530", "Tue Jan 02 03:04:05 2024 UTC")
	addTZ("Asia/Kolkata", "timestamptz", "2024-01-02 03:04:05+00", "1900-01-01 00:00", "2024-01-02 03:04:05")
	addTZ("Europe/Amsterdam", "timestamptz", "1900-01-01 00:00", "2024-03-31 02:30:00", "2024-10-27 02:30:00", "2024-07-01 12:00:00+00")
	addTZ("America/St_Johns", "timestamptz", "2024-01-02 03:04:05+00")
	add("interval", "1 day 2 hours", "1 year 2 mons", "01:02:03", "-1 day", "P1DT2H", "1 week", "3 days 04:05:06.5",
		"1 day -01:00:00", "-1 day +01:00:00", "1.5 years", "1.5 months", "1.5 weeks", "5", "1 2:03", "@ 1 day ago", "-01:02:03",
		"1:2", "100:00:00", "-1 year -2 mons +3 days", "0.5 sec", "1 day 2", "P1Y2M3DT4H5M6.5S", "PT1.5S", "P1.5D", "-P1D",
		"1 mon -1 day", "1d2h3m4s", "2 hours 3", "1 decade 1 century", "1 microsecond", "1 ms", "10 mins", "1 hr", " 1 day ",
		"1.5", "1:2:3.1234567", "1 year -1 mon", "178000000 years", "2147483647 days 24 hours", "1 days 1 days", "", "1 foo",
		"P0001-02-03T04:05:06", "1.5 hours", "-1.5 days", "1 day 01:02:03 ago", "12:34.5", "1 2", "0", "-0.000001",
		"1 millennium", "2 centuries 3 decades", "-1 year 1 mon", "1 year -1 day +1 hour", "P2W", "PT36H", "1 minute 30 seconds",
		"3 mons -4 days 05:06:07", "-3 mons +4 days -05:06:07", "-2147483648 days", "2147483648 days", "@ 2 hours 3 mins ago",
		"1 hour 01:00", "7.25 days", "0.1 months", "1.01 years", "-1.5 weeks", "1 week 2 days")
	add("int4[]", "{1,2,NULL}", "{}", " { 1 , 2 } ", "{1,x}", "{1,2", "{{1,2},{3,4}}", "1,2", "{null,NULL}", "{\"3\"}", "{1,}")
	add("text[]", "{a,b}", "{\"a b\",\"c,d\",\"e\\\"f\",\"g\\\\h\",\"\"}", "{\"NULL\",NULL,nul}", "{ spaced out , x }",
		"{\"{braces}\"}", "{a\\,b}", "{\"\"}", "{é,ü}", "{\"a\" \"b\"}", "{a\"b}")
	add("float8[]", "{1.5,NaN,-Infinity,1e20}")
	add("numeric[]", "{1.50,NaN}")
	add("bool[]", "{t,false,NULL}")
	add("date[]", "{2024-01-02,infinity}")
	add("timestamp[]", "{\"2024-01-02 03:04:05\"}")
	add("interval[]", "{\"1 day\",\"-01:00:00\"}")
	add("bytea[]", "{\"\\\\x0102\"}")
	add("varchar[]", "{x,y}")
	add("oid", "0", "4294967295", "4294967296", "-1", "-2147483648", "-2147483649", "abc", " 42 ")
	add("regclass", "1259")
	add("regtype", "23")
	return cs
}

// sendFunc names the binary send function of a type.
func sendFunc(typ string) string {
	base := typ
	if i := strings.IndexByte(base, '('); i >= 0 {
		base = base[:i]
	}
	if strings.HasSuffix(base, "[]") {
		return "array_send"
	}
	switch base {
	case "bool":
		return "boolsend"
	case "int2", "int4", "int8", "float4", "float8", "text", "varchar", "bpchar", "bytea", "oid", "name", "regclass", "regtype":
		return base + "send"
	}
	return base + "_send"
}

type genCast struct{ from, to, in, tz string }

func genCastCases() []genCast {
	var cs []genCast
	add := func(from, to string, ins ...string) {
		for _, in := range ins {
			cs = append(cs, genCast{from: from, to: to, in: in})
		}
	}
	addTZ := func(tz, from, to string, ins ...string) {
		for _, in := range ins {
			cs = append(cs, genCast{from: from, to: to, in: in, tz: tz})
		}
	}
	add("int8", "int4", "2147483647", "2147483648", "-2147483649")
	add("int4", "int2", "32767", "32768", "-32769")
	add("int8", "int2", "-32768", "40000")
	add("int2", "int8", "-5")
	add("int4", "numeric", "42")
	add("int8", "float8", "9007199254740993")
	add("int8", "float4", "16777217")
	add("float8", "int4", "2.5", "3.5", "-2.5", "-3.5", "0.49999999999999994", "2147483647.4", "2147483647.5", "-2147483648.5", "1e10", "NaN", "Infinity")
	add("float8", "int8", "9223372036854775807", "-9223372036854775808", "9.3e18", "1e15")
	add("float4", "int2", "32767.4", "32767.5", "-1.5")
	add("numeric", "int4", "2.5", "-2.5", "2.4999", "NaN", "Infinity", "-Infinity", "1e10", "2147483647.49", "-2147483648.5")
	add("numeric", "int8", "9223372036854775807.5", "-9223372036854775808.4", "123456789012345678901234567890")
	add("numeric", "int2", "32767.5", "-32768.49")
	add("float8", "numeric", "0.1", "1.2345678901234567", "1e20", "1e-20", "NaN", "Infinity", "-Infinity", "123456.789", "-0", "100", "1.5e300")
	add("float4", "numeric", "0.1", "3.14159265", "1e10", "NaN", "16777217")
	add("numeric", "float8", "0.1", "1.50", "1e400", "1e-400", "NaN", "-Infinity", "123456789012345678901234567890")
	add("numeric", "float4", "0.1", "1e39", "3.4e38")
	add("float8", "float4", "1e40", "-1e40", "1e-50", "0.1", "NaN", "Infinity", "3.4028235e38")
	add("float4", "float8", "0.1", "16777217")
	add("int4", "bool", "0", "1", "-7")
	add("bool", "int4", "true", "false")
	add("bool", "text", "true", "false")
	add("bool", "varchar", "true")
	add("bool", "bpchar", "false")
	add("text", "int4", " 12 ", "12.5", "x")
	add("text", "bool", "yes")
	add("text", "date", "2024-01-02")
	add("text", "numeric(5,2)", "1.005")
	add("int4", "text", "-42")
	add("float8", "text", "1e20", "0.1")
	add("numeric", "text", "1.50")
	add("date", "text", "2024-01-02")
	add("interval", "text", "1 day -2 hours")
	addTZ("Asia/Kolkata", "timestamptz", "text", "2024-01-02 03:04:05+00")
	add("bytea", "text", "\\x0102")
	add("int4[]", "text", "{1,NULL}")
	add("text", "varchar(3)", "abcdef", "abc   ", "ab")
	add("varchar", "varchar(2)", "abc", "a  ")
	add("text", "bpchar(5)", "ab", "abcdefg", "abcde  ")
	add("bpchar(3)", "text", "a")
	add("bpchar(3)", "varchar", "a")
	add("bpchar(3)", "bpchar(5)", "a")
	add("bpchar(5)", "bpchar(2)", "abc", "a")
	add("text", "name", "somename")
	add("numeric", "numeric(5,2)", "123.456", "123.455", "-123.455", "12345.6", "999.995", "NaN", "Infinity")
	add("numeric(10,4)", "numeric(4,1)", "123.45", "999.95")
	add("int4", "numeric(3,1)", "99", "100")
	add("float8", "numeric(4,2)", "1.005", "12.345", "99.995")
	addTZ("Asia/Kolkata", "timestamp", "timestamptz", "2024-01-02 03:04:05", "infinity")
	addTZ("Asia/Kolkata", "timestamptz", "timestamp", "2024-01-02 03:04:05+00")
	addTZ("Asia/Kolkata", "timestamptz", "date", "2024-01-02 20:00:00+00", "-infinity")
	addTZ("Asia/Kolkata", "timestamptz", "time", "2024-01-02 20:00:00+00")
	addTZ("America/New_York", "date", "timestamptz", "2024-07-01", "infinity")
	add("timestamp", "date", "2024-01-02 23:59:59", "1969-12-31 12:00:00", "0044-03-15 12:00 BC", "infinity")
	add("timestamp", "time", "2024-01-02 23:59:59.5", "1969-12-31 12:00:00")
	add("date", "timestamp", "2024-01-02", "-infinity")
	add("time", "interval", "12:34:56.5")
	add("interval", "time", "25:00:00", "-01:00:00", "1 day 03:00", "-25:00:00")
	add("timestamp", "timestamp(0)", "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.4999")
	add("timestamp", "timestamp(2)", "2024-01-02 03:04:05.125", "1960-01-02 03:04:05.125")
	add("time", "time(1)", "12:00:00.25", "23:59:59.99")
	add("int4", "oid", "-1", "42")
	add("int8", "oid", "-1", "4294967295", "4294967296")
	add("oid", "int4", "4294967295", "42")
	add("oid", "int8", "4294967295")
	add("int4[]", "int8[]", "{1,NULL,3}")
	add("int8[]", "int4[]", "{1,3000000000}")
	add("text[]", "int4[]", "{1,2}")
	add("float8[]", "int4[]", "{1.5,2.5}")
	add("text", "int4[]", "{1,2}")
	add("text", "interval", "1 day")
	add("text", "timestamptz", "2024-01-02 03:04:05+02")
	add("date", "int4", "2024-01-01")
	add("int4", "date", "1")
	add("bool", "numeric", "true")
	add("interval", "int4", "1 day")
	return cs
}

// genOrders lists values whose ORDER BY order (C collation) is recorded.
func genOrders() []genCase {
	return []genCase{
		{typ: "float8", in: "NaN|Infinity|-Infinity|0|-0|1e-300|-1e300|1.5|1.4999999999999998|NaN"},
		{typ: "float4", in: "NaN|3.4e38|-1|0.1|0.1"},
		{typ: "numeric", in: "NaN|Infinity|-Infinity|1.0|1.00|1|0.999999999999999999999|-1e-20|0|-0.0|123456789012345678901234567890|1e-20|-123.4"},
		{typ: "text", in: "a|B|b|ab|a b|| |Z|é|e|a\\|A"},
		{typ: "bpchar", in: "a|a  |ab|a b| |"},
		{typ: "bytea", in: "\\x00|\\x|\\x0000|\\xff|\\x01"},
		{typ: "interval", in: "1 mon|30 days|720 hours|1 day|24:00:00|-1 day|1 year|360 days|1 mon 1 sec|-00:00:01|0|29 days 24:00:01"},
		{typ: "date", in: "infinity|-infinity|2024-01-02|0001-01-01 BC|1970-01-01"},
		{typ: "timestamptz", in: "2024-01-02 03:04:05+02|2024-01-02 01:04:05+00|2024-01-02 01:04:05.000001+00|infinity|epoch"},
		{typ: "int4[]", in: "{1,2}|{1}|{1,NULL}|{NULL}|{}|{2}|{1,2,3}|{0,5}"},
		{typ: "text[]", in: "{a}|{a,b}|{b}|{\"\"}|{}|{NULL}"},
		{typ: "bool", in: "t|f|t"},
		{typ: "time", in: "24:00|00:00|12:00:00.000001"},
	}
}

func TestGeneratePGExpectations(t *testing.T) {
	dsn := os.Getenv("PGGEN_DSN")
	if dsn == "" {
		t.Skip("PGGEN_DSN not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var out strings.Builder
	out.WriteString("// Code generated by pggen_test.go from PostgreSQL 15; DO NOT EDIT.\n\npackage types\n\n")
	out.WriteString("// pgExpect records, for each input, PostgreSQL 15's text output of\n")
	out.WriteString("// 'in'::typ (or the SQLSTATE of its error) and the hex of its binary send\n")
	out.WriteString("// format. Session: DateStyle ISO, MDY; IntervalStyle postgres;\n// extra_float_digits 1; TimeZone tz (UTC when empty).\n")
	out.WriteString("var pgExpect = []pgCase{\n")
	for _, c := range genCases() {
		tz := c.tz
		if tz == "" {
			tz = "UTC"
		}
		_, err := conn.Exec(ctx, "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = postgres; SET extra_float_digits = 1; SET TimeZone = '"+tz+"'")
		require.NoError(t, err)
		lit := "'" + strings.ReplaceAll(c.in, "'", "''") + "'"
		q := fmt.Sprintf("SELECT format('%%s', %s::%s), encode(%s(%s::%s), 'hex')", lit, c.typ, sendFunc(c.typ), lit, c.typ)
		var text, bin string
		err = conn.QueryRow(ctx, q, pgx.QueryExecModeSimpleProtocol).Scan(&text, &bin)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			fmt.Fprintf(&out, "\t{typ: %q, in: %q, tz: %q, out: %q, bin: %q},\n", c.typ, c.in, c.tz, text, bin)
		case errors.As(err, &pgErr):
			fmt.Fprintf(&out, "\t{typ: %q, in: %q, tz: %q, code: %q, msg: %q},\n", c.typ, c.in, c.tz, pgErr.Code, pgErr.Message)
		default:
			require.NoError(t, err)
		}
	}
	out.WriteString("}\n\n")
	out.WriteString("// pgCastExpect records CAST('in'::from AS to) (explicit) and the same\n")
	out.WriteString("// value inserted into a column of type to (assignment).\n")
	out.WriteString("var pgCastExpect = []pgCastCase{\n")
	for _, c := range genCastCases() {
		tz := c.tz
		if tz == "" {
			tz = "UTC"
		}
		_, err := conn.Exec(ctx, "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = postgres; SET extra_float_digits = 1; SET TimeZone = '"+tz+"'")
		require.NoError(t, err)
		lit := "'" + strings.ReplaceAll(c.in, "'", "''") + "'"
		for _, explicit := range []bool{true, false} {
			var text string
			var err error
			if explicit {
				err = conn.QueryRow(ctx, fmt.Sprintf("SELECT format('%%s', CAST(%s::%s AS %s))", lit, c.from, c.to), pgx.QueryExecModeSimpleProtocol).Scan(&text)
			} else {
				_, err = conn.Exec(ctx, "DROP TABLE IF EXISTS pggen_cast; CREATE TEMP TABLE pggen_cast (c "+c.to+")")
				require.NoError(t, err)
				_, err = conn.Exec(ctx, fmt.Sprintf("INSERT INTO pggen_cast VALUES (%s::%s)", lit, c.from))
				if err == nil {
					err = conn.QueryRow(ctx, "SELECT format('%s', c) FROM pggen_cast", pgx.QueryExecModeSimpleProtocol).Scan(&text)
				}
			}
			var pgErr *pgconn.PgError
			switch {
			case err == nil:
				fmt.Fprintf(&out, "\t{from: %q, to: %q, in: %q, tz: %q, explicit: %v, out: %q},\n", c.from, c.to, c.in, c.tz, explicit, text)
			case errors.As(err, &pgErr):
				fmt.Fprintf(&out, "\t{from: %q, to: %q, in: %q, tz: %q, explicit: %v, code: %q, msg: %q},\n", c.from, c.to, c.in, c.tz, explicit, pgErr.Code, pgErr.Message)
			default:
				require.NoError(t, err)
			}
		}
	}
	out.WriteString("}\n\n")
	out.WriteString("// pgOrderExpect records ORDER BY v, position over '|'-separated values\n")
	out.WriteString("// (C collation): order lists the 1-based positions in sorted order.\n")
	out.WriteString("var pgOrderExpect = []pgOrderCase{\n")
	for _, c := range genOrders() {
		vals := strings.Split(c.in, "|")
		var lits []string
		for _, v := range vals {
			lits = append(lits, "'"+strings.ReplaceAll(v, "'", "''")+"'")
		}
		q := fmt.Sprintf("SELECT array_agg(i ORDER BY v::%s, i)::text FROM unnest(ARRAY[%s]::text[]) WITH ORDINALITY AS u(v, i)", c.typ, strings.Join(lits, ","))
		var order string
		require.NoError(t, conn.QueryRow(ctx, q, pgx.QueryExecModeSimpleProtocol).Scan(&order))
		fmt.Fprintf(&out, "\t{typ: %q, vals: %q, order: %q},\n", c.typ, c.in, order)
	}
	out.WriteString("}\n")
	require.NoError(t, os.WriteFile("pg_expect_test.go", []byte(out.String()), 0o644))
}
