package streamdiff

import (
	"fmt"
	"strings"
)

// View is one generated view: the query the engine maintains, the query
// the batch engine runs as its oracle, and the body of the PostgreSQL view
// compared with it.
type View struct {
	Name     string
	Template string
	// SQL is the view's query as given to CREATE MATERIALIZED VIEW.
	SQL string
	// BatchSQL is the batch-engine oracle: SQL itself (the batch engine
	// runs tumble and hop too).
	BatchSQL string
	// PGSQL is the body of the PostgreSQL view, "" when the view is not
	// compared with PostgreSQL.
	PGSQL string
	// Deps are the generated views the query reads.
	Deps []string
}

// template generates one view from the schema (and earlier views).
type template struct {
	name string
	gen  func(g *Gen, vs []*View) *View
}

// templates lists every view shape the harness generates, one per
// operator family of the streaming engine.
var templates = []template{
	{"project_filter", tmplProjectFilter},
	{"agg_group", tmplAggGroup},
	{"agg_global", tmplAggGlobal},
	{"agg_having", tmplAggHaving},
	{"agg_count_distinct", tmplCountDistinct},
	{"agg_stddev", tmplStddev},
	{"agg_string_agg", tmplStringAgg},
	{"agg_bool", tmplBoolAgg},
	{"agg_multi_key_filter", tmplAggMultiKey},
	{"join_inner", joinTmpl("JOIN")},
	{"join_left", joinTmpl("LEFT JOIN")},
	{"join_right", joinTmpl("RIGHT JOIN")},
	{"join_full", joinTmpl("FULL JOIN")},
	{"join_outer_residual", tmplOuterResidual},
	{"join_multi_key", tmplJoinMultiKey},
	{"join_expr_key", tmplJoinExprKey},
	{"join_3way", tmplJoin3},
	{"join_agg", tmplJoinAgg},
	{"distinct", tmplDistinct},
	{"distinct_on", tmplDistinctOn},
	{"topn", tmplTopN},
	{"group_topn_row_number", tmplGroupTopNRowNumber},
	{"group_topn_rank", tmplGroupTopNRank},
	{"union_all", setOpTmpl("UNION ALL")},
	{"union", setOpTmpl("UNION")},
	{"intersect", setOpTmpl("INTERSECT")},
	{"except", setOpTmpl("EXCEPT")},
	{"intersect_all", setOpTmpl("INTERSECT ALL")},
	{"except_all", setOpTmpl("EXCEPT ALL")},
	{"scalar_subquery_filter", tmplScalarSubquery},
	{"over_row_number", tmplOverRowNumber},
	{"over_lag", tmplOverLag},
	{"over_running_sum", tmplOverSum},
	{"tumble_agg", tmplTumble},
	{"tumble_retract", tmplTumbleRetract},
	{"hop_agg", tmplHop},
	{"mv_on_mv_agg", tmplMVOnMVAgg},
	{"mv_on_mv_join", tmplMVOnMVJoin},
	{"mv_on_mv_topn", tmplMVOnMVTopN},
}

// TemplateNames lists the template names in generation order.
func TemplateNames() []string {
	out := make([]string, len(templates))
	for i, t := range templates {
		out[i] = t.name
	}
	return out
}

// std makes a view whose query is standard SQL for all three engines.
func std(sql string, deps ...string) *View {
	return &View{SQL: sql, BatchSQL: sql, PGSQL: sql, Deps: deps}
}

func (g *Gen) table() *Table { return g.s.Tables[g.intn(len(g.s.Tables))] }

// twoTables returns two distinct tables.
func (g *Gen) twoTables() (*Table, *Table) {
	i := g.intn(len(g.s.Tables))
	j := (i + 1 + g.intn(len(g.s.Tables)-1)) % len(g.s.Tables)
	return g.s.Tables[i], g.s.Tables[j]
}

func all(Kind) bool { return true }

// numCol is a numeric column of t (every table has one).
func (g *Gen) numCol(t *Table) Column { return g.pickCol(t.cols(Kind.numeric)) }

// ordCol is an orderable column of t.
func (g *Gen) ordCol(t *Table) Column { return g.pickCol(t.cols(Kind.orderable)) }

// condition is a filter over the columns of t (alias-free).
func (g *Gen) condition(t *Table) string {
	c := g.ordCol(t)
	switch g.intn(4) {
	case 0:
		return c.Name + " IS NOT NULL"
	case 1:
		return fmt.Sprintf("k %% 3 <> %d OR %s IS NULL", g.intn(3), c.Name)
	default:
		op := []string{"<", ">", "<=", ">=", "<>"}[g.intn(5)]
		return fmt.Sprintf("%s %s %s", c.Name, op, g.typedValue(c.Kind))
	}
}

