package sqllogictest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// renderSQLite renders one value as sqlite's reference harness does for a
// column of type letter typ: NULL as "NULL", empty strings as "(empty)",
// 'I' as an integer (non-integers truncated toward zero), 'R' with "%.3f",
// 'T' as text; control and non-ASCII bytes become '@'.
func renderSQLite(v Value, kind ValueKind, typ byte) string {
	if v.Null {
		return "NULL"
	}
	var s string
	switch typ {
	case 'I':
		s = renderInt(v.Text, kind)
	case 'R':
		s = renderReal(v.Text, kind)
	default:
		s = v.Text
	}
	if s == "" {
		return "(empty)"
	}
	return sanitize(s)
}

func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i := range b {
		if b[i] < ' ' || b[i] > '~' {
			b[i] = '@'
		}
	}
	return string(b)
}

func renderInt(s string, kind ValueKind) string {
	switch kind {
	case KindInt:
		return s
	case KindBool:
		if s == "t" || s == "true" {
			return "1"
		}
		return "0"
	case KindNumeric:
		// Exact: keep the integer part of the decimal text.
		intPart := s
		if dot := strings.IndexByte(s, '.'); dot >= 0 {
			intPart = s[:dot]
		}
		if n, err := strconv.ParseInt(intPart, 10, 64); err == nil {
			return strconv.FormatInt(n, 10)
		}
		// Beyond int64: the exact integer digits.
		return intPart
	case KindFloat:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return truncFloat(f)
		}
		return "0"
	}
	// Text under 'I': like C's atoi, the leading integer or 0.
	return strconv.FormatInt(leadingInt(s), 10)
}

func truncFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	t := math.Trunc(f)
	if t >= -9.2e18 && t <= 9.2e18 {
		return strconv.FormatInt(int64(t), 10)
	}
	return strconv.FormatFloat(t, 'f', 0, 64)
}

func leadingInt(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func renderReal(s string, kind ValueKind) string {
	if kind == KindBool {
		if s == "t" || s == "true" {
			return "1.000"
		}
		return "0.000"
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		f = 0
	}
	return fmt.Sprintf("%.3f", f)
}

// renderRS renders one value for the sqllogictest-rs format: the
// PostgreSQL text form, NULL as "NULL", empty strings as "(empty)".
func renderRS(v Value) string {
	if v.Null {
		return "NULL"
	}
	if v.Text == "" {
		return "(empty)"
	}
	return v.Text
}

// sqliteValues renders and orders a result for the sqlite format: the
// values row-major, sorted per mode as the reference harness does (rowsort
// compares rows column by column with strcmp; valuesort sorts every value).
func sqliteValues(res *Result, types string, mode SortMode) []string {
	rows := make([][]string, len(res.Rows))
	for i, row := range res.Rows {
		out := make([]string, len(row))
		for j, v := range row {
			typ := byte('T')
			if j < len(types) {
				typ = types[j]
			}
			kind := KindText
			if j < len(res.Columns) {
				kind = res.Columns[j].Kind
			}
			out[j] = renderSQLite(v, kind, typ)
		}
		rows[i] = out
	}
	if mode == RowSort {
		sort.SliceStable(rows, func(a, b int) bool { return compareRows(rows[a], rows[b]) < 0 })
	}
	var vals []string
	for _, r := range rows {
		vals = append(vals, r...)
	}
	if mode == ValueSort {
		sort.Strings(vals)
	}
	return vals
}

func compareRows(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// hashValues is the reference harness's result hash: MD5 over every value
// followed by a newline, as lowercase hex.
func hashValues(vals []string) string {
	h := md5.New()
	for _, v := range vals {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashLine is the "N values hashing to H" form.
func hashLine(vals []string) string {
	return fmt.Sprintf("%d values hashing to %s", len(vals), hashValues(vals))
}

// normalizeLine collapses runs of whitespace to one space and trims.
func normalizeLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// rsRows renders a result for the rs format: one line per row (values
// joined by a space), sorted per mode. valuesort sorts every value and
// regroups them into rows of the result's width, as sqllogictest-rs does.
func rsRows(res *Result, mode SortMode) []string {
	width := len(res.Columns)
	var vals [][]string
	for _, row := range res.Rows {
		out := make([]string, len(row))
		for j, v := range row {
			out[j] = renderRS(v)
		}
		vals = append(vals, out)
	}
	if mode == ValueSort && width > 0 {
		var flat []string
		for _, r := range vals {
			flat = append(flat, r...)
		}
		sort.Strings(flat)
		vals = vals[:0]
		for i := 0; i < len(flat); i += width {
			end := min(i+width, len(flat))
			vals = append(vals, flat[i:end])
		}
	}
	lines := make([]string, len(vals))
	for i, r := range vals {
		lines[i] = strings.Join(r, " ")
	}
	if mode == RowSort {
		sortNormalized(lines)
	}
	return lines
}

func sortNormalized(lines []string) {
	sort.SliceStable(lines, func(a, b int) bool { return normalizeLine(lines[a]) < normalizeLine(lines[b]) })
}
