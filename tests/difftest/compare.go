package difftest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Null is how a NULL cell is rendered in a Result.
const Null = "NULL"

// Result is one statement's outcome from either engine, in PostgreSQL text
// form.
type Result struct {
	// Code is the SQLSTATE of the error, "" on success.
	Code string
	Msg  string
	// OIDs are the result column type OIDs.
	OIDs []uint32
	// Rows hold text cells; NULL is Null (a text value "NULL" is quoted
	// as 'NULL' to stay distinct).
	Rows [][]string
}

func cellText(s string) string {
	if s == Null {
		return "'NULL'"
	}
	return s
}

// RunPG runs sql on PostgreSQL in the simple protocol and returns the last
// statement's result.
func RunPG(ctx context.Context, c *pgconn.PgConn, sql string) Result {
	var res Result
	mrr := c.Exec(ctx, sql)
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		res = Result{}
		for rr.NextRow() {
			raw := rr.Values()
			row := make([]string, len(raw))
			for i, b := range raw {
				if b == nil {
					row[i] = Null
				} else {
					row[i] = cellText(string(b))
				}
			}
			res.Rows = append(res.Rows, row)
		}
		for _, fd := range rr.FieldDescriptions() {
			res.OIDs = append(res.OIDs, fd.DataTypeOID)
		}
		if _, err := rr.Close(); err != nil {
			break // reported by mrr.Close
		}
	}
	if err := mrr.Close(); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return Result{Code: pe.Code, Msg: pe.Message}
		}
		return Result{Code: "client", Msg: err.Error()}
	}
	return res
}

// RunOurs runs sql on the embedded engine and renders the rows with
// types.FormatText.
func RunOurs(ctx context.Context, s *engine.Session, sql string) (res Result) {
	defer func() {
		// A panic in the engine is a bug to report, not a crash of the
		// whole differential run.
		if p := recover(); p != nil {
			res = Result{Code: "panic", Msg: fmt.Sprint(p)}
		}
	}()
	cols, rows, _, err := s.Exec(ctx, sql)
	if err != nil {
		return Result{Code: pgerror.CodeOf(err), Msg: err.Error()}
	}
	tc := &types.Ctx{ObjectName: s.ObjectName}
	for _, c := range cols {
		res.OIDs = append(res.OIDs, c.T.Oid())
	}
	for _, r := range rows {
		row := make([]string, len(r))
		for i, d := range r {
			if d == nil {
				row[i] = Null
			} else {
				row[i] = cellText(types.FormatText(tc, d, cols[i].T))
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}

// floatTol is the relative tolerance for float8/float4 cells.
const floatTol = 1e-9

func isFloatOID(o uint32) bool { return o == 700 || o == 701 }

// cellsEqual compares two cells, floats with a relative tolerance.
func cellsEqual(a, b string, float bool) bool {
	if a == b {
		return true
	}
	if !float || a == Null || b == Null {
		return false
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	d := math.Abs(x - y)
	return d <= floatTol*math.Max(math.Abs(x), math.Abs(y)) || d < 1e-300
}

// sortKey renders a row for multiset sorting, rounding float cells so
// values within tolerance sort together.
func sortKey(row []string, floats []bool) string {
	var b strings.Builder
	for i, c := range row {
		if i < len(floats) && floats[i] && c != Null {
			if f, err := strconv.ParseFloat(c, 64); err == nil {
				c = strconv.FormatFloat(f, 'g', 7, 64)
			}
		}
		b.WriteString(c)
		b.WriteByte(0)
	}
	return b.String()
}

// Compare reports why pg and ours differ, or "" when they agree: same
// SQLSTATE when either fails, else the same column types and the same rows
// (in order when ordered, as multisets otherwise).
func Compare(pg, ours Result, ordered bool) string {
	if pg.Code != "" || ours.Code != "" {
		if pg.Code == ours.Code {
			return ""
		}
		return fmt.Sprintf("error mismatch: PostgreSQL %s (%s), ours %s (%s)", orOK(pg.Code), pg.Msg, orOK(ours.Code), ours.Msg)
	}
	if len(pg.OIDs) != len(ours.OIDs) {
		return fmt.Sprintf("column count: PostgreSQL %d, ours %d", len(pg.OIDs), len(ours.OIDs))
	}
	floats := make([]bool, len(pg.OIDs))
	for i := range pg.OIDs {
		if pg.OIDs[i] != ours.OIDs[i] {
			return fmt.Sprintf("column %d type: PostgreSQL oid %d, ours oid %d", i+1, pg.OIDs[i], ours.OIDs[i])
		}
		floats[i] = isFloatOID(pg.OIDs[i])
	}
	if len(pg.Rows) != len(ours.Rows) {
		return fmt.Sprintf("row count: PostgreSQL %d, ours %d", len(pg.Rows), len(ours.Rows))
	}
	a, b := pg.Rows, ours.Rows
	if !ordered {
		a, b = sortedRows(a, floats), sortedRows(b, floats)
	}
	for i := range a {
		for j := range a[i] {
			if !cellsEqual(a[i][j], b[i][j], floats[j]) {
				return fmt.Sprintf("row %d column %d: PostgreSQL %q, ours %q", i+1, j+1, a[i][j], b[i][j])
			}
		}
	}
	return ""
}

func orOK(code string) string {
	if code == "" {
		return "OK"
	}
	return code
}

func sortedRows(rows [][]string, floats []bool) [][]string {
	out := append([][]string(nil), rows...)
	ks := make([]string, len(out))
	idx := make([]int, len(out))
	for i, r := range out {
		ks[i] = sortKey(r, floats)
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return ks[idx[x]] < ks[idx[y]] })
	sorted := make([][]string, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// FormatResult renders up to limit rows of r for a mismatch report.
func FormatResult(r Result, limit int) string {
	if r.Code != "" {
		return fmt.Sprintf("ERROR %s: %s", r.Code, r.Msg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows, oids %v\n", len(r.Rows), r.OIDs)
	for i, row := range r.Rows {
		if i == limit {
			fmt.Fprintf(&b, "  … %d more\n", len(r.Rows)-limit)
			break
		}
		b.WriteString("  " + strings.Join(row, " | ") + "\n")
	}
	return b.String()
}