func tmplProjectFilter(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.pickCol(t.cols(all))
	n := g.numCol(t)
	return std(fmt.Sprintf("SELECT id, k, %s AS c, %s + 1 AS n1, k * 2 AS k2 FROM %s WHERE %s", c.Name, n.Name, t.Name, g.condition(t)))
}

func tmplAggGroup(g *Gen, _ []*View) *View {
	t := g.table()
	n, o, c := g.numCol(t), g.ordCol(t), g.pickCol(t.cols(all))
	return std(fmt.Sprintf("SELECT k, count(*) AS cnt, count(%s) AS cc, sum(%s) AS s, avg(%s) AS a, min(%s) AS mn, max(%s) AS mx FROM %s GROUP BY k",
		c.Name, n.Name, n.Name, o.Name, o.Name, t.Name))
}

func tmplAggGlobal(g *Gen, _ []*View) *View {
	t := g.table()
	n, o := g.numCol(t), g.ordCol(t)
	return std(fmt.Sprintf("SELECT count(*) AS cnt, sum(%s) AS s, min(%s) AS mn, max(%s) AS mx, count(DISTINCT k) AS dk FROM %s",
		n.Name, o.Name, o.Name, t.Name))
}

func tmplAggHaving(g *Gen, _ []*View) *View {
	t := g.table()
	n := g.numCol(t)
	return std(fmt.Sprintf("SELECT k %% 5 AS g, count(*) AS cnt, sum(%s) AS s FROM %s WHERE %s GROUP BY k %% 5 HAVING count(*) > %d",
		n.Name, t.Name, g.condition(t), 1+g.intn(6)))
}

func tmplCountDistinct(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.pickCol(t.cols(all))
	return std(fmt.Sprintf("SELECT k, count(DISTINCT %s) AS d, count(*) AS cnt FROM %s GROUP BY k", c.Name, t.Name))
}

func tmplStddev(g *Gen, _ []*View) *View {
	t := g.table()
	n := g.numCol(t).Name
	return std(fmt.Sprintf("SELECT k, stddev(%s) AS sd, variance(%s) AS var, stddev_pop(%s) AS sdp, var_pop(%s) AS vp FROM %s GROUP BY k",
		n, n, n, n, t.Name))
}

func tmplStringAgg(g *Gen, _ []*View) *View {
	t := g.table()
	expr := "k::text"
	if cs := t.cols(func(k Kind) bool { return k == KText }); len(cs) > 0 {
		expr = g.pickCol(cs).Name
	} else if g.chance(0.5) {
		expr = g.pickCol(t.cols(all)).Name + "::text"
	}
	return std(fmt.Sprintf("SELECT k %% 4 AS g, string_agg(%s, ',' ORDER BY %s) AS sa FROM %s GROUP BY k %% 4", expr, expr, t.Name))
}

func tmplBoolAgg(g *Gen, _ []*View) *View {
	t := g.table()
	expr := fmt.Sprintf("(%s)", g.condition(t))
	if cs := t.cols(func(k Kind) bool { return k == KBool }); len(cs) > 0 && g.chance(0.7) {
		expr = g.pickCol(cs).Name
	}
	return std(fmt.Sprintf("SELECT k, bool_and(%s) AS ba, bool_or(%s) AS bo, count(*) AS cnt FROM %s GROUP BY k", expr, expr, t.Name))
}

func tmplAggMultiKey(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.pickCol(t.cols(all))
	n := g.numCol(t)
	return std(fmt.Sprintf("SELECT k %% 3 AS g, %s AS c, count(*) AS cnt, count(*) FILTER (WHERE %s) AS fc, sum(%s * 2) AS s2, max(id) AS mx FROM %s GROUP BY k %% 3, %s",
		c.Name, g.condition(t), n.Name, t.Name, c.Name))
}

// joinView is the shared shape of the two-table join templates.
func (g *Gen) joinView(a, b *Table, kind, cond string) *View {
	x, y := g.pickCol(a.cols(all)), g.pickCol(b.cols(all))
	return std(fmt.Sprintf("SELECT a.id AS aid, b.id AS bid, a.k AS ak, b.k AS bk, a.%s AS ax, b.%s AS bx FROM %s a %s %s b ON %s",
		x.Name, y.Name, a.Name, kind, b.Name, cond))
}

