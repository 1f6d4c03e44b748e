package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// exprCtx is the context expressions are bound in.
type exprCtx struct {
	sc *scope
	// agg collects aggregate calls; nil where aggregates are not allowed.
	agg *aggCollector
	// win collects window calls; nil where window functions are not allowed.
	win *winCollector
	// clause names the clause for error messages ("WHERE", "JOIN conditions").
	clause string
	// inAgg is set while binding an aggregate's arguments.
	inAgg bool
}

type aggCollector struct {
	calls []AggCall
	keys  []string
	// argScope is the scope aggregate arguments are bound in.
}

type winCollector struct {
	calls []WindowCall
	keys  []string
	defs  map[string]*pg_query.WindowDef
}

// aggRef and winRef are placeholders replaced after Aggregate/Window nodes
// are built; they never reach exec.
type aggRef struct {
	idx int
	t   types.T
}

type winRef struct {
	idx int
	t   types.T
}

func (e *aggRef) Type() types.T               { return e.t }
func (e *aggRef) String() string              { return fmt.Sprintf("agg#%d", e.idx) }
func (e *winRef) Type() types.T               { return e.t }
func (e *winRef) String() string              { return fmt.Sprintf("win#%d", e.idx) }
func exprKey(e Expr) string                   { return e.String() + "::" + e.Type().String() }
func isConst(e Expr) bool                     { _, ok := e.(*Const); return ok }
func constOf(t types.T, v types.Datum) *Const { return &Const{Val: v, T: t} }

func (p *Planner) bindExpr(ec *exprCtx, n *pg_query.Node) (Expr, error) {
	if n == nil {
		return nil, pgerror.Internal("nil expression")
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst:
		return p.bindConst(x.AConst)
	case *pg_query.Node_ColumnRef:
		return p.bindColumnRef(ec, x.ColumnRef)
	case *pg_query.Node_ParamRef:
		if p.udf != nil {
			return p.udfParam(int(x.ParamRef.Number))
		}
		idx := int(x.ParamRef.Number) - 1
		if idx < 0 || idx >= 65535 {
			return nil, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $%d", idx+1)
		}
		for len(p.Params) <= idx {
			p.Params = append(p.Params, types.UnknownT)
		}
		return &Param{Idx: idx, T: p.Params[idx]}, nil
	case *pg_query.Node_TypeCast:
		return p.bindTypeCast(ec, x.TypeCast)
	case *pg_query.Node_AExpr:
		return p.bindAExpr(ec, x.AExpr)
	case *pg_query.Node_BoolExpr:
		return p.bindBoolExpr(ec, x.BoolExpr)
	case *pg_query.Node_NullTest:
		e, err := p.bindExpr(ec, x.NullTest.Arg)
		if err != nil {
			return nil, err
		}
		return &IsNull{E: e, Negate: x.NullTest.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL}, nil
	case *pg_query.Node_BooleanTest:
		e, err := p.bindExpr(ec, x.BooleanTest.Arg)
		if err != nil {
			return nil, err
		}
		if e, err = p.coerce(e, types.BoolT, "IS TRUE"); err != nil {
			return nil, err
		}
		bt := &IsBool{E: e}
		switch x.BooleanTest.Booltesttype {
		case pg_query.BoolTestType_IS_TRUE:
			bt.Test = TestTrue
		case pg_query.BoolTestType_IS_NOT_TRUE:
			bt.Test, bt.Negate = TestTrue, true
		case pg_query.BoolTestType_IS_FALSE:
			bt.Test = TestFalse
		case pg_query.BoolTestType_IS_NOT_FALSE:
			bt.Test, bt.Negate = TestFalse, true
		case pg_query.BoolTestType_IS_UNKNOWN:
			bt.Test = TestUnknown
		case pg_query.BoolTestType_IS_NOT_UNKNOWN:
			bt.Test, bt.Negate = TestUnknown, true
		}
		return bt, nil
	case *pg_query.Node_FuncCall:
		return p.bindFuncCall(ec, x.FuncCall)
	case *pg_query.Node_CaseExpr:
		return p.bindCase(ec, x.CaseExpr)
	case *pg_query.Node_CoalesceExpr:
		args, err := p.bindList(ec, x.CoalesceExpr.Args)
		if err != nil {
			return nil, err
		}
		t, args, err := p.unify(args, "COALESCE")
		if err != nil {
			return nil, err
		}
		return &Coalesce{Args: args, T: t}, nil
	case *pg_query.Node_MinMaxExpr:
		args, err := p.bindList(ec, x.MinMaxExpr.Args)
		if err != nil {
			return nil, err
		}
		name := "GREATEST"
		if x.MinMaxExpr.Op == pg_query.MinMaxOp_IS_LEAST {
			name = "LEAST"
		}
		t, args, err := p.unify(args, name)
		if err != nil {
			return nil, err
		}
		return &MinMax{Args: args, Greatest: x.MinMaxExpr.Op == pg_query.MinMaxOp_IS_GREATEST, T: t}, nil
	case *pg_query.Node_SubLink:
		return p.bindSubLink(ec, x.SubLink)
	case *pg_query.Node_SqlvalueFunction:
		return p.bindSQLValueFunction(x.SqlvalueFunction)
	case *pg_query.Node_AArrayExpr:
		return p.bindArrayExpr(ec, x.AArrayExpr.Elements, types.UnknownT)
	case *pg_query.Node_CollateClause:
		return p.bindExpr(ec, x.CollateClause.Arg)
	case *pg_query.Node_AIndirection:
		return p.bindIndirection(ec, x.AIndirection)
	case *pg_query.Node_GroupingFunc:
		return nil, pgerror.Unsupported("GROUPING is not supported")
	case *pg_query.Node_RowExpr:
		return nil, pgerror.Unsupported("row constructors are not supported")
	case *pg_query.Node_SetToDefault:
		return nil, pgerror.New(pgerror.SyntaxError, "DEFAULT is not allowed in this context")
	}
	return nil, pgerror.Unsupported("unsupported expression %T", n.Node)
}

