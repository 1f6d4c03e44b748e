package planner

import (
	"errors"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// SQL-language user-defined functions are inlined: a call binds the body's
// single expression with the (coerced) argument expressions substituted for
// the parameter names and $n references, and coerces the result to the
// declared return type. Plans therefore never contain a UDF call, and
// streaming plans need nothing new.

// maxUDFDepth bounds nested inlining (f calls g calls h …).
const maxUDFDepth = 32

// udfFrame is one function body being bound.
type udfFrame struct {
	fn     *catalog.Function
	args   []Expr
	parent *udfFrame
}

// FunctionBodyExpr parses a SQL function body ("SELECT expr") and returns
// its one expression. Bodies that are not a single expression without
// FROM, WHERE, GROUP BY, set operations or subqueries are 0A000.
func FunctionBodyExpr(body string) (*pg_query.Node, error) {
	st, err := parser.ParseOne(body)
	if err != nil {
		return nil, err
	}
	if st == nil || st.AST == nil {
		return nil, pgerror.Unsupported("SQL function body must be a single SELECT of one expression")
	}
	sel := st.AST.GetSelectStmt()
	if sel == nil {
		return nil, pgerror.Unsupported("only SQL function bodies of the form SELECT expr are supported")
	}
	if sel.Op != pg_query.SetOperation_SETOP_NONE || len(sel.FromClause) > 0 || sel.WhereClause != nil ||
		len(sel.GroupClause) > 0 || sel.HavingClause != nil || len(sel.SortClause) > 0 || sel.LimitCount != nil ||
		sel.LimitOffset != nil || len(sel.DistinctClause) > 0 || sel.WithClause != nil || len(sel.ValuesLists) > 0 ||
		len(sel.WindowClause) > 0 || sel.IntoClause != nil {
		return nil, pgerror.Unsupported("only SQL function bodies of the form SELECT expr (without FROM, WHERE, GROUP BY, ORDER BY, LIMIT or set operations) are supported")
	}
	if len(sel.TargetList) != 1 {
		return nil, pgerror.Unsupported("SQL function body must return exactly one column")
	}
	rt := sel.TargetList[0].GetResTarget()
	if rt == nil || rt.Val == nil {
		return nil, pgerror.Unsupported("SQL function body must return exactly one column")
	}
	if rt.Val.GetColumnRef() != nil {
		for _, f := range rt.Val.GetColumnRef().Fields {
			if f.GetAStar() != nil {
				return nil, pgerror.Unsupported("SQL function body must return exactly one column")
			}
		}
	}
	sub := containsSubLink(rt.Val.ProtoReflect())
	if sub {
		return nil, pgerror.Unsupported("subqueries in SQL function bodies are not supported")
	}
	return rt.Val, nil
}

// ValidateFunction checks that f's body binds with its declared argument
// types and that its result can be assigned to the return type (else
// 42P13), as CREATE FUNCTION does with check_function_bodies on.
func (p *Planner) ValidateFunction(f *catalog.Function) error {
	args := make([]Expr, len(f.Args))
	for i, a := range f.Args {
		args[i] = constOf(a.T, nil)
	}
	_, err := p.inlineUDF(f, args)
	var pe *pgerror.Error
	if errors.As(err, &pe) && pe.Code == pgerror.DatatypeMismatch {
		return pgerror.New("42P13", "return type mismatch in function declared to return %s", f.Ret).
			WithDetail("%s", pe.Message)
	}
	return err
}

// bindUDFCall resolves name(args) against the user-defined functions. ok is
// false when no UDF applies (the built-in registry decides). Resolution:
// a UDF whose declared types match the arguments exactly (unknown literals
// match anything) wins over built-ins; otherwise built-ins are tried first
// and a UDF reachable by implicit casts is used only when they fail.
func (p *Planner) bindUDFCall(schema, name string, args []Expr) (e Expr, ok bool, err error) {
	if p.Cat == nil || !p.Cat.HasFunctions() {
		return nil, false, nil
	}
	if schema == "pg_catalog" || schema == "information_schema" {
		return nil, false, nil
	}
	var cands []*catalog.Function
	for _, f := range p.Cat.Functions(schema, name) {
		if len(f.Args) == len(args) {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		return nil, false, nil
	}
	actual := make([]types.T, len(args))
	for i, a := range args {
		actual[i] = a.Type()
	}
	for _, f := range cands {
		exact := true
		for i, a := range f.Args {
			if actual[i].Family != types.FamUnknown && (actual[i].Family != a.T.Family || actual[i].Elem != a.T.Elem) {
				exact = false
				break
			}
		}
		if exact {
			e, err := p.inlineUDF(f, args)
			return e, true, err
		}
	}
	if len(p.Reg.Scalars(name)) > 0 {
		e, err := p.bindOp(name, args)
		if err == nil || pgerror.CodeOf(err) != pgerror.UndefinedFunction {
			return e, true, err
		}
	}
	sigs := make([]sig, len(cands))
	for i, f := range cands {
		sigs[i] = sig{args: f.ArgTypes()}
	}
	idx, _, found := resolveOverload(sigs, actual)
	if !found {
		return nil, true, pgerror.New(pgerror.UndefinedFunction, "function %s(%s) does not exist", name, typeList(actual)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
	}
	e, err = p.inlineUDF(cands[idx], args)
	return e, true, err
}

// inlineUDF binds f's body with args (coerced to the declared types)
// substituted, and coerces the result to f's return type.
func (p *Planner) inlineUDF(f *catalog.Function, args []Expr) (Expr, error) {
	depth := 0
	for fr := p.udf; fr != nil; fr = fr.parent {
		if fr.fn.ID == f.ID {
			return nil, pgerror.Unsupported("recursive call of SQL function %s cannot be inlined", f.Name).
				WithHint("SabotSQL inlines SQL functions at bind time; recursion is not supported.")
		}
		depth++
	}
	if depth >= maxUDFDepth {
		return nil, pgerror.New("54001", "SQL functions nested too deeply (limit %d)", maxUDFDepth)
	}
	coerced := make([]Expr, len(args))
	for i, a := range args {
		c, err := p.coerce(a, f.Args[i].T, "argument of "+f.Name)
		if err != nil {
			return nil, pgerror.New(pgerror.UndefinedFunction, "function %s(%s) does not exist", f.Name, exprTypes(args)).
				WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
		}
		coerced[i] = c
	}
	body, err := FunctionBodyExpr(f.Body)
	if err != nil {
		return nil, err
	}
	saved := p.udf
	p.udf = &udfFrame{fn: f, args: coerced, parent: saved}
	defer func() { p.udf = saved }()
	ec := &exprCtx{sc: &scope{}, clause: "SQL function body"}
	e, err := p.bindExpr(ec, body)
	if err != nil {
		return nil, err
	}
	e, err = p.coerceCtx(e, f.Ret, "return value of function "+f.Name, types.CastAssignment)
	if err != nil || !f.Strict || len(coerced) == 0 {
		return e, err
	}
	// STRICT: CASE WHEN a1 IS NULL OR … THEN NULL ELSE body END.
	tests := make([]Expr, len(coerced))
	for i, a := range coerced {
		tests[i] = &IsNull{E: cloneArg(a)}
	}
	var cond Expr = tests[0]
	if len(tests) > 1 {
		cond = &Or{Args: tests}
	}
	return &Case{Whens: []When{{Cond: cond, Result: constOf(f.Ret, nil)}}, Else: e, T: f.Ret}, nil
}

// udfParam resolves $n inside a function body.
func (p *Planner) udfParam(n int) (Expr, error) {
	fr := p.udf
	if n < 1 || n > len(fr.args) {
		return nil, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $%d", n)
	}
	return cloneArg(fr.args[n-1]), nil
}

// udfArgRef resolves a column reference inside a function body as an
// argument name (name, or fname.name); ok is false when it names none.
func (p *Planner) udfArgRef(table, name string) (Expr, bool) {
	fr := p.udf
	if fr == nil || (table != "" && table != fr.fn.Name) {
		return nil, false
	}
	for i, a := range fr.fn.Args {
		if a.Name != "" && a.Name == name {
			return cloneArg(fr.args[i]), true
		}
	}
	return nil, false
}

// cloneArg copies an argument expression's column references so that a
// parameter used twice in a body yields independent nodes (optimizer rules
// may update outer references in place).
func cloneArg(e Expr) Expr {
	out, _ := rewriteExpr(e, func(x Expr) (Expr, error) {
		switch v := x.(type) {
		case *ColRef:
			c := *v
			return &c, nil
		case *OuterRef:
			c := *v
			return &c, nil
		}
		return nil, nil
	})
	return out
}

// containsSubLink reports whether a parse tree holds a subquery.
func containsSubLink(m protoreflect.Message) bool {
	if n, ok := m.Interface().(*pg_query.Node); ok && n.GetSubLink() != nil {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = containsSubLink(l.Get(i).Message())
			}
		} else {
			found = containsSubLink(v.Message())
		}
		return !found
	})
	return found
}

// funcSchema returns the schema a function call names, "" when unqualified.
func funcSchema(f *pg_query.FuncCall) string {
	if len(f.Funcname) == 2 {
		return strVal(f.Funcname[0])
	}
	return ""
}