func joinTmpl(kind string) func(*Gen, []*View) *View {
	return func(g *Gen, _ []*View) *View {
		a, b := g.twoTables()
		return g.joinView(a, b, kind, "a.k = b.k")
	}
}

// tmplOuterResidual is an outer join whose ON clause adds a non-equi
// predicate: unmatched rows must be null-extended, not dropped.
func tmplOuterResidual(g *Gen, _ []*View) *View {
	a, b := g.twoTables()
	x, y := g.numCol(a), g.numCol(b)
	kind := []string{"LEFT JOIN", "RIGHT JOIN", "FULL JOIN"}[g.intn(3)]
	return g.joinView(a, b, kind, fmt.Sprintf("a.k = b.k AND a.%s < b.%s", x.Name, y.Name))
}

// tmplJoinMultiKey joins on k and a second column pair of one kind (int4
// may meet int8).
func tmplJoinMultiKey(g *Gen, _ []*View) *View {
	a, b := g.twoTables()
	cond := "a.k = b.k"
	for tries := 0; tries < 8; tries++ {
		ca, cb := g.pickCol(a.cols(all)), g.pickCol(b.cols(all))
		if ca.Kind == cb.Kind && ca.Name != "k" {
			cond += fmt.Sprintf(" AND a.%s = b.%s", ca.Name, cb.Name)
			break
		}
	}
	kind := []string{"JOIN", "LEFT JOIN", "FULL JOIN"}[g.intn(3)]
	return g.joinView(a, b, kind, cond)
}

// tmplJoinExprKey joins on an expression of the probe side (a foreign key
// computed from k).
func tmplJoinExprKey(g *Gen, _ []*View) *View {
	a, b := g.twoTables()
	kind := []string{"JOIN", "LEFT JOIN"}[g.intn(2)]
	if g.excl.ExplicitCastJoinKey {
		return g.joinView(a, b, kind, "b.id = (a.k + 1)::int8")
	}
	return g.joinView(a, b, kind, "b.id = a.k + 1")
}

func tmplJoin3(g *Gen, _ []*View) *View {
	a, b := g.twoTables()
	c := g.table()
	kind := []string{"JOIN", "LEFT JOIN"}[g.intn(2)]
	return std(fmt.Sprintf("SELECT a.id AS aid, b.id AS bid, c.id AS cid, c.%s AS cx FROM %s a JOIN %s b ON a.k = b.k %s %s c ON c.id = b.id",
		g.pickCol(c.cols(all)).Name, a.Name, b.Name, kind, c.Name))
}

func tmplJoinAgg(g *Gen, _ []*View) *View {
	a, b := g.twoTables()
	y := g.numCol(b)
	return std(fmt.Sprintf("SELECT a.k, count(*) AS cnt, sum(b.%s) AS s, count(DISTINCT b.id) AS nb FROM %s a JOIN %s b ON a.k = b.k GROUP BY a.k",
		y.Name, a.Name, b.Name))
}

func tmplDistinct(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.pickCol(t.cols(all))
	return std(fmt.Sprintf("SELECT DISTINCT k %% 7 AS g, %s FROM %s", c.Name, t.Name))
}

// order is "col [DESC] [NULLS …], id" over orderable column c: total
// because id is unique.
func (g *Gen) order(c Column) string {
	dir := []string{"", " DESC", " NULLS FIRST", " DESC NULLS LAST"}[g.intn(4)]
	return c.Name + dir + ", id"
}

func tmplDistinctOn(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.ordCol(t)
	return std(fmt.Sprintf("SELECT DISTINCT ON (k) k, id, %s AS c FROM %s ORDER BY k, %s", c.Name, t.Name, g.order(c)))
}

func tmplTopN(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.ordCol(t)
	off := ""
	if g.chance(0.25) {
		off = fmt.Sprintf(" OFFSET %d", 1+g.intn(3))
	}
	return std(fmt.Sprintf("SELECT id, k, %s AS c FROM %s ORDER BY %s LIMIT %d%s", c.Name, t.Name, g.order(c), 1+g.intn(10), off))
}

func tmplGroupTopNRowNumber(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.ordCol(t)
	return std(fmt.Sprintf("SELECT k, id, c FROM (SELECT k, id, %s AS c, row_number() OVER (PARTITION BY k ORDER BY %s) AS rn FROM %s) s WHERE rn <= %d",
		c.Name, g.order(c), t.Name, 1+g.intn(3)))
}

