package streamdiff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is the type family of a generated column.
type Kind uint8

// Column kinds.
const (
	KInt Kind = iota
	KFloat
	KNum
	KText
	KBool
	KDate
	KTs
	numKinds
)

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

// numeric reports whether sum/avg/stddev apply to the kind.
func (k Kind) numeric() bool { return k == KInt || k == KFloat || k == KNum }

// orderable reports whether min/max and ORDER BY apply to the kind.
func (k Kind) orderable() bool { return k != KBool }

// Column is one generated table column.
type Column struct {
	Name    string
	Type    string
	Kind    Kind
	NotNull bool
}

// Table is one generated base table. Every table has id int8 (unique:
// drawn from a counter, never updated; PRIMARY KEY when PK) and k int4 (a
// small-domain join and group key with NULLs). The first table is APPEND
// ONLY and has ts timestamp NOT NULL for windows.
type Table struct {
	Name       string
	Cols       []Column
	PK         bool
	AppendOnly bool
	nextID     int64
}

// DDL is the CREATE TABLE statement; forPG drops the streaming clauses
// PostgreSQL does not know.
func (t *Table) DDL(forPG bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", t.Name)
	for i, c := range t.Cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", c.Name, c.Type)
		if i == 0 && t.PK {
			b.WriteString(" PRIMARY KEY")
		}
		if c.NotNull {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")
	if t.AppendOnly && !forPG {
		b.WriteString(" APPEND ONLY")
	}
	return b.String()
}

// cols returns the non-id columns whose kind satisfies ok.
func (t *Table) cols(ok func(Kind) bool) []Column {
	var out []Column
	for _, c := range t.Cols[1:] {
		if ok(c.Kind) {
			out = append(out, c)
		}
	}
	return out
}

// Schema is the set of base tables of one seed.
type Schema struct {
	Tables []*Table
}

// Gen draws everything of one seed from a seeded PCG: output is a pure
// function of (seed, call sequence).
type Gen struct {
	r    *rand.Rand
	s    *Schema
	excl Exclusions
}

func newGen(seed uint64, stream uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, stream))}
}

func (g *Gen) intn(n int) int             { return g.r.IntN(n) }
func (g *Gen) chance(p float64) bool      { return g.r.Float64() < p }
func (g *Gen) pickCol(cs []Column) Column { return cs[g.r.IntN(len(cs))] }

// keyDomain bounds k: large enough that joins on k stay small.
const keyDomain = 50

// NewSchema generates the 2–4 tables of a seed.
func (g *Gen) NewSchema() *Schema {
	s := &Schema{}
	nt := 2 + g.intn(3)
	for i := 0; i < nt; i++ {
		letter := string(rune('a' + i))
		t := &Table{Name: "t" + strconv.Itoa(i), nextID: 1}
		t.Cols = append(t.Cols, Column{Name: "id", Type: "int8", Kind: KInt, NotNull: true},
			Column{Name: "k", Type: "int4", Kind: KInt})
		if i == 0 {
			t.AppendOnly = true
			t.Cols = append(t.Cols, Column{Name: "ts", Type: "timestamp", Kind: KTs, NotNull: true})
		} else {
			t.AppendOnly = g.chance(0.2)
			t.PK = !t.AppendOnly && g.chance(0.5)
		}
		// Always one numeric column so aggregates have a numeric input.
		nk := []Kind{KInt, KFloat, KNum}[g.intn(3)]
		t.Cols = append(t.Cols, Column{Name: letter + "1", Type: nk.sqlType(), Kind: nk})
		nc := 1 + g.intn(4)
		for j := 2; j <= nc+1; j++ {
			k := Kind(g.intn(int(numKinds)))
			c := Column{Name: letter + strconv.Itoa(j), Type: k.sqlType(), Kind: k}
			if k == KInt && g.chance(0.5) {
				c.Type = "int8"
			}
			t.Cols = append(t.Cols, c)
		}
		s.Tables = append(s.Tables, t)
	}
	g.s = s
	return s
}

var words = []string{"", "a", "b", "ab", "ba", "abc", "B", "A b", "x%", "bb", "ca", "é", "it's", " b "}

