package parser

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// cutStreamClauses removes SabotSQL's streaming clauses from the statement
// text sql[start:end] (tokens toks), records them in sc, and returns the
// PostgreSQL text that remains. Removed text is replaced by spaces so that
// positions in pg_query errors still point into the original input.
//
// Recognised clauses:
//
//	CREATE TABLE … ( …, WATERMARK FOR col AS expr ) [APPEND ONLY]
//	CREATE MATERIALIZED VIEW … AS … EMIT ON WINDOW CLOSE
//	… FROM a ASOF [LEFT [OUTER]] JOIN b ON …   (ASOF blanked, see asof.go)
//
// joins receives the statement-relative offset of every JOIN keyword (used
// to find the JoinExpr of each ASOF join after parsing).
func cutStreamClauses(sql string, start, end int, toks []*pg_query.ScanToken, sc *StreamClauses, joins *[]int) (string, error) {
	buf := []byte(sql[start:end])
	blank := func(from, to int) {
		for i := from - start; i < to-start; i++ {
			if buf[i] != '\n' {
				buf[i] = ' '
			}
		}
	}
	low := func(i int) string {
		if i < 0 || i >= len(toks) {
			return ""
		}
		return strings.ToLower(sql[toks[i].Start:toks[i].End])
	}
	depth := 0
	for i := 0; i < len(toks); i++ {
		switch toks[i].Token {
		case pg_query.Token_ASCII_40:
			depth++
			continue
		case pg_query.Token_ASCII_41:
			depth--
			continue
		}
		if toks[i].Token == pg_query.Token_JOIN {
			*joins = append(*joins, int(toks[i].Start)-start)
		}
		switch {
		case low(i) == "asof" && low(i-1) != "as" && isJoinStart(low(i+1)):
			aj, skip, err := asOfClause(sql, start, toks, i, low)
			if err != nil {
				return "", err
			}
			sc.AsOfJoins = append(sc.AsOfJoins, aj)
			*joins = append(*joins, aj.JoinOffset)
			blank(int(toks[i].Start), int(toks[i].End))
			i += skip
		case toks[i].Token == pg_query.Token_ASCII_42 && low(i+1) == "except" && i+2 < len(toks) && toks[i+2].Token == pg_query.Token_ASCII_40:
			// * EXCEPT (col, …): only identifiers and commas inside.
			var cols []string
			j := i + 3
			okList := true
			for ; j < len(toks) && toks[j].Token != pg_query.Token_ASCII_41; j++ {
				if toks[j].Token == pg_query.Token_ASCII_44 {
					continue
				}
				if toks[j].Token != pg_query.Token_IDENT && toks[j].KeywordKind == pg_query.KeywordKind_NO_KEYWORD {
					okList = false
					break
				}
				cols = append(cols, unquoteIdent(sql[toks[j].Start:toks[j].End]))
			}
			if !okList || j >= len(toks) || len(cols) == 0 {
				continue
			}
			if sc.StarExcept == nil {
				sc.StarExcept = map[int][]string{}
			}
			sc.StarExcept[int(toks[i].Start)-start] = cols
			blank(int(toks[i+1].Start), int(toks[j].End))
			i = j
		case depth == 0 && low(i) == "append" && low(i+1) == "only":
			sc.AppendOnly = true
			blank(int(toks[i].Start), int(toks[i+1].End))
			i++
		case depth == 0 && low(i) == "emit" && low(i+1) == "on" && low(i+2) == "window" && low(i+3) == "close":
			sc.EmitOnWindowClose = true
			blank(int(toks[i].Start), int(toks[i+3].End))
			i += 3
		case depth == 1 && low(i) == "watermark" && low(i+1) == "for" && low(i+3) == "as":
			// The clause runs to the next top-level comma or the closing
			// parenthesis of the column list.
			j, d := i+4, 0
			for ; j < len(toks); j++ {
				t := toks[j].Token
				if t == pg_query.Token_ASCII_40 {
					d++
				} else if t == pg_query.Token_ASCII_41 {
					if d == 0 {
						break
					}
					d--
				} else if t == pg_query.Token_ASCII_44 && d == 0 {
					break
				}
			}
			exprEnd := int(toks[j-1].End)
			sc.Watermarks = append(sc.Watermarks, Watermark{
				Column: unquoteIdent(sql[toks[i+2].Start:toks[i+2].End]),
				Expr:   sql[toks[i+4].Start:exprEnd],
			})
			from := int(toks[i].Start)
			// Remove the separating comma too: the one before the clause, or
			// the one after it when the clause comes first.
			if i > 0 && toks[i-1].Token == pg_query.Token_ASCII_44 {
				from = int(toks[i-1].Start)
			} else if j < len(toks) && toks[j].Token == pg_query.Token_ASCII_44 {
				exprEnd = int(toks[j].End)
				j++
			}
			blank(from, exprEnd)
			i = j - 1
		}
	}
	return string(buf), nil
}

func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}