func (p *Planner) bindList(ec *exprCtx, ns []*pg_query.Node) ([]Expr, error) {
	out := make([]Expr, 0, len(ns))
	for _, n := range ns {
		e, err := p.bindExpr(ec, n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (p *Planner) bindConst(c *pg_query.A_Const) (Expr, error) {
	if c.Isnull {
		return constOf(types.UnknownT, nil), nil
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		return constOf(types.Int4T, int64(v.Ival.Ival)), nil
	case *pg_query.A_Const_Fval:
		s := v.Fval.Fval
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				if i >= math.MinInt32 && i <= math.MaxInt32 {
					return constOf(types.Int4T, i), nil
				}
				return constOf(types.Int8T, i), nil
			}
		}
		d, _, err := apd.NewFromString(s)
		if err != nil {
			return nil, pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", s)
		}
		return constOf(types.NumericT, d), nil
	case *pg_query.A_Const_Boolval:
		return constOf(types.BoolT, v.Boolval.Boolval), nil
	case *pg_query.A_Const_Sval:
		return constOf(types.UnknownT, v.Sval.Sval), nil
	case *pg_query.A_Const_Bsval:
		return nil, pgerror.Unsupported("bit string literals are not supported")
	}
	return nil, pgerror.Internal("unknown constant %T", c.Val)
}

func (p *Planner) bindColumnRef(ec *exprCtx, cr *pg_query.ColumnRef) (Expr, error) {
	var parts []string
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return nil, pgerror.New(pgerror.SyntaxError, "* is not allowed here")
		}
		parts = append(parts, strVal(f))
	}
	var table, name string
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		table, name = parts[0], parts[1]
	case 3:
		table, name = parts[1], parts[2]
	default:
		return nil, pgerror.New(pgerror.SyntaxError, "improper qualified name (too many dotted names): %s", strings.Join(parts, "."))
	}
	depth, idx, t, err := ec.sc.resolveColumn(table, name)
	if err != nil {
		if e, ok := p.udfArgRef(table, name); ok {
			return e, nil
		}
		return nil, pgerror.WithPosition(err, int(cr.Location)+1)
	}
	if depth == 0 {
		return &ColRef{Idx: idx, T: t, Name: name}, nil
	}
	return &OuterRef{Depth: depth, Idx: idx, T: t, Name: name}, nil
}

// coerce converts e to type to implicitly (function arguments, operators,
// conditions). Unknown literals are parsed now; unknown parameters take the type.
func (p *Planner) coerce(e Expr, to types.T, what string) (Expr, error) {
	return p.coerceCtx(e, to, what, types.CastImplicit)
}

// coerceAssign converts e for storage into a column of type to.
func (p *Planner) coerceAssign(e Expr, to types.T, col string) (Expr, error) {
	out, err := p.coerceCtx(e, to, col, types.CastAssignment)
	if err != nil {
		if pe := pgerror.As(err); pe != nil && pe.Code == pgerror.DatatypeMismatch {
			return nil, pgerror.New(pgerror.DatatypeMismatch, "column %q is of type %s but expression is of type %s", col, to, e.Type()).
				WithHint("You will need to rewrite or cast the expression.")
		}
		return nil, err
	}
	return out, nil
}

func (p *Planner) coerceCtx(e Expr, to types.T, what string, allowed types.CastContext) (Expr, error) {
	from := e.Type()
	if to.Family == types.FamUnknown || to.Family == types.FamAny {
		return e, nil
	}
	if from.Family == to.Family && from.Elem == to.Elem && (to.Mod < 0 || from.Mod == to.Mod) {
		return e, nil
	}
	if from.Family == types.FamUnknown {
		switch x := e.(type) {
		case *Const:
			if x.Val == nil {
				return constOf(to, nil), nil
			}
			// An unknown literal is read as the target type: an explicit
			// cast except on assignment, where varchar(n)/char(n) limits
			// raise 22001 instead of truncating.
			v, err := p.castConst(x.Val, from, to, allowed != types.CastAssignment)
			if err != nil {
				return nil, err
			}
			return constOf(to, v), nil
		case *Param:
			if p.Params[x.Idx].Family == types.FamUnknown {
				p.Params[x.Idx] = to.Unmodified()
			}
			pt := p.Params[x.Idx]
			if pt.Family == to.Family {
				return &Param{Idx: x.Idx, T: pt}, nil
			}
			e = &Param{Idx: x.Idx, T: pt}
			from = pt
		default:
			return &Cast{E: e, To: to, Explicit: allowed != types.CastAssignment}, nil
		}
	}
	if from.Family == to.Family && from.Elem == to.Elem {
		// Only the modifier differs: enforce it.
		if c, ok := e.(*Const); ok {
			v, err := p.castConst(c.Val, from, to, allowed == types.CastExplicit)
			if err != nil {
				return nil, err
			}
			return constOf(to, v), nil
		}
		return &Cast{E: e, To: to, Explicit: allowed == types.CastExplicit}, nil
	}
	k := types.CastKind(from, to)
	if k == types.CastNone || k > allowed {
		return nil, pgerror.New(pgerror.DatatypeMismatch, "%s must be type %s, not type %s", what, to, from)
	}
	if c, ok := e.(*Const); ok {
		v, err := p.castConst(c.Val, from, to, allowed == types.CastExplicit)
		if err != nil {
			return nil, err
		}
		return constOf(to, v), nil
	}
	return &Cast{E: e, To: to, Explicit: allowed == types.CastExplicit}, nil
}