func tmplGroupTopNRank(g *Gen, _ []*View) *View {
	t := g.table()
	c := g.ordCol(t)
	return std(fmt.Sprintf("SELECT k, id, c, r FROM (SELECT k, id, %s AS c, rank() OVER (PARTITION BY k ORDER BY %s) AS r FROM %s) s WHERE r <= %d",
		c.Name, c.Name, t.Name, 1+g.intn(3)))
}

func setOpTmpl(op string) func(*Gen, []*View) *View {
	return func(g *Gen, _ []*View) *View {
		a, b := g.twoTables()
		// A column pair of one kind, else k with k.
		x, y := "k", "k"
		for tries := 0; tries < 6; tries++ {
			ca, cb := g.pickCol(a.cols(all)), g.pickCol(b.cols(all))
			if ca.Kind == cb.Kind && ca.Type == cb.Type {
				x, y = ca.Name, cb.Name
				break
			}
		}
		return std(fmt.Sprintf("SELECT k %% 5 AS g, %s AS x FROM %s %s SELECT k %% 5, %s FROM %s", x, a.Name, op, y, b.Name))
	}
}

func tmplScalarSubquery(g *Gen, _ []*View) *View {
	a, b := g.twoTables()
	x, y := g.numCol(a), g.numCol(b)
	agg := []string{"avg", "min", "max"}[g.intn(3)]
	return std(fmt.Sprintf("SELECT id, k, %s AS x FROM %s WHERE %s > (SELECT %s(%s) FROM %s)", x.Name, a.Name, x.Name, agg, y.Name, b.Name))
}

// appendOnly is the append-only table with ts (the first table).
func (g *Gen) appendOnly() *Table { return g.s.Tables[0] }

func tmplOverRowNumber(g *Gen, _ []*View) *View {
	t := g.appendOnly()
	return std(fmt.Sprintf("SELECT id, k, ts, row_number() OVER (PARTITION BY k ORDER BY ts, id) AS rn FROM %s", t.Name))
}

func tmplOverLag(g *Gen, _ []*View) *View {
	t := g.appendOnly()
	c := g.pickCol(t.cols(all))
	return std(fmt.Sprintf("SELECT id, k, %s AS c, lag(%s) OVER (PARTITION BY k ORDER BY ts, id) AS prev FROM %s", c.Name, c.Name, t.Name))
}

func tmplOverSum(g *Gen, _ []*View) *View {
	t := g.appendOnly()
	n := g.numCol(t)
	return std(fmt.Sprintf("SELECT id, k, sum(%s) OVER (PARTITION BY k ORDER BY ts, id) AS run, count(*) OVER (PARTITION BY k ORDER BY ts, id) AS c FROM %s", n.Name, t.Name))
}

// windowSizes are tumble/hop sizes (each a multiple of the slide used
// with it).
var windowSizes = []string{"15 minutes", "1 hour", "6 hours", "1 day"}

// epochOrigin aligns date_bin like tumble/hop: windows start at multiples
// of the size since the Unix epoch.
const epochOrigin = "TIMESTAMP '1970-01-01 00:00:00'"

func tmplTumble(g *Gen, _ []*View) *View {
	t := g.appendOnly()
	n := g.numCol(t)
	sel := fmt.Sprintf("SELECT window_start, window_end, k %% 3 AS g, count(*) AS cnt, sum(%s) AS s, max(id) AS mx FROM {FROM} GROUP BY window_start, window_end, k %% 3", n.Name)
	return g.tumbleView(t, "ts", sel)
}

// tmplTumbleRetract windows a table that takes updates and deletes, on a
// nullable timestamp column (rows with NULL time are filtered out).
func tmplTumbleRetract(g *Gen, _ []*View) *View {
	for _, t := range g.s.Tables {
		if t.AppendOnly {
			continue
		}
		for _, c := range t.cols(func(k Kind) bool { return k == KTs }) {
			sel := "SELECT window_start, window_end, count(*) AS cnt, min(id) AS mn, max(k) AS mk FROM {FROM} WHERE " + c.Name + " IS NOT NULL GROUP BY window_start, window_end"
			return g.tumbleView(t, c.Name, sel)
		}
	}
	return nil
}

