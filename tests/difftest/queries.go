package difftest

import (
	"fmt"
	"strconv"
	"strings"
)

// item is one output column of a generated SELECT.
type item struct {
	sql  string
	kind Kind
	// plain marks a bare column reference.
	plain bool
}

// Query generates one query.
func (g *Gen) Query() Query {
	switch g.pick(20) {
	case 0, 1, 2, 3:
		return g.plainQuery(false)
	case 4, 5:
		return g.plainQuery(true)
	case 6, 7, 8, 9:
		return g.aggQuery()
	case 10, 11:
		return g.setOpQuery()
	case 12, 13, 14:
		return g.windowQuery()
	case 15, 16:
		return g.cteQuery()
	case 17:
		return g.seriesQuery()
	case 18:
		if !g.opts.NoRisky {
			return g.riskyQuery()
		}
		return g.plainQuery(false)
	default:
		return g.joinQuery()
	}
}

func (g *Gen) randTable() *Table { return &g.s.Tables[g.pick(len(g.s.Tables))] }

// tableSource is "tN AS xM" with its columns in scope.
func (g *Gen) tableSource(t *Table, sc *scope) string {
	a := g.newAlias("x")
	for _, c := range t.Cols {
		sc.cols = append(sc.cols, col{ref: a + "." + c.Name, kind: c.Kind, big: c.Big})
	}
	sc.tables = append(sc.tables, aliased{alias: a, t: t})
	return t.Name + " AS " + a
}

// joinSource joins two or three tables.
func (g *Gen) joinSource(sc *scope) string {
	from := g.tableSource(g.randTable(), sc)
	n := 1 + g.pick(2)
	for i := 0; i < n; i++ {
		left := sc.tables[len(sc.tables)-1]
		t := g.randTable()
		var right scope
		rs := g.tableSource(t, &right)
		ra := right.tables[0].alias
		kinds := []string{"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"}
		kw := kinds[g.pick(len(kinds))]
		if kw == "CROSS JOIN" && (i > 0 || len(left.t.Rows)*len(t.Rows) > 2000) {
			kw = "JOIN"
		}
		var cond string
		switch {
		case kw == "CROSS JOIN":
		case i == 0 && g.chance(0.3):
			cond = " USING (k)"
		default:
			cond = fmt.Sprintf(" ON %s.k = %s.k", left.alias, ra)
			if g.chance(0.4) {
				both := &scope{cols: append(append([]col{}, sc.cols...), right.cols...)}
				cond += " AND " + g.pred(both, 1, false)
			}
		}
		from = fmt.Sprintf("%s %s %s%s", from, kw, rs, cond)
		sc.cols = append(sc.cols, right.cols...)
		sc.tables = append(sc.tables, right.tables...)
	}
	return from
}

// source is a FROM clause: a table, a join, a derived table or a series.
func (g *Gen) source(sc *scope) string {
	switch g.pick(10) {
	case 0, 1, 2, 3:
		return g.tableSource(g.randTable(), sc)
	case 4, 5, 6:
		return g.joinSource(sc)
	case 7:
		inner := g.plainSelect(g.randTable(), 1+g.pick(3), false)
		a := g.newAlias("d")
		for i, it := range inner.items {
			if it.kind != kArray {
				sc.cols = append(sc.cols, col{ref: fmt.Sprintf("%s.c%d", a, i+1), kind: it.kind})
			}
		}
		return "(" + inner.sql + ") AS " + a
	case 9:
		inner := g.aggQuery()
		a := g.newAlias("d")
		for i, k := range g.lastItems {
			if k != kArray {
				sc.cols = append(sc.cols, col{ref: fmt.Sprintf("%s.c%d", a, i+1), kind: k})
			}
		}
		return "(" + inner.SQL + ") AS " + a
	case 8:
		if g.chance(0.3) {
			a := g.newAlias("v")
			n := 1 + g.pick(5)
			rows := make([]string, n)
			for i := range rows {
				if i == 0 {
					rows[i] = fmt.Sprintf("(%d, %s::text)", g.pick(7), g.value(KText))
				} else if g.chance(0.2) {
					rows[i] = "(NULL, NULL)"
				} else {
					rows[i] = fmt.Sprintf("(%d, %s)", g.pick(7), g.value(KText))
				}
			}
			sc.cols = append(sc.cols, col{ref: a + ".k", kind: KInt}, col{ref: a + ".s", kind: KText})
			return fmt.Sprintf("(VALUES %s) AS %s(k, s)", strings.Join(rows, ", "), a)
		}
		a := g.newAlias("g")
		sc.cols = append(sc.cols, col{ref: a + ".v", kind: KInt})
		return fmt.Sprintf("generate_series(%d, %d) AS %s(v)", g.pick(3)-1, g.pick(8), a)
	default:
		return g.tableSource(g.randTable(), sc)
	}
}