func (p *Planner) castConst(v types.Datum, from, to types.T, explicit bool) (types.Datum, error) {
	if v == nil {
		return nil, nil
	}
	if to.Family == types.FamRegclass && from.IsString() || to.Family == types.FamRegclass && from.Family == types.FamUnknown {
		s, _ := v.(string)
		parts := splitQualifiedName(strings.TrimSpace(s))
		schema, name := "", parts[len(parts)-1]
		if len(parts) > 1 {
			schema = parts[len(parts)-2]
		}
		if r, ok := p.Cat.Lookup(schema, name); ok {
			return int64(r.ObjID()), nil
		}
		if p.Virtual != nil {
			if id, ok := virtualOID(p.Virtual, schema, name); ok {
				return id, nil
			}
		}
		return nil, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", s)
	}
	if to.Family == types.FamRegtype && (from.IsString() || from.Family == types.FamUnknown) {
		s, _ := v.(string)
		t, ok := types.ByName(s)
		if !ok {
			return nil, pgerror.New(pgerror.UndefinedObject, "type %q does not exist", s)
		}
		return int64(t.Oid()), nil
	}
	return types.Cast(p.Ctx, v, from, to, explicit)
}

// virtualOID lets catalog emulation give regclass ids to virtual relations.
func virtualOID(v VirtualTables, schema, name string) (int64, bool) {
	type oider interface {
		OID(schema, name string) (int64, bool)
	}
	if o, ok := v.(oider); ok {
		return o.OID(schema, name)
	}
	return 0, false
}

// unify resolves a common type for args (CASE, COALESCE, IN, …) and coerces them.
func (p *Planner) unify(args []Expr, what string) (types.T, []Expr, error) {
	ts := make([]types.T, len(args))
	for i, a := range args {
		ts[i] = a.Type()
	}
	t, err := commonType(ts, what)
	if err != nil {
		return t, nil, err
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		if out[i], err = p.coerce(a, t, what); err != nil {
			return t, nil, err
		}
	}
	return t, out, nil
}

func (p *Planner) bindTypeCast(ec *exprCtx, tc *pg_query.TypeCast) (Expr, error) {
	// 'schema.func'::regproc: catalog emulation keeps function references as
	// their names, so the literal becomes the bare name.
	if n := tc.TypeName.Names; len(n) > 0 {
		switch strVal(n[len(n)-1]) {
		case "regproc", "regprocedure":
			if c := tc.Arg.GetAConst(); c != nil && c.GetSval() != nil {
				parts := splitQualifiedName(c.GetSval().Sval)
				name := parts[len(parts)-1]
				if i := strings.IndexByte(name, '('); i >= 0 {
					name = name[:i]
				}
				return constOf(types.TextT, name), nil
			}
		}
	}
	to, err := ResolveTypeName(tc.TypeName)
	if err != nil {
		return nil, err
	}
	if to.Family == types.FamInterval && len(tc.TypeName.Typmods) > 0 {
		intervalFieldLiteral(tc)
	}
	// ARRAY[...]::int[] types the elements.
	if ae := tc.Arg.GetAArrayExpr(); ae != nil && to.Family == types.FamArray {
		return p.bindArrayExpr(ec, ae.Elements, to.ElemType())
	}
	e, err := p.bindExpr(ec, tc.Arg)
	if err != nil {
		return nil, err
	}
	return p.explicitCast(e, to)
}

func (p *Planner) explicitCast(e Expr, to types.T) (Expr, error) {
	from := e.Type()
	if from.Family == types.FamUnknown {
		return p.coerceCtx(e, to, "cast", types.CastExplicit)
	}
	if from == to {
		return e, nil
	}
	if types.CastKind(from, to) == types.CastNone && !(from.Family == to.Family && from.Elem == to.Elem) {
		return nil, pgerror.New(pgerror.CannotCoerce, "cannot cast type %s to %s", from, to)
	}
	if c, ok := e.(*Const); ok {
		v, err := p.castConst(c.Val, from, to, true)
		if err != nil {
			return nil, err
		}
		return constOf(to, v), nil
	}
	return &Cast{E: e, To: to, Explicit: true}, nil
}

