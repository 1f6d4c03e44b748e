package parser

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// ASOF joins. PostgreSQL's grammar has no ASOF, so the token pass blanks
// the word (ASOF JOIN → JOIN, ASOF LEFT JOIN → LEFT JOIN) and remembers the
// offset of each ASOF join's JOIN keyword. After pg_query has parsed the
// rest, markAsOfJoins finds the JoinExpr each keyword belongs to and wraps
// its ON condition in the marker call
//
//	sabotsql_internal.asof(<condition>)
//
// The marker is an ordinary FuncCall node, so it survives pg_query.Deparse
// (stored view text) and parses back to the same tree; the planner
// recognises it with AsOfCondition. A JoinExpr carries no location of its
// own; the JOIN keyword of a join is the last JOIN keyword before the first
// located token of its right operand (the right operand's own joins start
// with an operand, never with a JOIN keyword).

// Names of the marker function that flags an ASOF join's ON condition.
const (
	AsOfMarkerSchema = "sabotsql_internal"
	AsOfMarkerName   = "asof"
)

// AsOfCondition reports whether quals (a JoinExpr's ON condition) is the
// ASOF marker and returns the real condition inside it.
func AsOfCondition(quals *pg_query.Node) (*pg_query.Node, bool) {
	fc := quals.GetFuncCall()
	if fc == nil || len(fc.Funcname) != 2 || len(fc.Args) != 1 {
		return nil, false
	}
	if fc.Funcname[0].GetString_().GetSval() != AsOfMarkerSchema || fc.Funcname[1].GetString_().GetSval() != AsOfMarkerName {
		return nil, false
	}
	return fc.Args[0], true
}

func isJoinStart(w string) bool {
	switch w {
	case "join", "left", "inner", "right", "full", "cross", "natural":
		return true
	}
	return false
}

// asOfClause reads "ASOF [LEFT [OUTER] | INNER] JOIN" starting at toks[i]
// (the ASOF word) and returns the clause and the number of tokens after
// ASOF up to and including JOIN.
func asOfClause(sql string, start int, toks []*pg_query.ScanToken, i int, low func(int) string) (AsOfJoin, int, error) {
	aj := AsOfJoin{}
	j := i + 1
	switch low(j) {
	case "left":
		aj.Left = true
		j++
		if low(j) == "outer" {
			j++
		}
	case "inner":
		j++
	case "join":
	default:
		e := pgerror.Unsupported("ASOF %s JOIN is not supported (use ASOF JOIN or ASOF LEFT JOIN)", sql[toks[j].Start:toks[j].End])
		e.Position = runePos(sql, int(toks[i].Start))
		return aj, 0, e
	}
	if low(j) != "join" {
		return aj, 0, syntaxAt(sql, int(toks[i].Start), "syntax error at or near \"ASOF\"")
	}
	aj.JoinOffset = int(toks[j].Start) - start
	return aj, j - i, nil
}

func runePos(sql string, off int) int {
	n := 0
	for range sql[:off] {
		n++
	}
	return n + 1
}

// markAsOfJoins wraps the ON condition of every ASOF join of tree in the
// marker call. joins holds the statement-relative offsets of all JOIN
// keywords; base is the statement's offset in sql (for error positions).
func markAsOfJoins(sql string, base int, tree *pg_query.Node, asof []AsOfJoin, joins []int) error {
	byOffset := map[int]AsOfJoin{}
	for _, a := range asof {
		byOffset[a.JoinOffset] = a
	}
	var exprs []*pg_query.JoinExpr
	walkProto(tree.ProtoReflect(), func(m protoreflect.Message) {
		if je, ok := m.Interface().(*pg_query.JoinExpr); ok {
			exprs = append(exprs, je)
		}
	})
	marked := 0
	for _, je := range exprs {
		if je.Rarg == nil {
			continue
		}
		loc := minLocation(je.Rarg.ProtoReflect())
		kw := -1
		for _, j := range joins {
			if j < loc && j > kw {
				kw = j
			}
		}
		a, ok := byOffset[kw]
		if !ok {
			continue
		}
		pos := runePos(sql, base+kw)
		if je.Quals == nil || je.IsNatural || len(je.UsingClause) > 0 {
			e := pgerror.Unsupported("ASOF JOIN requires an ON condition (equalities and one inequality)")
			e.Position = pos
			return e
		}
		if a.Left != (je.Jointype == pg_query.JoinType_JOIN_LEFT) {
			return pgerror.Internal("ASOF join at offset %d parsed as join type %s", kw, je.Jointype)
		}
		je.Quals = &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: &pg_query.FuncCall{
			Funcname: []*pg_query.Node{
				{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: AsOfMarkerSchema}}},
				{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: AsOfMarkerName}}},
			},
			Args:       []*pg_query.Node{je.Quals},
			Funcformat: pg_query.CoercionForm_COERCE_EXPLICIT_CALL,
			Location:   -1,
		}}}
		delete(byOffset, kw)
		marked++
	}
	if marked != len(asof) {
		return pgerror.Internal("found %d of %d ASOF joins in the parse tree", marked, len(asof))
	}
	return nil
}

// walkProto calls f on m and every message below it.
func walkProto(m protoreflect.Message, f func(protoreflect.Message)) {
	f(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkProto(l.Get(i).Message(), f)
			}
		case fd.Message() != nil:
			walkProto(v.Message(), f)
		}
		return true
	})
}

// minLocation returns the smallest non-negative "location" field below m
// (a large value when there is none).
func minLocation(m protoreflect.Message) int {
	best := 1 << 30
	walkProto(m, func(x protoreflect.Message) {
		fd := x.Descriptor().Fields().ByName("location")
		if fd == nil || fd.Kind() != protoreflect.Int32Kind {
			return
		}
		if l := int(x.Get(fd).Int()); l >= 0 && l < best {
			best = l
		}
	})
	return best
}