type selectSQL struct {
	sql   string
	items []item
}

// plainSelect is SELECT items FROM t [WHERE] with items aliased c1..cn.
func (g *Gen) plainSelect(t *Table, n int, risky bool) selectSQL {
	sc := &scope{}
	from := g.tableSource(t, sc)
	items := g.items(sc, n, risky)
	sql := "SELECT " + itemList(items) + " FROM " + from
	if g.chance(0.5) {
		sql += " WHERE " + g.pred(sc, 2, false)
	}
	return selectSQL{sql: sql, items: items}
}

func (g *Gen) items(sc *scope, n int, risky bool) []item {
	items := make([]item, n)
	for i := range items {
		k := g.cmpKind(sc)
		items[i] = item{sql: g.expr(sc, k, 2+g.pick(2), risky), kind: k}
		if i > 0 && g.chance(0.07) {
			// Interval results: projected only, never first (scopes
			// built from items keep at least one column).
			ts := g.expr(sc, KTs, 1, risky)
			items[i] = item{sql: fmt.Sprintf("(%s - %s)", ts, g.expr(sc, KTs, 1, risky)), kind: kArray}
			if g.chance(0.5) {
				items[i].sql = fmt.Sprintf("(%s - %s) * %d", ts, g.expr(sc, KTs, 1, risky), g.pick(4))
			}
		}
	}
	return items
}

func itemList(items []item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s AS c%d", it.sql, i+1)
	}
	return strings.Join(parts, ", ")
}

// orderBy appends a total ORDER BY (every output column) and maybe
// LIMIT/OFFSET; it reports whether it did.
func (g *Gen) orderBy(sql string, n int) (string, bool) {
	if !g.chance(0.4) {
		return sql, false
	}
	parts := make([]string, n)
	for i := range parts {
		p := strconv.Itoa(i + 1)
		if g.chance(0.4) {
			p += " DESC"
		}
		switch g.pick(3) {
		case 0:
			p += " NULLS FIRST"
		case 1:
			p += " NULLS LAST"
		}
		parts[i] = p
	}
	sql += " ORDER BY " + strings.Join(parts, ", ")
	if g.chance(0.5) {
		if g.chance(0.15) {
			sql += " OFFSET " + strconv.Itoa(g.pick(5))
			return sql, true
		}
		sql += " LIMIT " + strconv.Itoa(g.pick(10))
		if g.chance(0.5) {
			sql += " OFFSET " + strconv.Itoa(g.pick(5))
		}
	}
	return sql, true
}