// bindOp resolves and applies an operator (or function) by name.
func (p *Planner) bindOp(name string, args []Expr) (Expr, error) {
	fs := p.Reg.Scalars(name)
	actual := make([]types.T, len(args))
	for i, a := range args {
		actual[i] = a.Type()
	}
	idx, resolved, ok := resolveOverload(scalarSigs(fs), actual)
	if !ok {
		if isOperatorName(name) {
			if len(args) == 1 {
				return nil, pgerror.New(pgerror.UndefinedFunction, "operator does not exist: %s %s", strings.TrimPrefix(name, "u"), actual[0]).
					WithHint("No operator matches the given name and argument type. You might need to add an explicit type cast.")
			}
			return nil, pgerror.New(pgerror.UndefinedFunction, "operator does not exist: %s %s %s", actual[0], name, actual[1]).
				WithHint("No operator matches the given name and argument types. You might need to add explicit type casts.")
		}
		return nil, pgerror.New(pgerror.UndefinedFunction, "function %s(%s) does not exist", name, typeList(actual)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
	}
	f := fs[idx]
	out := make([]Expr, len(args))
	for i, a := range args {
		e, err := p.coerce(a, resolved[i], "argument of "+name)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	rt := f.ResultType(resolved)
	if rt.Family == types.FamAny && len(resolved) > 0 {
		rt = resolved[0]
	}
	return &Call{Fn: f, Args: out, T: rt}, nil
}

func isOperatorName(name string) bool {
	for _, r := range name {
		if strings.ContainsRune("+-*/<>=~!@#%^&|`?", r) {
			return true
		}
	}
	return strings.HasPrefix(name, "u") && len(name) <= 3 && strings.ContainsAny(name[1:], "+-")
}

func (p *Planner) bindAExpr(ec *exprCtx, a *pg_query.A_Expr) (Expr, error) {
	opName := nameList(a.Name)
	if i := strings.LastIndexByte(opName, '.'); i >= 0 {
		opName = opName[i+1:] // OPERATOR(pg_catalog.+)
	}
	bindSide := func(n *pg_query.Node) (Expr, error) { return p.bindExpr(ec, n) }
	bindBoth := func() (Expr, Expr, error) {
		l, err := bindSide(a.Lexpr)
		if err != nil {
			return nil, nil, err
		}
		r, err := bindSide(a.Rexpr)
		return l, r, err
	}
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if a.Lexpr == nil {
			r, err := bindSide(a.Rexpr)
			if err != nil {
				return nil, err
			}
			if opName == "-" {
				// Fold negative numeric literals so -2147483648 is an int4.
				if c, ok := r.(*Const); ok && c.Val != nil {
					switch v := c.Val.(type) {
					case int64:
						if c.T.Family == types.FamInt8 && v == math.MaxInt32+1 {
							return constOf(types.Int4T, int64(math.MinInt32)), nil
						}
						if v != math.MinInt64 {
							return constOf(c.T, -v), nil
						}
					case *apd.Decimal:
						d := new(apd.Decimal)
						d.Neg(v)
						return constOf(c.T, d), nil
					}
				}
			}
			return p.bindOp("u"+opName, []Expr{r})
		}
		l, r, err := bindBoth()
		if err != nil {
			return nil, err
		}
		return p.bindOp(opName, []Expr{l, r})
	case pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE, pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		// The grammar already wrapped a SIMILAR TO pattern in similar_to_escape.
		l, r, err := bindBoth()
		if err != nil {
			return nil, err
		}
		return p.bindOp(opName, []Expr{l, r})
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		l, r, err := bindBoth()
		if err != nil {
			return nil, err
		}
		eq, err := p.bindOp("=", []Expr{l, r})
		if err != nil {
			return nil, err
		}
		c := eq.(*Call)
		return &IsDistinct{L: c.Args[0], R: c.Args[1], Eq: c.Fn, Negate: a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT}, nil
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		l, r, err := bindBoth()
		if err != nil {
			return nil, err
		}
		eq, err := p.bindOp("=", []Expr{l, r})
		if err != nil {
			return nil, err
		}
		// NULLIF(a, b) = CASE WHEN a = b THEN NULL ELSE a END, typed as
		// the = operator's left operand: a promoted to the operator's input
		// type (NULLIF(1, 1.0) is numeric), as in PostgreSQL.
		c := eq.(*Call)
		lt := c.Args[0].Type()
		if lt.Family == types.FamUnknown || lt.Family == types.FamAny || lt.Family == types.FamAnyArray {
			lt = l.Type()
		}
		lv, err := p.coerce(l, lt, "NULLIF")
		if err != nil {
			return nil, err
		}
		return &Case{Whens: []When{{Cond: eq, Result: constOf(lt, nil)}}, Else: lv, T: lt}, nil
	case pg_query.A_Expr_Kind_AEXPR_IN:
		l, err := bindSide(a.Lexpr)
		if err != nil {
			return nil, err
		}
		list := a.Rexpr.GetList()
		if list == nil {
			return nil, pgerror.New(pgerror.SyntaxError, "IN requires a list")
		}
		items, err := p.bindList(ec, list.Items)
		if err != nil {
			return nil, err
		}
		t, all, err := p.unify(append([]Expr{l}, items...), "IN")
		if err != nil {
			return nil, err
		}
		eq, err := p.bindOp("=", []Expr{all[0], all[0]})
		if err != nil {
			return nil, err
		}
		_ = t
		return &InList{E: all[0], List: all[1:], Negate: opName == "<>", Eq: eq.(*Call).Fn}, nil
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		x, err := bindSide(a.Lexpr)
		if err != nil {
			return nil, err
		}
		bounds := a.Rexpr.GetList().GetItems()
		if len(bounds) != 2 {
			return nil, pgerror.New(pgerror.SyntaxError, "BETWEEN requires two bounds")
		}
		lo, err := bindSide(bounds[0])
		if err != nil {
			return nil, err
		}
		hi, err := bindSide(bounds[1])
		if err != nil {
			return nil, err
		}
		between := func(lo, hi Expr) (Expr, error) {
			ge, err := p.bindOp(">=", []Expr{x, lo})
			if err != nil {
				return nil, err
			}
			le, err := p.bindOp("<=", []Expr{x, hi})
			if err != nil {
				return nil, err
			}
			return &And{Args: []Expr{ge, le}}, nil
		}
		e, err := between(lo, hi)
		if err != nil {
			return nil, err
		}
		if a.Kind == pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM || a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
			e2, err := between(hi, lo)
			if err != nil {
				return nil, err
			}
			e = &Or{Args: []Expr{e, e2}}
		}
		if a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN || a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
			e = &Not{E: e}
		}
		return e, nil
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		l, err := bindSide(a.Lexpr)
		if err != nil {
			return nil, err
		}
		// x op ANY (ARRAY[...]) over a literal array becomes an IN list.
		var elems []*pg_query.Node
		if ae := a.Rexpr.GetAArrayExpr(); ae != nil {
			elems = ae.Elements
		} else if tc := a.Rexpr.GetTypeCast(); tc != nil && tc.Arg.GetAArrayExpr() != nil {
			elems = tc.Arg.GetAArrayExpr().Elements
		}
		if elems == nil {
			r, err := bindSide(a.Rexpr)
			if err != nil {
				return nil, err
			}
			return p.bindArrayAnyAll(l, r, opName, a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL)
		}
		items, err := p.bindList(ec, elems)
		if err != nil {
			return nil, err
		}
		var terms []Expr
		for _, it := range items {
			c, err := p.bindOp(opName, []Expr{l, it})
			if err != nil {
				return nil, err
			}
			terms = append(terms, c)
		}
		if a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL {
			if len(terms) == 0 {
				return constOf(types.BoolT, true), nil
			}
			return &And{Args: terms}, nil
		}
		if len(terms) == 0 {
			return constOf(types.BoolT, false), nil
		}
		return &Or{Args: terms}, nil
	}
	return nil, pgerror.Unsupported("unsupported operator expression kind %v", a.Kind)
}

