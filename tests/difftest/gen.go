package difftest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is the type family an expression is generated for. Int covers int4
// and int8 (they mix freely); the others map to one SQL type each.
type Kind uint8

// Expression kinds.
const (
	KInt Kind = iota
	KFloat
	KNum
	KText
	KBool
	KDate
	KTs
	numKinds
	// kArray is an array_agg result: projected, never operated on.
	kArray
)

// sqlType is the column type a kind is stored as (int columns pick int4 or
// int8 at schema time).
func (k Kind) sqlType() string {
	switch k {
	case KFloat:
		return "float8"
	case KNum:
		return "numeric(10,2)"
	case KText:
		return "text"
	case KBool:
		return "bool"
	case KDate:
		return "date"
	case KTs:
		return "timestamp"
	}
	return "int4"
}

// Options switch generator features off. The zero value generates every
// construct; the CI run uses DefaultOptions, whose exclusions name engine
// bugs that are written up and not yet fixed.
type Options struct {
	// NoRisky turns off expressions that may raise division by zero,
	// overflow or cardinality errors at run time.
	NoRisky bool
	// NoFilter turns off aggregate FILTER (WHERE …) clauses.
	NoFilter bool
	// NoAnyAll turns off op ANY/ALL (subquery).
	NoAnyAll bool
	// NoGroupsFrame turns off GROUPS window frames.
	NoGroupsFrame bool
	// NoArrayAgg turns off array_agg.
	NoArrayAgg bool
	// NoNullifPromotion turns off NULLIF(int, numeric|float8) (kept for
	// bisecting; the typing bug it once excluded is fixed).
	NoNullifPromotion bool
}

// DefaultOptions is what the CI run generates: every construct (no
// exclusions are needed at present).
func DefaultOptions() Options { return Options{} }

// Column is one generated table column.
type Column struct {
	Name string
	Type string // SQL type as written in CREATE TABLE
	Kind Kind
	// Big marks an integer column that holds values near the type's
	// limits; safe arithmetic never uses it.
	Big bool
}

// Table is one generated table with its rows as SQL literals.
type Table struct {
	Name string
	Cols []Column
	Rows [][]string
}

// Schema is the generated database of one seed.
type Schema struct {
	Tables []Table
}

// Script is the CREATE TABLE + INSERT script that loads the schema.
func (s *Schema) Script() string {
	var b strings.Builder
	for _, t := range s.Tables {
		fmt.Fprintf(&b, "CREATE TABLE %s (", t.Name)
		for i, c := range t.Cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", c.Name, c.Type)
		}
		b.WriteString(");\n")
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "INSERT INTO %s VALUES\n", t.Name)
		for i, r := range t.Rows {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString("  (" + strings.Join(r, ", ") + ")")
		}
		b.WriteString(";\n")
	}
	return b.String()
}

// Query is one generated SELECT.
type Query struct {
	SQL string
	// Ordered means the statement has a top-level ORDER BY over all its
	// output columns: rows are compared in order.
	Ordered bool
}

// Gen generates schemas and queries from a seeded PCG. Its output is a pure
// function of (seed, options, call sequence).
type Gen struct {
	r    *rand.Rand
	opts Options
	s    *Schema
	// aliasN numbers table aliases within one query so nested scopes never
	// clash.
	aliasN int
	// lastItems are the output kinds of the last aggQuery (for derived
	// tables built from one).
	lastItems []Kind
	// depth is the subquery nesting level being generated.
	depth int
}

// NewSchema generates the schema and data of seed.
func NewSchema(seed uint64) *Schema {
	r := rand.New(rand.NewPCG(seed, 0x5ab07))
	g := &Gen{r: r}
	nt := 3 + r.IntN(2)
	s := &Schema{}
	for i := 0; i < nt; i++ {
		s.Tables = append(s.Tables, g.table(i))
	}
	return s
}

// NewQueryGen returns the generator of query number i of a seed: every
// query has its own stream so one can be regenerated alone.
func NewQueryGen(s *Schema, seed uint64, i int, opts Options) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, uint64(i)+1)), opts: opts, s: s}
}