// subPred is a predicate with a subquery, correlated to the outer scope
// when it has an integer column.
func (g *Gen) subPred(outer *scope) string {
	t := g.randTable()
	var in scope
	from := g.tableSource(t, &in)
	ia := in.tables[0].alias
	corr := ""
	if oc := outer.ofKind(KInt, true); len(oc) > 0 && g.chance(0.6) {
		corr = fmt.Sprintf("%s.k = %s", ia, oc[g.pick(len(oc))].ref)
	}
	where := func(extra string) string {
		conds := []string{}
		if corr != "" {
			conds = append(conds, corr)
		}
		if extra != "" {
			conds = append(conds, extra)
		}
		if len(conds) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(conds, " AND ")
	}
	var filter string
	if g.chance(0.5) {
		filter = g.pred(&in, 1, false)
	}
	if g.depth < 2 && g.chance(0.15) {
		// A nested subquery that may reference both enclosing scopes.
		g.depth++
		both := &scope{cols: append(append([]col{}, in.cols...), outer.cols...)}
		filter = g.subPred(both)
		g.depth--
	}
	switch g.pick(4) {
	case 3:
		c := in.cols[g.pick(len(in.cols))]
		if c.kind == KBool || g.opts.NoAnyAll {
			return fmt.Sprintf("(EXISTS (SELECT 1 FROM %s%s))", from, where(filter))
		}
		ops := []string{"=", "<", ">=", "<>"}
		return fmt.Sprintf("(%s %s %s (SELECT %s FROM %s%s))", g.expr(outer, c.kind, 1, false), ops[g.pick(len(ops))],
			[]string{"ANY", "ALL"}[g.pick(2)], c.ref, from, where(filter))
	case 0:
		c := in.cols[g.pick(len(in.cols))]
		not := ""
		if g.chance(0.3) {
			not = "NOT "
		}
		lim := ""
		if g.chance(0.25) {
			// Ordering by the only output column is total.
			lim = fmt.Sprintf(" ORDER BY %s%s LIMIT %d", c.ref, []string{"", " DESC", " NULLS FIRST"}[g.pick(3)], 1+g.pick(4))
		}
		return fmt.Sprintf("(%s %sIN (SELECT %s FROM %s%s%s))", g.expr(outer, c.kind, 1, false), not, c.ref, from, where(filter), lim)
	case 1:
		not := ""
		if g.chance(0.3) {
			not = "NOT "
		}
		return fmt.Sprintf("(%sEXISTS (SELECT 1 FROM %s%s))", not, from, where(filter))
	default:
		c := in.cols[g.pick(len(in.cols))]
		agg := "max"
		if c.kind == KBool {
			agg = "bool_or"
		}
		ops := []string{"=", "<", ">=", "<>"}
		return fmt.Sprintf("(%s %s (SELECT %s(%s) FROM %s%s))", g.expr(outer, c.kind, 1, false), ops[g.pick(len(ops))], agg, c.ref, from, where(filter))
	}
}

// scalarSub is a scalar subquery item for a select list.
func (g *Gen) scalarSub(outer *scope) item {
	t := g.randTable()
	var in scope
	from := g.tableSource(t, &in)
	ia := in.tables[0].alias
	where := ""
	if oc := outer.ofKind(KInt, true); len(oc) > 0 {
		where = fmt.Sprintf(" WHERE %s.k = %s", ia, oc[g.pick(len(oc))].ref)
	}
	c := in.cols[g.pick(len(in.cols))]
	switch g.pick(3) {
	case 0:
		return item{sql: fmt.Sprintf("(SELECT count(*) FROM %s%s)", from, where), kind: KInt}
	case 1:
		if !g.opts.NoRisky && g.chance(0.3) {
			return item{sql: fmt.Sprintf("(SELECT %s FROM %s%s)", c.ref, from, where), kind: c.kind}
		}
	}
	if c.kind == KBool {
		return item{sql: fmt.Sprintf("(SELECT bool_and(%s) FROM %s%s)", c.ref, from, where), kind: KBool}
	}
	if g.chance(0.3) {
		// First value under a total order of the only output column.
		return item{sql: fmt.Sprintf("(SELECT %s FROM %s%s ORDER BY 1%s LIMIT 1)", c.ref, from, where,
			[]string{"", " DESC", " NULLS FIRST", " DESC NULLS LAST"}[g.pick(4)]), kind: c.kind}
	}
	return item{sql: fmt.Sprintf("(SELECT min(%s) FROM %s%s)", c.ref, from, where), kind: c.kind}
}