// bindArrayAnyAll handles x op ANY/ALL (array-valued expression) through the
// registered "any_op"/"all_op" helpers: the operator is resolved for the
// element type and applied by the executor element by element.
func (p *Planner) bindArrayAnyAll(l, r Expr, op string, all bool) (Expr, error) {
	rt := r.Type()
	if rt.Family == types.FamUnknown {
		var err error
		if r, err = p.coerce(r, types.ArrayOf(l.Type()), "ANY"); err != nil {
			return nil, err
		}
		rt = r.Type()
	}
	if rt.Family != types.FamArray {
		return nil, pgerror.New(pgerror.WrongObjectType, "op ANY/ALL (array) requires array on right side")
	}
	elem := &Const{T: rt.ElemType()}
	c, err := p.bindOp(op, []Expr{l, elem})
	if err != nil {
		return nil, err
	}
	call := c.(*Call)
	kind := SubAny
	if all {
		kind = SubAll
	}
	return &ArrayCompare{Kind: kind, Left: call.Args[0], Array: r, Op: call.Fn}, nil
}

func (p *Planner) bindBoolExpr(ec *exprCtx, b *pg_query.BoolExpr) (Expr, error) {
	args, err := p.bindList(ec, b.Args)
	if err != nil {
		return nil, err
	}
	name := map[pg_query.BoolExprType]string{
		pg_query.BoolExprType_AND_EXPR: "AND", pg_query.BoolExprType_OR_EXPR: "OR", pg_query.BoolExprType_NOT_EXPR: "NOT",
	}[b.Boolop]
	for i, a := range args {
		if args[i], err = p.coerce(a, types.BoolT, "argument of "+name); err != nil {
			return nil, err
		}
	}
	switch b.Boolop {
	case pg_query.BoolExprType_AND_EXPR:
		return &And{Args: args}, nil
	case pg_query.BoolExprType_OR_EXPR:
		return &Or{Args: args}, nil
	}
	return &Not{E: args[0]}, nil
}

func (p *Planner) bindCase(ec *exprCtx, c *pg_query.CaseExpr) (Expr, error) {
	var operand Expr
	var err error
	if c.Arg != nil {
		if operand, err = p.bindExpr(ec, c.Arg); err != nil {
			return nil, err
		}
	}
	var conds, results []Expr
	for _, w := range c.Args {
		cw := w.GetCaseWhen()
		cond, err := p.bindExpr(ec, cw.Expr)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			if cond, err = p.bindOp("=", []Expr{operand, cond}); err != nil {
				return nil, err
			}
		} else if cond, err = p.coerce(cond, types.BoolT, "argument of CASE/WHEN"); err != nil {
			return nil, err
		}
		res, err := p.bindExpr(ec, cw.Result)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond)
		results = append(results, res)
	}
	var els Expr
	all := append([]Expr{}, results...)
	if c.Defresult != nil {
		if els, err = p.bindExpr(ec, c.Defresult); err != nil {
			return nil, err
		}
		all = append(all, els)
	}
	t, all, err := p.unify(all, "CASE")
	if err != nil {
		return nil, err
	}
	out := &Case{T: t}
	for i := range conds {
		out.Whens = append(out.Whens, When{Cond: conds[i], Result: all[i]})
	}
	if els != nil {
		out.Else = all[len(all)-1]
	}
	return out, nil
}

func (p *Planner) bindSQLValueFunction(f *pg_query.SQLValueFunction) (Expr, error) {
	name := map[pg_query.SQLValueFunctionOp]string{
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        "current_date",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME:        "current_time",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:      "current_time",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   "now",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: "now",
		pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME:           "localtime",
		pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:         "localtime",
		pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      "localtimestamp",
		pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    "localtimestamp",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:        "current_user",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:        "current_user",
		pg_query.SQLValueFunctionOp_SVFOP_USER:                "current_user",
		pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:        "session_user",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:     "current_database",
		pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:      "current_schema",
	}[f.Op]
	if name == "" {
		return nil, pgerror.Unsupported("unsupported SQL value function")
	}
	return p.bindOp(name, nil)
}

func (p *Planner) bindArrayExpr(ec *exprCtx, elems []*pg_query.Node, elemT types.T) (Expr, error) {
	items, err := p.bindList(ec, elems)
	if err != nil {
		return nil, err
	}
	var t types.T
	if elemT.Family != types.FamUnknown {
		t = elemT
		for i, it := range items {
			if items[i], err = p.explicitCast(it, t); err != nil {
				return nil, err
			}
		}
	} else {
		if len(items) == 0 {
			return nil, pgerror.New(pgerror.IndeterminateDatatype, "cannot determine type of empty array").
				WithHint("Explicitly cast to the desired type, for example ARRAY[]::integer[].")
		}
		if t, items, err = p.unify(items, "ARRAY"); err != nil {
			return nil, err
		}
	}
	return &ArrayCtor{Elems: items, T: types.ArrayOf(t)}, nil
}