func (g *Gen) table(i int) Table {
	letter := string(rune('a' + i))
	t := Table{Name: "t" + strconv.Itoa(i)}
	t.Cols = append(t.Cols, Column{Name: "k", Type: "int4", Kind: KInt})
	nc := 1 + g.r.IntN(5)
	for j := 1; j <= nc; j++ {
		k := Kind(g.r.IntN(int(numKinds)))
		c := Column{Name: letter + strconv.Itoa(j), Type: k.sqlType(), Kind: k}
		if k == KInt {
			if g.r.IntN(2) == 0 {
				c.Type = "int8"
			}
			c.Big = g.r.IntN(4) == 0
		}
		t.Cols = append(t.Cols, c)
	}
	nr := 5 + g.r.IntN(56)
	if g.r.IntN(12) == 0 {
		nr = g.r.IntN(3)
	}
	for n := 0; n < nr; n++ {
		row := make([]string, len(t.Cols))
		for j, c := range t.Cols {
			if g.r.IntN(5) == 0 {
				row[j] = "NULL"
				continue
			}
			switch {
			case j == 0:
				row[j] = strconv.Itoa(g.r.IntN(7))
			case c.Big:
				row[j] = g.bigInt(c.Type)
			default:
				row[j] = g.value(c.Kind)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func (g *Gen) bigInt(typ string) string {
	vals := []string{"2147483647", "-2147483648", "100000", "46341", "-7", "0", "3"}
	if typ == "int8" {
		vals = []string{"9223372036854775807", "-9223372036854775808", "3037000500", "4294967296", "-7", "0", "5"}
	}
	return vals[g.r.IntN(len(vals))]
}

var words = []string{"", "a", "b", "ab", "ba", "abc", "B", "A b", "x%", "bb", "ca", "É", "éa", "it's", `\`, "{a,b}", "NULL", " b "}

// value is a non-NULL literal of kind k as it appears in INSERT (untyped
// where PostgreSQL infers the column type).
func (g *Gen) value(k Kind) string {
	switch k {
	case KInt:
		return strconv.Itoa(g.r.IntN(25) - 5)
	case KFloat:
		return quarter(g.r.IntN(81) - 40)
	case KNum:
		return fmt.Sprintf("%d.%02d", g.r.IntN(200)-100, g.r.IntN(4)*25)
	case KText:
		return "'" + strings.ReplaceAll(words[g.r.IntN(len(words))], "'", "''") + "'"
	case KBool:
		if g.r.IntN(2) == 0 {
			return "true"
		}
		return "false"
	case KDate:
		return fmt.Sprintf("'2024-%02d-%02d'", 1+g.r.IntN(3), 1+g.r.IntN(28))
	case KTs:
		return fmt.Sprintf("'2024-%02d-%02d %02d:%02d:00'", 1+g.r.IntN(2), 1+g.r.IntN(28), g.r.IntN(24), 15*g.r.IntN(4))
	}
	return "NULL"
}

// quarter renders q/4 exactly.
func quarter(q int) string {
	return strconv.FormatFloat(float64(q)/4, 'f', -1, 64)
}

// literal is a typed literal of kind k for use inside expressions.
func (g *Gen) literal(k Kind) string {
	if g.r.IntN(15) == 0 {
		return "NULL::" + k.litType()
	}
	switch k {
	case KInt:
		v := g.r.IntN(12) - 2
		if v < 0 {
			return "(" + strconv.Itoa(v) + ")"
		}
		return strconv.Itoa(v)
	case KFloat:
		v := g.r.IntN(41) - 20
		if v < 0 {
			return "(" + quarter(v) + ")::float8"
		}
		return quarter(v) + "::float8"
	case KNum:
		return fmt.Sprintf("%d.%d", g.r.IntN(20), g.r.IntN(10))
	case KDate:
		return "DATE " + g.value(k)
	case KTs:
		return "TIMESTAMP " + g.value(k)
	case KText:
		return g.value(k) + "::text"
	}
	return g.value(k)
}

func (k Kind) litType() string {
	if k == KNum {
		return "numeric"
	}
	return k.sqlType()
}

// col is a column reference visible in a scope.
type col struct {
	ref  string
	kind Kind
	big  bool
}

// scope is the set of columns an expression may reference.
type scope struct {
	cols []col
	// tables lists (alias, table) pairs of plain table sources, for
	// correlated subqueries and windows.
	tables []aliased
}

type aliased struct {
	alias string
	t     *Table
}

// mentions reports whether sql references a column of s.
func (s *scope) mentions(sql string) bool {
	for _, c := range s.cols {
		if strings.Contains(sql, c.ref) {
			return true
		}
	}
	return false
}

func (s *scope) ofKind(k Kind, allowBig bool) []col {
	var out []col
	for _, c := range s.cols {
		if c.kind == k && (allowBig || !c.big) {
			out = append(out, c)
		}
	}
	return out
}

func (g *Gen) pick(n int) int { return g.r.IntN(n) }

func (g *Gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *Gen) newAlias(prefix string) string {
	g.aliasN++
	return prefix + strconv.Itoa(g.aliasN)
}

// expr generates an expression of kind k over sc. risky allows operations
// that can fail at run time.
func (g *Gen) expr(sc *scope, k Kind, depth int, risky bool) string {
	if depth <= 0 || g.chance(0.35) {
		return g.leaf(sc, k, risky)
	}
	d := depth - 1
	e := func(k Kind) string { return g.expr(sc, k, d, risky) }
	switch g.pick(5) {
	case 0:
		return fmt.Sprintf("CASE WHEN %s THEN %s ELSE %s END", g.pred(sc, d, risky), e(k), e(k))
	case 1:
		return fmt.Sprintf("COALESCE(%s, %s)", e(k), e(k))
	case 2:
		if (k == KNum || k == KFloat) && !g.opts.NoNullifPromotion && g.chance(0.3) {
			// The = operator promotes the int argument: the result is
			// numeric/float8.
			return fmt.Sprintf("NULLIF(%s, %s)", e(KInt), e(k))
		}
		if k != KBool && g.chance(0.5) {
			return fmt.Sprintf("NULLIF(%s, %s)", e(k), e(k))
		}
	}
	switch k {
	case KInt:
		switch g.pick(9) {
		case 0, 1:
			return fmt.Sprintf("(%s + %s)", e(KInt), e(KInt))
		case 2:
			return fmt.Sprintf("(%s - %s)", e(KInt), e(KInt))
		case 3:
			return fmt.Sprintf("(%s * %s)", g.leaf(sc, KInt, risky), g.leaf(sc, KInt, risky))
		case 4:
			if risky {
				return fmt.Sprintf("(%s / %s)", e(KInt), e(KInt))
			}
			return fmt.Sprintf("(%s / NULLIF(%s, 0))", e(KInt), e(KInt))
		case 5:
			return fmt.Sprintf("(%s %% NULLIF(%s, 0))", e(KInt), e(KInt))
		case 6:
			switch g.pick(3) {
			case 0:
				return fmt.Sprintf("length(%s)", e(KText))
			case 1:
				return fmt.Sprintf("strpos(%s, 'b')", e(KText))
			default:
				if risky && g.chance(0.5) {
					return fmt.Sprintf("%s::int4", e(KText))
				}
				return fmt.Sprintf("%s::int4", e([]Kind{KNum, KFloat}[g.pick(2)]))
			}
		case 7:
			if g.chance(0.5) {
				return fmt.Sprintf("(%s - %s)", e(KDate), e(KDate))
			}
			return fmt.Sprintf("%s(%s, %s)", []string{"greatest", "least"}[g.pick(2)], e(KInt), e(KInt))
		default:
			if g.chance(0.3) {
				return fmt.Sprintf("CASE %s WHEN %s THEN %s WHEN %s THEN %s ELSE %s END",
					g.leaf(sc, KInt, risky), g.literal(KInt), e(KInt), g.literal(KInt), e(KInt), e(KInt))
			}
			return fmt.Sprintf("abs(%s)", e(KInt))
		}
	case KFloat:
		switch g.pick(6) {
		case 0:
			return fmt.Sprintf("(%s + %s)", e(KFloat), e(KFloat))
		case 1:
			return fmt.Sprintf("(%s - %s)", e(KFloat), e(KFloat))
		case 2:
			return fmt.Sprintf("(%s * %s)", g.leaf(sc, KFloat, risky), g.leaf(sc, KFloat, risky))
		case 3:
			return fmt.Sprintf("(%s / NULLIF(%s, 0))", e(KFloat), e(KFloat))
		case 4:
			if g.chance(0.5) {
				return fmt.Sprintf("%s::float8", e(KNum))
			}
			return fmt.Sprintf("%s::float8", g.leaf(sc, KInt, false))
		default:
			fns := []string{"abs", "round", "ceil", "floor", "trunc"}
			if g.chance(0.2) {
				return fmt.Sprintf("sqrt(abs(%s))", e(KFloat))
			}
			return fmt.Sprintf("%s(%s)", fns[g.pick(len(fns))], e(KFloat))
		}
	case KNum:
		switch g.pick(7) {
		case 0:
			return fmt.Sprintf("(%s + %s)", e(KNum), e(KNum))
		case 1:
			return fmt.Sprintf("(%s - %s)", e(KNum), e(KNum))
		case 2:
			return fmt.Sprintf("(%s * %s)", g.leaf(sc, KNum, risky), g.leaf(sc, KNum, risky))
		case 3:
			return fmt.Sprintf("(%s / NULLIF(%s, 0))", e(KNum), e(KNum))
		case 4:
			return fmt.Sprintf("round(%s, %d)", e(KNum), g.pick(3))
		case 5:
			switch g.pick(3) {
			case 0:
				return fmt.Sprintf("%s::numeric", g.leaf(sc, KInt, true))
			case 1:
				return fmt.Sprintf("%s::numeric", e(KFloat))
			default:
				if g.chance(0.5) {
					fields := []string{"year", "month", "day", "hour", "minute", "dow", "doy", "epoch", "quarter", "week"}
					src := e(KTs)
					if g.chance(0.5) {
						src = e(KDate)
					}
					return fmt.Sprintf("extract(%s from %s)", fields[g.pick(len(fields))], src)
				}
				return fmt.Sprintf("(%s::numeric / %d)", g.leaf(sc, KInt, true), 3+g.pick(5))
			}
		default:
			fns := []string{"abs", "ceil", "floor", "trunc", "sign"}
			return fmt.Sprintf("%s(%s)", fns[g.pick(len(fns))], e(KNum))
		}
	case KText:
		switch g.pick(6) {
		case 0:
			return fmt.Sprintf("lower(%s)", e(KText))
		case 1:
			return fmt.Sprintf("upper(%s)", e(KText))
		case 2:
			return fmt.Sprintf("substr(%s, %d, %d)", e(KText), g.pick(4), g.pick(4))
		case 3:
			return fmt.Sprintf("(%s || %s)", e(KText), e(KText))
		case 4:
			switch g.pick(5) {
			case 0:
				return fmt.Sprintf("trim(%s)", e(KText))
			case 1:
				return fmt.Sprintf("replace(%s, 'a', 'xy')", e(KText))
			case 2:
				return fmt.Sprintf("left(%s, %d)", e(KText), g.pick(4)-1)
			case 3:
				return fmt.Sprintf("right(%s, %d)", e(KText), g.pick(3))
			default:
				return fmt.Sprintf("repeat(%s, %d)", e(KText), g.pick(3))
			}
		default:
			k := []Kind{KInt, KNum, KFloat, KDate, KBool, KTs}[g.pick(6)]
			return fmt.Sprintf("%s::text", g.leaf(sc, k, true))
		}
	case KBool:
		return g.pred(sc, depth, risky)
	case KDate:
		if g.chance(0.5) {
			return fmt.Sprintf("(%s + %d)", e(KDate), g.pick(10)-3)
		}
		return fmt.Sprintf("%s::date", e(KTs))
	case KTs:
		switch g.pick(3) {
		case 0:
			return fmt.Sprintf("date_trunc('day', %s)", e(KTs))
		case 1:
			return fmt.Sprintf("(%s + INTERVAL '90 minutes')", e(KTs))
		default:
			return fmt.Sprintf("%s::timestamp", e(KDate))
		}
	}
	return g.leaf(sc, k, risky)
}

func (g *Gen) leaf(sc *scope, k Kind, risky bool) string {
	cs := sc.ofKind(k, risky)
	if len(cs) > 0 && g.chance(0.85) {
		return cs[g.pick(len(cs))].ref
	}
	return g.literal(k)
}

// cmpKind picks a kind to compare, preferring kinds with columns.
func (g *Gen) cmpKind(sc *scope) Kind {
	if len(sc.cols) > 0 && g.chance(0.92) {
		return sc.cols[g.pick(len(sc.cols))].kind
	}
	return Kind(g.pick(int(numKinds)))
}

// pred generates a boolean expression.
func (g *Gen) pred(sc *scope, depth int, risky bool) string {
	if depth <= 0 {
		return g.atom(sc, 0, risky)
	}
	switch g.pick(6) {
	case 0:
		return fmt.Sprintf("(%s AND %s)", g.pred(sc, depth-1, risky), g.pred(sc, depth-1, risky))
	case 1:
		return fmt.Sprintf("(%s OR %s)", g.pred(sc, depth-1, risky), g.pred(sc, depth-1, risky))
	case 2:
		return fmt.Sprintf("(NOT %s)", g.pred(sc, depth-1, risky))
	}
	return g.atom(sc, depth-1, risky)
}

func (g *Gen) atom(sc *scope, depth int, risky bool) string {
	k := g.cmpKind(sc)
	e := func() string { return g.expr(sc, k, depth, risky) }
	switch g.pick(10) {
	case 0:
		return fmt.Sprintf("(%s IS NULL)", g.operand(sc, k, depth, risky))
	case 1:
		return fmt.Sprintf("(%s IS NOT NULL)", g.operand(sc, k, depth, risky))
	case 2:
		if k == KBool {
			break
		}
		n := 1 + g.pick(4)
		lits := make([]string, n)
		for i := range lits {
			lits[i] = g.literal(k)
		}
		not := ""
		if g.chance(0.3) {
			not = "NOT "
		}
		return fmt.Sprintf("(%s %sIN (%s))", g.operand(sc, k, depth, risky), not, strings.Join(lits, ", "))
	case 3:
		if k == KBool {
			break
		}
		not := ""
		if g.chance(0.3) {
			not = "NOT "
		}
		return fmt.Sprintf("(%s %sBETWEEN %s AND %s)", g.operand(sc, k, depth, risky), not, g.literal(k), g.literal(k))
	case 4:
		pats := []string{"a%", "%b", "_b", "%", "", "A%", "%\\%%", "a_c", "%a%"}
		not := ""
		if g.chance(0.3) {
			not = "NOT "
		}
		like := "LIKE"
		if g.chance(0.25) {
			like = "ILIKE"
		}
		return fmt.Sprintf("(%s %s%s '%s')", g.operand(sc, KText, depth, risky), not, like, pats[g.pick(len(pats))])
	case 5:
		if cs := sc.ofKind(KBool, true); len(cs) > 0 {
			return cs[g.pick(len(cs))].ref
		}
	case 6:
		not := ""
		if g.chance(0.4) {
			not = "NOT "
		}
		return fmt.Sprintf("(%s IS %sDISTINCT FROM %s)", g.operand(sc, k, depth, risky), not, e())
	}
	ops := []string{"=", "<>", "<", "<=", ">", ">="}
	op := ops[g.pick(len(ops))]
	if g.chance(0.2) {
		// Mixed numeric kinds compare after promotion.
		nk := []Kind{KInt, KNum, KFloat}
		a, b := nk[g.pick(3)], nk[g.pick(3)]
		return fmt.Sprintf("(%s %s %s)", g.operand(sc, a, depth, risky), op, g.expr(sc, b, depth, risky))
	}
	return fmt.Sprintf("(%s %s %s)", g.operand(sc, k, depth, risky), op, e())
}

// operand is a column of kind k when one is in scope, else an expression.
func (g *Gen) operand(sc *scope, k Kind, depth int, risky bool) string {
	if cs := sc.ofKind(k, true); len(cs) > 0 && g.chance(0.6) {
		return cs[g.pick(len(cs))].ref
	}
	return g.expr(sc, k, depth, risky)
}
