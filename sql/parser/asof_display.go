package parser

import (
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// DisplayAsOf turns stored view text, in which every ASOF join's condition
// is wrapped in the marker call (see markAsOfJoins), back into the ASOF
// syntax the user wrote, for display (pg_get_viewdef, pg_views,
// information_schema.views):
//
//	a JOIN b ON sabotsql_internal.asof(c)       →  a ASOF JOIN b ON c
//	a LEFT JOIN b ON sabotsql_internal.asof(c)  →  a ASOF LEFT JOIN b ON c
//
// The JOIN keyword of a marker is the nearest JOIN before its ON at the same
// parenthesis depth (deparsed text parenthesises a join nested in a right
// operand). Text without markers, or that does not scan, is returned as is.
func DisplayAsOf(sql string) string {
	if !strings.Contains(sql, AsOfMarkerSchema) {
		return sql
	}
	res, err := pg_query.Scan(sql)
	if err != nil {
		return sql
	}
	toks := res.Tokens
	low := func(i int) string {
		if i < 0 || i >= len(toks) {
			return ""
		}
		return strings.ToLower(sql[toks[i].Start:toks[i].End])
	}
	type edit struct {
		at, end int // replace sql[at:end]
		with    string
	}
	var edits []edit
	for i := range toks {
		if low(i) != AsOfMarkerSchema || low(i+1) != "." || low(i+2) != AsOfMarkerName || low(i+3) != "(" || low(i-1) != "on" {
			continue
		}
		closing := matchParen(low, i+3)
		kw := joinKeyword(low, i-1)
		if closing < 0 || kw < 0 {
			return sql
		}
		for kw > 0 {
			if w := low(kw - 1); w == "left" || w == "inner" || w == "outer" {
				kw--
				continue
			}
			break
		}
		edits = append(edits,
			edit{at: int(toks[kw].Start), end: int(toks[kw].Start), with: "ASOF "},
			edit{at: int(toks[i].Start), end: int(toks[i+3].End)},
			edit{at: int(toks[closing].Start), end: int(toks[closing].End)})
	}
	sort.Slice(edits, func(a, b int) bool { return edits[a].at > edits[b].at })
	for _, e := range edits {
		sql = sql[:e.at] + e.with + sql[e.end:]
	}
	return sql
}

// matchParen returns the index of the token closing the parenthesis opened
// at token open, or -1.
func matchParen(low func(int) string, open int) int {
	depth := 0
	for j := open; low(j) != ""; j++ {
		switch low(j) {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// joinKeyword returns the index of the JOIN keyword that the ON at token on
// belongs to: the nearest JOIN before it at the same parenthesis depth, or -1.
func joinKeyword(low func(int) string, on int) int {
	depth := 0
	for j := on - 1; j >= 0; j-- {
		switch low(j) {
		case ")":
			depth++
		case "(":
			if depth == 0 {
				return -1
			}
			depth--
		case "join":
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}