func (p *Planner) bindIndirection(ec *exprCtx, ind *pg_query.A_Indirection) (Expr, error) {
	base, err := p.bindExpr(ec, ind.Arg)
	if err != nil {
		return nil, err
	}
	for _, in := range ind.Indirection {
		idx := in.GetAIndices()
		if idx == nil || idx.IsSlice || base.Type().Family != types.FamArray {
			return nil, pgerror.Unsupported("unsupported indirection")
		}
		i, err := p.bindExpr(ec, idx.Uidx)
		if err != nil {
			return nil, err
		}
		if i, err = p.coerce(i, types.Int4T, "array subscript"); err != nil {
			return nil, err
		}
		base = &ArraySubscript{Array: base, Index: i, T: base.Type().ElemType()}
	}
	return base, nil
}

// lookupAgg reports whether name is an aggregate.
func (p *Planner) isAgg(name string) bool { return len(p.Reg.Aggs(name)) > 0 }

var rankingFuncs = map[string]types.T{
	"row_number": types.Int8T, "rank": types.Int8T, "dense_rank": types.Int8T,
	"percent_rank": types.Float8T, "cume_dist": types.Float8T, "ntile": types.Int4T,
	"lag": types.AnyT, "lead": types.AnyT, "first_value": types.AnyT, "last_value": types.AnyT,
	"nth_value": types.AnyT,
}

func (p *Planner) bindFuncCall(ec *exprCtx, f *pg_query.FuncCall) (Expr, error) {
	name := strings.ToLower(strVal(f.Funcname[len(f.Funcname)-1]))
	if len(f.Funcname) == 2 {
		schema := strVal(f.Funcname[0])
		if schema != "pg_catalog" && schema != "public" && schema != "information_schema" {
			if _, ok := p.Cat.SchemaID(schema); !ok {
				return nil, pgerror.New(pgerror.InvalidSchemaName, "schema %q does not exist", schema)
			}
		}
	}
	if f.Over != nil {
		return p.bindWindowCall(ec, f, name)
	}
	if p.isAgg(name) && !(len(p.Reg.Scalars(name)) > 0 && !f.AggStar && len(f.Args) != 1) {
		return p.bindAggCall(ec, f, name)
	}
	if _, ok := rankingFuncs[name]; ok {
		return nil, pgerror.New(pgerror.WindowingError, "window function %s requires an OVER clause", name)
	}
	if f.AggStar || f.AggDistinct || f.AggFilter != nil || len(f.AggOrder) > 0 {
		return nil, pgerror.New(pgerror.WrongObjectType, "%s is not an aggregate function", name)
	}
	args, err := p.bindList(ec, f.Args)
	if err != nil {
		return nil, err
	}
	if e, ok, err := p.bindUDFCall(funcSchema(f), name, args); ok || err != nil {
		return e, err
	}
	switch name {
	case "pg_typeof":
		if len(args) == 1 {
			return constOf(types.RegtypeT, int64(args[0].Type().Oid())), nil
		}
	case "nullif":
		// nullif spelled as a function call.
	}
	return p.bindOp(name, args)
}