func (g *Gen) where(sc *scope) string {
	if !g.chance(0.6) {
		return ""
	}
	p := g.pred(sc, 2, false)
	if g.chance(0.25) {
		p = fmt.Sprintf("(%s OR %s)", g.subPred(sc), p)
		if g.chance(0.5) {
			p = g.subPred(sc)
		}
	}
	return " WHERE " + p
}

func (g *Gen) plainQuery(distinct bool) Query {
	sc := &scope{}
	from := g.source(sc)
	items := g.items(sc, 1+g.pick(4), false)
	if g.chance(0.2) {
		items = append(items, g.scalarSub(sc))
	}
	kw := "SELECT "
	if distinct {
		kw = "SELECT DISTINCT "
	}
	sql := kw + itemList(items) + " FROM " + from + g.where(sc)
	sql, ordered := g.orderBy(sql, len(items))
	return Query{SQL: sql, Ordered: ordered}
}

func (g *Gen) joinQuery() Query {
	sc := &scope{}
	from := g.joinSource(sc)
	items := g.items(sc, 1+g.pick(4), false)
	sql := "SELECT " + itemList(items) + " FROM " + from + g.where(sc)
	sql, ordered := g.orderBy(sql, len(items))
	return Query{SQL: sql, Ordered: ordered}
}

// agg generates an aggregate call over sc.
func (g *Gen) agg(sc *scope) item {
	k := g.cmpKind(sc)
	e := g.expr(sc, k, 1, false)
	switch g.pick(8) {
	case 0:
		if !g.opts.NoFilter && g.chance(0.4) {
			return item{sql: fmt.Sprintf("count(*) FILTER (WHERE %s)", g.pred(sc, 1, false)), kind: KInt}
		}
		return item{sql: "count(*)", kind: KInt}
	case 1:
		if g.chance(0.5) {
			return item{sql: fmt.Sprintf("count(DISTINCT %s)", e), kind: KInt}
		}
		return item{sql: fmt.Sprintf("count(%s)", e), kind: KInt}
	case 2:
		if k == KBool {
			return item{sql: fmt.Sprintf("bool_and(%s)", e), kind: KBool}
		}
		return item{sql: fmt.Sprintf("min(%s)", e), kind: k}
	case 3:
		if k == KBool {
			return item{sql: fmt.Sprintf("bool_or(%s)", e), kind: KBool}
		}
		return item{sql: fmt.Sprintf("max(%s)", e), kind: k}
	case 5:
		if g.opts.NoArrayAgg || k == KBool || k == KFloat {
			break
		}
		return item{sql: fmt.Sprintf("array_agg(%s ORDER BY %s)", e, e), kind: kArray}
	case 4:
		t := g.expr(sc, KText, 1, false)
		dir := []string{"", " DESC", " NULLS FIRST", " DESC NULLS LAST"}[g.pick(4)]
		if g.chance(0.3) {
			return item{sql: fmt.Sprintf("string_agg(DISTINCT %s, ',' ORDER BY %s%s)", t, t, dir), kind: KText}
		}
		return item{sql: fmt.Sprintf("string_agg(%s, ',' ORDER BY %s%s)", t, t, dir), kind: KText}
	}
	var n string
	var nk Kind
	switch g.pick(3) {
	case 0:
		n, nk = g.expr(sc, KInt, 1, false), KInt
	case 1:
		n, nk = g.expr(sc, KFloat, 1, false), KFloat
	default:
		n, nk = g.expr(sc, KNum, 1, false), KNum
	}
	fns := []string{"sum", "avg", "sum", "stddev", "variance", "stddev_pop", "var_pop", "avg"}
	f := fns[g.pick(len(fns))]
	if (f == "sum" || f == "avg") && g.chance(0.2) {
		n = "DISTINCT " + n
	}
	rk := KNum
	if nk == KFloat {
		rk = KFloat
	} else if f == "sum" && nk == KInt {
		rk = KInt
	}
	return item{sql: fmt.Sprintf("%s(%s)", f, n), kind: rk}
}