// tumbleView instantiates sel over tumble(t, col, size [, offset]); the
// PostgreSQL rewrite bins col with date_bin from the epoch (plus offset).
func (g *Gen) tumbleView(t *Table, col, sel string) *View {
	size := windowSizes[g.intn(len(windowSizes))]
	stream := fmt.Sprintf("tumble(%s, %s, INTERVAL '%s')", t.Name, col, size)
	origin := epochOrigin
	if g.chance(0.3) {
		stream = fmt.Sprintf("tumble(%s, %s, INTERVAL '%s', INTERVAL '5 minutes')", t.Name, col, size)
		origin = "TIMESTAMP '1970-01-01 00:05:00'"
	}
	bin := fmt.Sprintf("date_bin(INTERVAL '%s', %s, %s)", size, col, origin)
	rewrite := fmt.Sprintf("(SELECT *, %s AS window_start, %s + INTERVAL '%s' AS window_end FROM %s) w", bin, bin, size, t.Name)
	return windowView(sel, stream, rewrite)
}

// windowView is a view over a time-window table function: the batch
// engine runs it as is, PostgreSQL runs the date_bin rewrite.
func windowView(sel, stream, rewrite string) *View {
	q := strings.Replace(sel, "{FROM}", stream, 1)
	return &View{SQL: q, BatchSQL: q, PGSQL: strings.Replace(sel, "{FROM}", rewrite, 1)}
}

func tmplHop(g *Gen, _ []*View) *View {
	t := g.appendOnly()
	slides := []string{"15 minutes", "30 minutes", "1 hour"}
	mins := []int{15, 30, 60}
	i := g.intn(len(slides))
	factor := 2 + g.intn(3)
	slide := slides[i]
	size := fmt.Sprintf("%d minutes", mins[i]*factor)
	n := g.numCol(t)
	sel := fmt.Sprintf("SELECT window_start, window_end, count(*) AS cnt, sum(%s) AS s FROM {FROM} GROUP BY window_start, window_end", n.Name)
	stream := fmt.Sprintf("hop(%s, ts, INTERVAL '%s', INTERVAL '%s')", t.Name, slide, size)
	// A row at ts lies in the factor windows starting at
	// bin(ts) - i*slide for i in 0..factor-1.
	bin := fmt.Sprintf("date_bin(INTERVAL '%s', w.ts, %s) - h.i * INTERVAL '%s'", slide, epochOrigin, slide)
	rewrite := fmt.Sprintf("(SELECT w.*, %s AS window_start, %s + INTERVAL '%s' AS window_end FROM %s w CROSS JOIN generate_series(0, %d) AS h(i)) hw",
		bin, bin, size, t.Name, factor-1)
	return windowView(sel, stream, rewrite)
}

// lastOf is the most recent earlier view of a template, nil if none.
func lastOf(vs []*View, tmpl string) *View {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Template == tmpl {
			return vs[i]
		}
	}
	return nil
}

// derive builds a view over base; the PostgreSQL side reads base's PG view
// of the same name, so it is compared only when base is.
func derive(sql string, base *View) *View {
	v := &View{SQL: sql, BatchSQL: sql, Deps: []string{base.Name}}
	if base.PGSQL != "" {
		v.PGSQL = sql
	}
	return v
}

func tmplMVOnMVAgg(g *Gen, vs []*View) *View {
	base := lastOf(vs, "agg_group")
	if base == nil {
		return nil
	}
	return derive(fmt.Sprintf("SELECT count(*) AS groups, sum(cnt) AS total, max(cnt) AS biggest, sum(CASE WHEN k IS NULL THEN cnt END) AS nullk FROM %s", base.Name), base)
}

func tmplMVOnMVJoin(g *Gen, vs []*View) *View {
	base := lastOf(vs, "agg_group")
	if base == nil {
		return nil
	}
	t := g.table()
	return derive(fmt.Sprintf("SELECT t.id, t.k, v.cnt FROM %s t JOIN %s v ON v.k = t.k WHERE v.cnt > %d", t.Name, base.Name, 1+g.intn(4)), base)
}

func tmplMVOnMVTopN(g *Gen, vs []*View) *View {
	base := lastOf(vs, "agg_group")
	if base == nil {
		return nil
	}
	return derive(fmt.Sprintf("SELECT k, cnt, s FROM %s ORDER BY cnt DESC, k NULLS FIRST LIMIT %d", base.Name, 1+g.intn(5)), base)
}

// instantiate generates one view of template tp, or nil when the schema
// or earlier views lack what it needs.
func instantiate(g *Gen, tp template, vs []*View, name string) *View {
	v := tp.gen(g, vs)
	if v == nil {
		return nil
	}
	v.Name, v.Template = name, tp.name
	return v
}
