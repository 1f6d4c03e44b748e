package parser

import (
	"errors"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Kind says which field of a Statement holds the parsed statement.
type Kind uint8

// Statement kinds.
const (
	KindPG    Kind = iota // a PostgreSQL statement in Statement.AST
	KindFlush             // FLUSH: force a barrier and wait for its commit
)

// Statement is one parsed statement.
type Statement struct {
	Kind Kind
	// AST is the PostgreSQL parse tree (KindPG).
	AST *pg_query.Node
	// SQL is the statement's text and Offset its byte offset in the input.
	SQL    string
	Offset int
	// Stream holds streaming clauses cut out by the token pass.
	Stream StreamClauses
}

// StreamClauses are the SabotSQL clauses the PostgreSQL grammar lacks,
// found by the token pass and removed from the text given to pg_query.
type StreamClauses struct {
	AppendOnly bool
	// Watermarks lists WATERMARK FOR col AS expr clauses (expression text).
	Watermarks []Watermark
	// EmitOnWindowClose is set by EMIT ON WINDOW CLOSE.
	EmitOnWindowClose bool
	// StarExcept maps the byte offset (within the statement) of a "*" in a
	// select list to the columns of its "* EXCEPT (a, b)" (RisingWave syntax).
	StarExcept map[int][]string
	// AsOfJoins lists the ASOF [LEFT] JOIN clauses in order of appearance.
	// The token pass blanks the ASOF word and the parser wraps each such
	// join's ON condition in the marker call AsOfMarker(cond), so the
	// information survives deparsing (stored views) and re-parsing.
	AsOfJoins []AsOfJoin
}

// AsOfJoin is one ASOF [LEFT] JOIN: Left for ASOF LEFT JOIN, JoinOffset
// the byte offset of its JOIN keyword within the statement.
type AsOfJoin struct {
	Left       bool
	JoinOffset int
}

// Watermark is one WATERMARK FOR column AS expression clause.
type Watermark struct {
	Column string
	Expr   string
}

// Parse splits sql into statements and parses each. Empty statements (only
// whitespace/comments between semicolons) are dropped.
func Parse(sql string) ([]Statement, error) {
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return nil, syntaxError(sql, 0, err)
	}
	var out []Statement
	start := 0
	var toks []*pg_query.ScanToken
	flush := func(end int) error {
		defer func() { toks = toks[:0] }()
		if len(toks) == 0 {
			return nil
		}
		st, err := parseOne(sql, start, end, toks)
		if err != nil {
			return err
		}
		out = append(out, st)
		return nil
	}
	for _, t := range scan.Tokens {
		if t.Token == pg_query.Token_SQL_COMMENT || t.Token == pg_query.Token_C_COMMENT {
			continue
		}
		if t.Token == pg_query.Token_ASCII_59 {
			if err := flush(int(t.Start)); err != nil {
				return nil, err
			}
			start = int(t.End)
			continue
		}
		if len(toks) == 0 {
			start = int(t.Start)
		}
		toks = append(toks, t)
	}
	if err := flush(len(sql)); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseOne parses sql, which must hold exactly one statement (or none: then
// it returns nil, nil).
func ParseOne(sql string) (*Statement, error) {
	stmts, err := Parse(sql)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 0:
		return nil, nil
	case 1:
		return &stmts[0], nil
	}
	return nil, pgerror.New(pgerror.SyntaxError, "cannot insert multiple commands into a prepared statement")
}

func parseOne(sql string, start, end int, toks []*pg_query.ScanToken) (Statement, error) {
	text := sql[start:end]
	st := Statement{SQL: strings.TrimRight(text, " \t\r\n"), Offset: start}
	word := func(i int) string {
		if i >= len(toks) {
			return ""
		}
		return strings.ToLower(sql[toks[i].Start:toks[i].End])
	}
	if word(0) == "flush" {
		if len(toks) != 1 {
			return st, syntaxAt(sql, int(toks[1].Start), "syntax error at or near \""+sql[toks[1].Start:toks[1].End]+"\"")
		}
		st.Kind = KindFlush
		return st, nil
	}
	var joins []int
	rewritten, err := cutStreamClauses(sql, start, end, toks, &st.Stream, &joins)
	if err != nil {
		return st, err
	}
	tree, err := pg_query.Parse(rewritten)
	if err != nil {
		return st, syntaxError(sql, start, err)
	}
	if len(tree.Stmts) != 1 {
		return st, pgerror.Internal("token pass split %q into %d statements", text, len(tree.Stmts))
	}
	st.AST = tree.Stmts[0].Stmt
	if len(st.Stream.AsOfJoins) > 0 {
		if err := markAsOfJoins(sql, start, st.AST, st.Stream.AsOfJoins, joins); err != nil {
			return st, err
		}
	}
	return st, nil
}

// syntaxError converts a pg_query error into a 42601 error positioned in the
// original input (base is the statement's byte offset).
func syntaxError(sql string, base int, err error) error {
	var pe *pgparser.Error
	if errors.As(err, &pe) {
		pos := 0
		if pe.Cursorpos > 0 {
			pos = base + pe.Cursorpos - 1
		}
		return syntaxAt(sql, pos, pe.Message)
	}
	return pgerror.Wrap(err, pgerror.SyntaxError, "")
}

// syntaxAt returns a 42601 error at byte offset off of sql.
func syntaxAt(sql string, off int, msg string) error {
	if off > len(sql) {
		off = len(sql)
	}
	e := pgerror.New(pgerror.SyntaxError, "%s", msg)
	e.Position = utf8.RuneCountInString(sql[:off]) + 1
	return e
}