func (g *Gen) aggQuery() Query {
	sc := &scope{}
	from := g.source(sc)
	var groups []item
	if g.chance(0.8) && len(sc.cols) > 0 {
		for i := 0; i < 1+g.pick(2); i++ {
			c := sc.cols[g.pick(len(sc.cols))]
			if e := g.expr(sc, c.kind, 1, false); g.chance(0.25) && sc.mentions(e) {
				// A grouping expression (never a bare constant: PostgreSQL
				// reads those as errors or ordinals).
				groups = append(groups, item{sql: e, kind: c.kind})
				continue
			}
			groups = append(groups, item{sql: c.ref, kind: c.kind, plain: true})
		}
	}
	items := append([]item{}, groups...)
	for i := 0; i < 1+g.pick(3); i++ {
		items = append(items, g.agg(sc))
	}
	if len(groups) > 0 && g.chance(0.2) {
		// A window over the grouped rows: rank (ties are peers), a
		// whole-partition sum, or row_number ordered by every output
		// column, so the result is deterministic.
		all := make([]string, len(items))
		for i, it := range items {
			all[i] = it.sql
		}
		switch g.pick(3) {
		case 0:
			items = append(items, item{sql: fmt.Sprintf("rank() OVER (ORDER BY %s)", items[len(items)-1].sql), kind: KInt})
		case 1:
			items = append(items, item{sql: "sum(count(*)) OVER ()", kind: KNum})
		default:
			items = append(items, item{sql: fmt.Sprintf("row_number() OVER (ORDER BY %s)", strings.Join(all, ", ")), kind: KInt})
		}
	}
	sql := "SELECT " + itemList(items) + " FROM " + from + g.where(sc)
	if len(groups) > 0 {
		gs := make([]string, len(groups))
		for i, it := range groups {
			gs[i] = it.sql
		}
		sql += " GROUP BY " + strings.Join(gs, ", ")
	}
	if g.chance(0.3) {
		var conds []string
		if len(groups) > 0 && g.chance(0.3) {
			// Subqueries in HAVING see only the grouped expressions.
			gsc := &scope{}
			for _, it := range groups {
				if it.plain {
					gsc.cols = append(gsc.cols, col{ref: it.sql, kind: it.kind})
				}
			}
			conds = append(conds, g.subPred(gsc))
		}
		a := g.agg(sc)
		if a.kind == KInt {
			conds = append(conds, fmt.Sprintf("%s > %d", a.sql, g.pick(3)))
		} else {
			conds = append(conds, a.sql+" IS NOT NULL")
		}
		sql += " HAVING " + strings.Join(conds, " AND ")
	}
	sql, ordered := g.orderBy(sql, len(items))
	g.lastItems = g.lastItems[:0]
	for _, it := range items {
		g.lastItems = append(g.lastItems, it.kind)
	}
	return Query{SQL: sql, Ordered: ordered}
}

func (g *Gen) setOpQuery() Query {
	n := 1 + g.pick(3)
	kinds := make([]Kind, n)
	for i := range kinds {
		kinds[i] = Kind(g.pick(int(numKinds)))
	}
	branch := func() string {
		sc := &scope{}
		from := g.tableSource(g.randTable(), sc)
		items := make([]item, n)
		for i, k := range kinds {
			items[i] = item{sql: g.expr(sc, k, 1, false), kind: k}
		}
		s := "SELECT " + itemList(items) + " FROM " + from
		if g.chance(0.5) {
			s += " WHERE " + g.pred(sc, 1, false)
		}
		return s
	}
	ops := []string{"UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"}
	sql := "(" + branch() + ") " + ops[g.pick(len(ops))] + " (" + branch() + ")"
	if g.chance(0.3) {
		sql = "(" + sql + ") " + ops[g.pick(len(ops))] + " (" + branch() + ")"
	}
	sql, ordered := g.orderBy(sql, n)
	return Query{SQL: sql, Ordered: ordered}
}

