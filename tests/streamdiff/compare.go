package streamdiff

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/tests/difftest"
)

// Null renders a NULL cell; a text value "NULL" is quoted to stay distinct.
const Null = difftest.Null

// floatDigits is the number of significant digits float cells are rounded
// to before comparison: incremental and batch evaluation sum floats in
// different orders, so the last bits of avg/stddev/variance may differ.
// Rows still unmatched then pair up within floatTol (values straddling a
// rounding boundary).
const floatDigits = 10

// stmtTimeout bounds every statement, so a view whose dataflow died
// (making FLUSH wait forever) fails the run instead of hanging it.
const stmtTimeout = 2 * time.Minute

// Result is one statement's outcome in PostgreSQL text form (the
// differential tests' type: both harnesses render cells alike).
type Result = difftest.Result

func resultErr(r Result) error {
	if r.Code == "" {
		return nil
	}
	return fmt.Errorf("%s: %s", r.Code, r.Msg)
}

// runPG runs one statement on PostgreSQL (simple protocol) within stmtTimeout.
func runPG(ctx context.Context, c *pgconn.PgConn, sql string) Result {
	ctx, cancel := context.WithTimeout(ctx, stmtTimeout)
	defer cancel()
	return difftest.RunPG(ctx, c, sql)
}

// runOurs runs one statement on the embedded engine within stmtTimeout; an
// engine panic becomes a Result with code "panic" so one bug does not end
// the whole run.
func runOurs(ctx context.Context, s *engine.Session, sql string) Result {
	ctx, cancel := context.WithTimeout(ctx, stmtTimeout)
	defer cancel()
	return difftest.RunOurs(ctx, s, sql)
}

func isFloatOID(o uint32) bool { return o == 700 || o == 701 }

// normFloat rounds a float cell to floatDigits significant digits.
func normFloat(c string) string {
	if c == Null {
		return c
	}
	f, err := strconv.ParseFloat(c, 64)
	if err != nil {
		return c
	}
	if f == 0 {
		return "0" // -0 and 0 agree
	}
	return strconv.FormatFloat(f, 'g', floatDigits, 64)
}

// keyedRow is a row with its canonical sort key.
type keyedRow struct {
	key string
	row []string
}

// rowKeys renders each row as one comparable string (floats rounded) and
// sorts them: a multiset in canonical order.
func rowKeys(r Result, floats []bool) []keyedRow {
	out := make([]keyedRow, len(r.Rows))
	for i, row := range r.Rows {
		cells := make([]string, len(row))
		for j, c := range row {
			if j < len(floats) && floats[j] {
				c = normFloat(c)
			}
			cells[j] = c
		}
		out[i] = keyedRow{key: strings.Join(cells, " | "), row: row}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// floatTol is the relative tolerance of the second matching pass: rows
// whose floats straddle a rounding boundary of floatDigits still pair up.
const floatTol = 1e-9

// rowsClose reports whether two rows agree, floats within floatTol.
func rowsClose(a, b []string, floats []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		if i >= len(floats) || !floats[i] || a[i] == Null || b[i] == Null {
			return false
		}
		x, err1 := strconv.ParseFloat(a[i], 64)
		y, err2 := strconv.ParseFloat(b[i], 64)
		if err1 != nil || err2 != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			return false
		}
		if d := math.Abs(x - y); d > floatTol*math.Max(math.Abs(x), math.Abs(y)) && d > 1e-300 {
			return false
		}
	}
	return true
}

// Diff compares two results as multisets of rows: both must succeed with
// the same column types and the same rows. It returns "" when they agree,
// else a report naming the rows only one side has (at most limit of each).
// Rows are matched on their canonical keys (floats rounded to floatDigits
// significant digits), then leftovers pair up within floatTol.
func Diff(wantName string, want Result, gotName string, got Result, limit int) string {
	if want.Code != "" || got.Code != "" {
		if want.Code == got.Code {
			return ""
		}
		return fmt.Sprintf("%s: %s; %s: %s", wantName, describe(want), gotName, describe(got))
	}
	if len(want.OIDs) != len(got.OIDs) {
		return fmt.Sprintf("column count: %s %d, %s %d", wantName, len(want.OIDs), gotName, len(got.OIDs))
	}
	floats := make([]bool, len(want.OIDs))
	for i := range want.OIDs {
		if want.OIDs[i] != got.OIDs[i] {
			return fmt.Sprintf("column %d type: %s oid %d, %s oid %d", i+1, wantName, want.OIDs[i], gotName, got.OIDs[i])
		}
		floats[i] = isFloatOID(want.OIDs[i])
	}
	a, b := rowKeys(want, floats), rowKeys(got, floats)
	var onlyA, onlyB []keyedRow
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].key < b[j].key):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j].key < a[i].key:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(onlyA) > 0 && len(onlyB) > 0 {
		onlyA, onlyB = pairClose(onlyA, onlyB, floats)
	}
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "rows differ (%s %d rows, %s %d rows)\n", wantName, len(a), gotName, len(b))
	show := func(name string, rows []keyedRow) {
		fmt.Fprintf(&sb, "  only in %s (%d):\n", name, len(rows))
		for k, r := range rows {
			if k == limit {
				fmt.Fprintf(&sb, "    … %d more\n", len(rows)-limit)
				break
			}
			sb.WriteString("    " + strings.Join(r.row, " | ") + "\n")
		}
	}
	show(wantName, onlyA)
	show(gotName, onlyB)
	return sb.String()
}

// pairClose removes the rows of a and b that pair up within floatTol.
func pairClose(a, b []keyedRow, floats []bool) ([]keyedRow, []keyedRow) {
	used := make([]bool, len(b))
	var restA []keyedRow
	for _, x := range a {
		found := false
		for k, y := range b {
			if !used[k] && rowsClose(x.row, y.row, floats) {
				used[k], found = true, true
				break
			}
		}
		if !found {
			restA = append(restA, x)
		}
	}
	var restB []keyedRow
	for k, y := range b {
		if !used[k] {
			restB = append(restB, y)
		}
	}
	return restA, restB
}

func describe(r Result) string {
	if r.Code == "" {
		return fmt.Sprintf("OK (%d rows)", len(r.Rows))
	}
	return fmt.Sprintf("ERROR %s %s", r.Code, r.Msg)
}