// value is a non-NULL literal of kind k.
func (g *Gen) value(k Kind) string {
	switch k {
	case KInt:
		return strconv.Itoa(g.intn(41) - 10)
	case KFloat:
		return strconv.FormatFloat(float64(g.intn(161)-80)/4, 'f', -1, 64)
	case KNum:
		return fmt.Sprintf("%d.%02d", g.intn(200)-100, g.intn(4)*25)
	case KText:
		return "'" + strings.ReplaceAll(words[g.intn(len(words))], "'", "''") + "'"
	case KBool:
		if g.chance(0.5) {
			return "true"
		}
		return "false"
	case KDate:
		return fmt.Sprintf("'2024-%02d-%02d'", 1+g.intn(3), 1+g.intn(28))
	case KTs:
		return fmt.Sprintf("'2024-01-%02d %02d:%02d:%02d'", 1+g.intn(3), g.intn(24), g.intn(60), 15*g.intn(4))
	}
	return "NULL"
}

// typedValue is a literal of kind k usable in expressions.
func (g *Gen) typedValue(k Kind) string {
	v := g.value(k)
	switch k {
	case KDate:
		return "DATE " + v
	case KTs:
		return "TIMESTAMP " + v
	case KFloat:
		return "(" + v + ")::float8"
	case KNum:
		return "(" + v + ")::numeric"
	case KInt:
		return "(" + v + ")"
	}
	return v
}

// row generates one row of t, drawing id from its counter.
func (g *Gen) row(t *Table) string {
	cells := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		switch {
		case i == 0:
			cells[i] = strconv.FormatInt(t.nextID, 10)
			t.nextID++
		case !c.NotNull && g.intn(5) == 0:
			cells[i] = "NULL"
		case c.Name == "k":
			cells[i] = strconv.Itoa(g.intn(keyDomain))
		default:
			cells[i] = g.value(c.Kind)
		}
	}
	return "(" + strings.Join(cells, ", ") + ")"
}

// pred is a WHERE predicate over t selecting a modest share of its rows.
func (g *Gen) pred(t *Table) string {
	switch g.intn(5) {
	case 0:
		return fmt.Sprintf("id %% %d = %d", 3+g.intn(8), g.intn(3))
	case 1:
		return fmt.Sprintf("k = %d", g.intn(keyDomain))
	case 2:
		return fmt.Sprintf("k < %d", 2+g.intn(6))
	case 3:
		c := g.pickCol(t.cols(func(Kind) bool { return true }))
		if c.NotNull {
			return fmt.Sprintf("id %% 5 = %d", g.intn(5))
		}
		return c.Name + " IS NULL"
	default:
		cs := t.cols(Kind.orderable)
		c := g.pickCol(cs)
		op := []string{"<", ">", "<=", "="}[g.intn(4)]
		return fmt.Sprintf("%s %s %s", c.Name, op, g.typedValue(c.Kind))
	}
}

// Update is an UPDATE of a random non-id column of t.
func (g *Gen) Update(t *Table) string {
	c := t.Cols[1+g.intn(len(t.Cols)-1)]
	var set string
	switch {
	case c.Name == "k" && g.chance(0.5):
		set = fmt.Sprintf("k = (k + %d) %% %d", 1+g.intn(5), keyDomain)
	case c.Kind == KInt && g.chance(0.5):
		set = fmt.Sprintf("%s = %s + 1", c.Name, c.Name)
	case !c.NotNull && g.chance(0.15):
		set = c.Name + " = NULL"
	case c.Name == "k":
		set = fmt.Sprintf("k = %d", g.intn(keyDomain))
	default:
		set = c.Name + " = " + g.value(c.Kind)
	}
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s", t.Name, set, g.pred(t))
}

// Delete is a DELETE from t.
func (g *Gen) Delete(t *Table) string {
	return fmt.Sprintf("DELETE FROM %s WHERE %s", t.Name, g.pred(t))
}

// batchSize draws an INSERT size in 1..200, skewed small.
func (g *Gen) batchSize() int {
	switch g.intn(4) {
	case 0:
		return 1 + g.intn(3)
	case 1:
		return 1 + g.intn(20)
	default:
		return 1 + g.intn(200)
	}
}