// windowQuery uses windows over one table whose ORDER BY is total within
// partitions (every column) wherever the function depends on row order.
func (g *Gen) windowQuery() Query {
	sc := &scope{}
	var from string
	if g.chance(0.25) {
		from = g.joinSource(sc)
	} else {
		from = g.tableSource(g.randTable(), sc)
	}
	part := ""
	if g.chance(0.7) {
		part = "PARTITION BY " + sc.cols[g.pick(len(sc.cols))].ref + " "
	}
	total := make([]string, len(sc.cols))
	for i, p := range g.r.Perm(len(sc.cols)) {
		o := sc.cols[p].ref
		if g.chance(0.4) {
			o += " DESC"
		}
		if g.chance(0.3) {
			o += " NULLS FIRST"
		}
		total[i] = o
	}
	w := "(" + part + "ORDER BY " + strings.Join(total, ", ")
	var items []item
	for i := 0; i < 1+g.pick(2); i++ {
		c := sc.cols[g.pick(len(sc.cols))]
		items = append(items, item{sql: c.ref, kind: c.kind})
	}
	for i := 0; i < 1+g.pick(3); i++ {
		c := sc.cols[g.pick(len(sc.cols))]
		var it item
		switch g.pick(9) {
		case 0:
			it = item{sql: "row_number() OVER " + w + ")", kind: KInt}
		case 1:
			fn := []string{"rank", "dense_rank"}[g.pick(2)]
			it = item{sql: fmt.Sprintf("%s() OVER (%sORDER BY %s)", fn, part, c.ref), kind: KInt}
		case 2:
			it = item{sql: fmt.Sprintf("lag(%s) OVER %s)", c.ref, w), kind: c.kind}
		case 3:
			it = item{sql: fmt.Sprintf("lead(%s, %d) OVER %s)", c.ref, 1+g.pick(2), w), kind: c.kind}
		case 4:
			it = item{sql: fmt.Sprintf("first_value(%s) OVER %s)", c.ref, w), kind: c.kind}
		case 5:
			frames := []string{
				" ROWS BETWEEN 1 PRECEDING AND CURRENT ROW",
				" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
				" ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING",
				" ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING",
			}
			n := g.expr(sc, []Kind{KInt, KNum, KFloat}[g.pick(3)], 1, false)
			it = item{sql: fmt.Sprintf("sum(%s) OVER %s%s)", n, w, frames[g.pick(len(frames))]), kind: KNum}
		case 6:
			switch g.pick(6) {
			case 0:
				it = item{sql: fmt.Sprintf("count(*) OVER (%s)", strings.TrimSpace(part)), kind: KInt}
			case 1:
				it = item{sql: fmt.Sprintf("ntile(%d) OVER %s)", 1+g.pick(4), w), kind: KInt}
			case 2:
				fn := []string{"percent_rank", "cume_dist"}[g.pick(2)]
				it = item{sql: fmt.Sprintf("%s() OVER (%sORDER BY %s)", fn, part, c.ref), kind: KFloat}
			case 3:
				it = item{sql: fmt.Sprintf("last_value(%s) OVER %s ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)", c.ref, w), kind: c.kind}
			case 4:
				it = item{sql: fmt.Sprintf("nth_value(%s, %d) OVER %s)", c.ref, 1+g.pick(3), w), kind: c.kind}
			default:
				it = item{sql: fmt.Sprintf("lag(%s, %d, %s) OVER %s)", c.ref, 1+g.pick(2), c.ref, w), kind: c.kind}
			}
		case 7:
			n := g.expr(sc, []Kind{KInt, KNum}[g.pick(2)], 1, false)
			frame := ""
			if ic := sc.ofKind(KInt, false); len(ic) > 0 && g.chance(0.5) {
				// Offset RANGE and GROUPS frames treat peers alike, so
				// any ORDER BY is deterministic.
				c = ic[g.pick(len(ic))]
				frame = []string{
					" RANGE BETWEEN 2 PRECEDING AND CURRENT ROW",
					" RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING",
					" GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW",
					" RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
				}[g.pick(4)]
				if g.opts.NoGroupsFrame && strings.HasPrefix(frame, " GROUPS") {
					frame = ""
				}
			}
			it = item{sql: fmt.Sprintf("sum(%s) OVER (%sORDER BY %s%s)", n, part, c.ref, frame), kind: KNum}
		default:
			it = item{sql: fmt.Sprintf("count(%s) OVER %s)", c.ref, w), kind: KInt}
		}
		items = append(items, it)
	}
	sql := "SELECT " + itemList(items) + " FROM " + from
	if g.chance(0.4) {
		sql += " WHERE " + g.pred(sc, 1, false)
	}
	sql, ordered := g.orderBy(sql, len(items))
	return Query{SQL: sql, Ordered: ordered}
}