func (p *Planner) bindAggCall(ec *exprCtx, f *pg_query.FuncCall, name string) (Expr, error) {
	if ec.agg == nil {
		return nil, pgerror.New(pgerror.GroupingError, "aggregate functions are not allowed in %s", ec.clause)
	}
	if ec.inAgg {
		return nil, pgerror.New(pgerror.GroupingError, "aggregate function calls cannot be nested")
	}
	inner := *ec
	inner.inAgg = true
	inner.win = nil
	var args []Expr
	var err error
	if !f.AggStar {
		if args, err = p.bindList(&inner, f.Args); err != nil {
			return nil, err
		}
	}
	fs := p.Reg.Aggs(name)
	actual := make([]types.T, len(args))
	for i, a := range args {
		actual[i] = a.Type()
	}
	idx, resolved, ok := resolveOverload(aggSigs(fs), actual)
	if !ok {
		return nil, pgerror.New(pgerror.UndefinedFunction, "function %s(%s) does not exist", name, typeList(actual)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
	}
	for i := range args {
		if args[i], err = p.coerce(args[i], resolved[i], "argument of "+name); err != nil {
			return nil, err
		}
	}
	call := AggCall{Fn: fs[idx], Args: args, Distinct: f.AggDistinct, T: fs[idx].ResultType(resolved)}
	if call.T.Family == types.FamAny && len(resolved) > 0 {
		call.T = resolved[0]
	}
	if f.AggFilter != nil {
		if call.Filter, err = p.bindExpr(&inner, f.AggFilter); err != nil {
			return nil, err
		}
		if call.Filter, err = p.coerce(call.Filter, types.BoolT, "argument of FILTER"); err != nil {
			return nil, err
		}
	}
	for _, o := range f.AggOrder {
		sb := o.GetSortBy()
		e, err := p.bindExpr(&inner, sb.Node)
		if err != nil {
			return nil, err
		}
		call.OrderBy = append(call.OrderBy, sortKey(e, sb))
	}
	key := fmt.Sprintf("%s(%v|%s|%v|%v)", call.Fn.Name, call.Distinct, joinExprs(args, ","), call.Filter, call.OrderBy)
	for i, k := range ec.agg.keys {
		if k == key {
			return &aggRef{idx: i, t: call.T}, nil
		}
	}
	ec.agg.calls = append(ec.agg.calls, call)
	ec.agg.keys = append(ec.agg.keys, key)
	return &aggRef{idx: len(ec.agg.calls) - 1, t: call.T}, nil
}

func sortKey(e Expr, sb *pg_query.SortBy) SortKey {
	k := SortKey{E: e, Desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC}
	switch sb.SortbyNulls {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		k.NullsFirst = true
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		k.NullsFirst = false
	default:
		k.NullsFirst = k.Desc
	}
	return k
}

// Frame option bits of PostgreSQL's WindowDef.frameOptions.
const (
	frameNonDefault         = 0x00001
	frameRange              = 0x00002
	frameRows               = 0x00004
	frameGroups             = 0x00008
	frameStartUnboundedPrec = 0x00020
	frameEndUnboundedFoll   = 0x00100
	frameStartCurrentRow    = 0x00200
	frameEndCurrentRow      = 0x00400
	frameStartOffsetPrec    = 0x00800
	frameEndOffsetPrec      = 0x01000
	frameStartOffsetFoll    = 0x02000
	frameEndOffsetFoll      = 0x04000
	frameExcludeMask        = 0x08000 | 0x10000 | 0x20000
	frameStartUnboundedFoll = 0x00080
	frameEndUnboundedPrec   = 0x00040
)

func (p *Planner) bindWindowCall(ec *exprCtx, f *pg_query.FuncCall, name string) (Expr, error) {
	if ec.win == nil {
		return nil, pgerror.New(pgerror.WindowingError, "window functions are not allowed in %s", ec.clause)
	}
	wd := f.Over
	if wd.Refname != "" || (wd.Name != "" && len(wd.PartitionClause) == 0 && len(wd.OrderClause) == 0 && wd.FrameOptions&frameNonDefault == 0) {
		ref := wd.Refname
		if ref == "" {
			ref = wd.Name
		}
		base, ok := ec.win.defs[ref]
		if !ok {
			return nil, pgerror.New(pgerror.UndefinedObject, "window %q does not exist", ref)
		}
		merged := &pg_query.WindowDef{PartitionClause: base.PartitionClause, OrderClause: base.OrderClause,
			FrameOptions: base.FrameOptions, StartOffset: base.StartOffset, EndOffset: base.EndOffset}
		if len(wd.OrderClause) > 0 {
			merged.OrderClause = wd.OrderClause
		}
		if wd.FrameOptions&frameNonDefault != 0 {
			merged.FrameOptions, merged.StartOffset, merged.EndOffset = wd.FrameOptions, wd.StartOffset, wd.EndOffset
		}
		wd = merged
	}
	inner := *ec
	inner.win = nil
	var args []Expr
	var err error
	if !f.AggStar {
		if args, err = p.bindList(&inner, f.Args); err != nil {
			return nil, err
		}
	}
	call := WindowCall{Name: name}
	if rt, ok := rankingFuncs[name]; ok {
		switch name {
		case "ntile":
			if len(args) != 1 {
				return nil, pgerror.New(pgerror.UndefinedFunction, "function ntile requires one argument")
			}
			if args[0], err = p.coerce(args[0], types.Int4T, "argument of ntile"); err != nil {
				return nil, err
			}
		case "lag", "lead":
			if len(args) < 1 || len(args) > 3 {
				return nil, pgerror.New(pgerror.UndefinedFunction, "function %s requires 1 to 3 arguments", name)
			}
			if len(args) >= 2 {
				if args[1], err = p.coerce(args[1], types.Int4T, "argument of "+name); err != nil {
					return nil, err
				}
			}
			if len(args) == 3 {
				t, both, err := p.unify([]Expr{args[0], args[2]}, name)
				if err != nil {
					return nil, err
				}
				args[0], args[2] = both[0], both[1]
				_ = t
			}
		case "nth_value":
			if len(args) != 2 {
				return nil, pgerror.New(pgerror.UndefinedFunction, "function nth_value requires two arguments")
			}
			if args[1], err = p.coerce(args[1], types.Int4T, "argument of nth_value"); err != nil {
				return nil, err
			}
		case "first_value", "last_value":
			if len(args) != 1 {
				return nil, pgerror.New(pgerror.UndefinedFunction, "function %s requires one argument", name)
			}
		default:
			if len(args) != 0 {
				return nil, pgerror.New(pgerror.UndefinedFunction, "function %s(%s) does not exist", name, exprTypes(args))
			}
		}
		if rt.Family == types.FamAny {
			rt = args[0].Type()
			if rt.Family == types.FamUnknown {
				rt = types.TextT
				if args[0], err = p.coerce(args[0], rt, name); err != nil {
					return nil, err
				}
			}
		}
		call.T = rt
	} else if p.isAgg(name) {
		fs := p.Reg.Aggs(name)
		actual := make([]types.T, len(args))
		for i, a := range args {
			actual[i] = a.Type()
		}
		idx, resolved, ok := resolveOverload(aggSigs(fs), actual)
		if !ok {
			return nil, pgerror.New(pgerror.UndefinedFunction, "function %s(%s) does not exist", name, typeList(actual))
		}
		for i := range args {
			if args[i], err = p.coerce(args[i], resolved[i], "argument of "+name); err != nil {
				return nil, err
			}
		}
		call.Agg = fs[idx]
		call.T = fs[idx].ResultType(resolved)
		if call.T.Family == types.FamAny && len(resolved) > 0 {
			call.T = resolved[0]
		}
		if f.AggDistinct {
			return nil, pgerror.Unsupported("DISTINCT is not implemented for window functions")
		}
		if f.AggFilter != nil {
			if call.Filter, err = p.bindExpr(&inner, f.AggFilter); err != nil {
				return nil, err
			}
		}
	} else {
		return nil, pgerror.New(pgerror.WrongObjectType, "OVER specified, but %s is not a window function nor an aggregate function", name)
	}
	call.Args = args
	for _, pn := range wd.PartitionClause {
		e, err := p.bindExpr(&inner, pn)
		if err != nil {
			return nil, err
		}
		call.PartitionBy = append(call.PartitionBy, e)
	}
	for _, o := range wd.OrderClause {
		sb := o.GetSortBy()
		e, err := p.bindExpr(&inner, sb.Node)
		if err != nil {
			return nil, err
		}
		call.OrderBy = append(call.OrderBy, sortKey(e, sb))
	}
	if call.Frame, err = p.bindFrame(&inner, wd, call.OrderBy); err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s|%s|%v|%s|%v|%v", name, joinExprs(args, ","), call.Filter, joinExprs(call.PartitionBy, ","), call.OrderBy, call.Frame)
	for i, k := range ec.win.keys {
		if k == key {
			return &winRef{idx: i, t: call.T}, nil
		}
	}
	ec.win.calls = append(ec.win.calls, call)
	ec.win.keys = append(ec.win.keys, key)
	return &winRef{idx: len(ec.win.calls) - 1, t: call.T}, nil
}

func (p *Planner) bindFrame(ec *exprCtx, wd *pg_query.WindowDef, order []SortKey) (Frame, error) {
	fo := wd.FrameOptions
	fr := Frame{Mode: FrameRange, Start: FrameBound{Kind: UnboundedPreceding}, End: FrameBound{Kind: CurrentRow}}
	if fo&frameNonDefault == 0 {
		return fr, nil
	}
	if fo&frameExcludeMask != 0 {
		return fr, pgerror.Unsupported("frame EXCLUDE is not supported")
	}
	switch {
	case fo&frameRows != 0:
		fr.Mode = FrameRows
	case fo&frameGroups != 0:
		fr.Mode = FrameGroups
	}
	bound := func(unbPrec, unbFoll, cur, offPrec, offFoll int32, off *pg_query.Node) (FrameBound, error) {
		switch {
		case fo&unbPrec != 0:
			return FrameBound{Kind: UnboundedPreceding}, nil
		case fo&unbFoll != 0:
			return FrameBound{Kind: UnboundedFollowing}, nil
		case fo&cur != 0:
			return FrameBound{Kind: CurrentRow}, nil
		}
		kind := OffsetPreceding
		if fo&offFoll != 0 {
			kind = OffsetFollowing
		}
		e, err := p.bindExpr(ec, off)
		if err != nil {
			return FrameBound{}, err
		}
		if fr.Mode != FrameRange {
			if e, err = p.coerce(e, types.Int8T, "frame offset"); err != nil {
				return FrameBound{}, err
			}
		} else {
			if len(order) != 1 {
				return FrameBound{}, pgerror.New(pgerror.WindowingError, "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column")
			}
			ot := order[0].E.Type()
			want := ot
			if ot.IsDateTime() {
				want = types.IntervalT
			}
			if e, err = p.coerce(e, want, "frame offset"); err != nil {
				return FrameBound{}, err
			}
		}
		return FrameBound{Kind: kind, Offset: e}, nil
	}
	var err error
	if fr.Start, err = bound(frameStartUnboundedPrec, frameStartUnboundedFoll, frameStartCurrentRow, frameStartOffsetPrec, frameStartOffsetFoll, wd.StartOffset); err != nil {
		return fr, err
	}
	if fo&0x00010 != 0 { // BETWEEN
		if fr.End, err = bound(frameEndUnboundedPrec, frameEndUnboundedFoll, frameEndCurrentRow, frameEndOffsetPrec, frameEndOffsetFoll, wd.EndOffset); err != nil {
			return fr, err
		}
	} else {
		fr.End = FrameBound{Kind: CurrentRow}
	}
	if fr.Start.Kind == UnboundedFollowing {
		return fr, pgerror.New(pgerror.WindowingError, "frame start cannot be UNBOUNDED FOLLOWING")
	}
	if fr.End.Kind == UnboundedPreceding {
		return fr, pgerror.New(pgerror.WindowingError, "frame end cannot be UNBOUNDED PRECEDING")
	}
	return fr, nil
}

func exprTypes(es []Expr) string {
	ts := make([]types.T, len(es))
	for i, e := range es {
		ts[i] = e.Type()
	}
	return typeList(ts)
}

var _ = kernels.Immutable

// splitQualifiedName splits a possibly quoted, dotted SQL name into its
// parts, folding unquoted parts to lower case.
func splitQualifiedName(s string) []string {
	var parts []string
	var cur strings.Builder
	quoted, wasQuoted := false, false
	flush := func() {
		p := cur.String()
		if !wasQuoted {
			p = strings.ToLower(strings.TrimSpace(p))
		}
		parts = append(parts, p)
		cur.Reset()
		wasQuoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
			wasQuoted = true
		case c == '.' && !quoted:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return parts
}

// intervalFieldLiteral gives a bare number in INTERVAL '30' MINUTE the unit
// of the qualifier's last field, as PostgreSQL does (the typmod holds the
// field mask: bits 1 MONTH, 2 YEAR, 3 DAY, 10 HOUR, 11 MINUTE, 12 SECOND).
func intervalFieldLiteral(tc *pg_query.TypeCast) {
	c := tc.Arg.GetAConst()
	if c == nil || c.GetSval() == nil {
		return
	}
	m := tc.TypeName.Typmods[0].GetAConst()
	if m == nil || m.GetIval() == nil {
		return
	}
	mask := m.GetIval().Ival
	lit := strings.TrimSpace(c.GetSval().Sval)
	if _, err := strconv.ParseFloat(lit, 64); err != nil {
		return
	}
	for _, f := range []struct {
		bit  int32
		unit string
	}{{12, "second"}, {11, "minute"}, {10, "hour"}, {3, "day"}, {1, "month"}, {2, "year"}} {
		if mask&(1<<f.bit) != 0 {
			c.GetSval().Sval = lit + " " + f.unit
			return
		}
	}
}