func (g *Gen) cteQuery() Query {
	inner := g.plainSelect(g.randTable(), 1+g.pick(3), false)
	name := g.newAlias("w")
	sc := &scope{}
	a := g.newAlias("x")
	for i, it := range inner.items {
		if it.kind != kArray {
			sc.cols = append(sc.cols, col{ref: fmt.Sprintf("%s.c%d", a, i+1), kind: it.kind})
		}
	}
	from := name + " AS " + a
	if g.chance(0.4) {
		var right scope
		rs := g.tableSource(g.randTable(), &right)
		if ic := sc.ofKind(KInt, true); len(ic) > 0 {
			from += fmt.Sprintf(" LEFT JOIN %s ON %s = %s.k", rs, ic[0].ref, right.tables[0].alias)
		} else {
			from += " JOIN " + rs + " ON true"
		}
		sc.cols = append(sc.cols, right.cols...)
		sc.tables = append(sc.tables, right.tables...)
	}
	with := "WITH " + name + " AS (" + inner.sql + ") "
	if g.chance(0.5) {
		items := g.items(sc, 1+g.pick(3), false)
		sql := with + "SELECT " + itemList(items) + " FROM " + from + g.where(sc)
		sql, ordered := g.orderBy(sql, len(items))
		return Query{SQL: sql, Ordered: ordered}
	}
	c := sc.cols[g.pick(len(sc.cols))]
	items := []item{{sql: c.ref, kind: c.kind}, g.agg(sc)}
	sql := with + "SELECT " + itemList(items) + " FROM " + from + g.where(sc) + " GROUP BY " + c.ref
	sql, ordered := g.orderBy(sql, len(items))
	return Query{SQL: sql, Ordered: ordered}
}

func (g *Gen) seriesQuery() Query {
	sc := &scope{}
	a := g.newAlias("g")
	sc.cols = append(sc.cols, col{ref: a + ".v", kind: KInt})
	from := fmt.Sprintf("generate_series(%d, %d) AS %s(v)", g.pick(3)-1, g.pick(10), a)
	if g.chance(0.6) {
		var right scope
		rs := g.tableSource(g.randTable(), &right)
		kw := []string{"JOIN", "LEFT JOIN", "FULL JOIN"}[g.pick(3)]
		from += fmt.Sprintf(" %s %s ON %s.v = %s.k", kw, rs, a, right.tables[0].alias)
		sc.cols = append(sc.cols, right.cols...)
	}
	items := g.items(sc, 1+g.pick(3), false)
	sql := "SELECT " + itemList(items) + " FROM " + from + g.where(sc)
	sql, ordered := g.orderBy(sql, len(items))
	return Query{SQL: sql, Ordered: ordered}
}

// riskyQuery may fail at run time (overflow, division by zero, a scalar
// subquery with several rows): both engines must then agree on SQLSTATE.
func (g *Gen) riskyQuery() Query {
	sc := &scope{}
	from := g.tableSource(g.randTable(), sc)
	var items []item
	switch g.pick(3) {
	case 0:
		items = g.items(sc, 1+g.pick(2), true)
	case 1:
		items = []item{{sql: fmt.Sprintf("sum(%s)", g.expr(sc, KInt, 2, true)), kind: KNum}}
	default:
		items = []item{g.scalarSub(sc)}
	}
	sql := "SELECT " + itemList(items) + " FROM " + from
	if g.chance(0.4) {
		sql += " WHERE " + g.pred(sc, 1, false)
	}
	return Query{SQL: sql}
}
