package engine

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// createFunction runs CREATE [OR REPLACE] FUNCTION … LANGUAGE SQL. The body
// is validated by binding it with the declared argument types; calls are
// inlined by the binder (sql/planner/udf.go).
func (s *Session) createFunction(c *pg_query.CreateFunctionStmt) (api.Result, error) {
	if c.IsProcedure {
		return api.Result{}, pgerror.Unsupported("CREATE PROCEDURE is not supported")
	}
	names := make([]string, 0, len(c.Funcname))
	for _, n := range c.Funcname {
		names = append(names, strVal(n))
	}
	schema, name := "public", names[len(names)-1]
	if len(names) > 1 {
		schema = names[len(names)-2]
		if schema == "pg_catalog" || schema == "information_schema" {
			return api.Result{}, pgerror.New(pgerror.InsufficientPrivilege, "permission denied for schema %s", schema)
		}
	}
	f := &catalog.Function{Schema: schema, Name: name, Volatility: 'v'}
	for _, pn := range c.Parameters {
		fp := pn.GetFunctionParameter()
		if fp == nil {
			return api.Result{}, pgerror.Internal("unexpected function parameter %T", pn.Node)
		}
		switch fp.Mode {
		case pg_query.FunctionParameterMode_FUNC_PARAM_IN, pg_query.FunctionParameterMode_FUNC_PARAM_DEFAULT:
		default:
			return api.Result{}, pgerror.Unsupported("only IN parameters are supported in SQL functions")
		}
		if fp.Defexpr != nil {
			return api.Result{}, pgerror.Unsupported("parameter defaults are not supported in SQL functions")
		}
		t, err := planner.ResolveTypeName(fp.ArgType)
		if err != nil {
			return api.Result{}, err
		}
		f.Args = append(f.Args, catalog.FuncArg{Name: fp.Name, T: t})
	}
	if c.ReturnType == nil {
		return api.Result{}, pgerror.Unsupported("functions without a RETURNS type are not supported")
	}
	if c.ReturnType.Setof {
		return api.Result{}, pgerror.Unsupported("set-returning SQL functions are not supported")
	}
	ret, err := planner.ResolveTypeName(c.ReturnType)
	if err != nil {
		return api.Result{}, err
	}
	if ret.Family == types.FamVoid || ret.Family == types.FamRecord {
		return api.Result{}, pgerror.Unsupported("SQL functions returning %s are not supported", ret)
	}
	f.Ret = ret
	lang := ""
	for _, o := range c.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "language":
			lang = strings.ToLower(strVal(d.Arg))
		case "as":
			if l := d.Arg.GetList(); l != nil {
				if len(l.Items) != 1 {
					return api.Result{}, pgerror.New("42P13", "only one AS item needed for language \"sql\"")
				}
				f.Body = strVal(l.Items[0])
			} else {
				f.Body = strVal(d.Arg)
			}
		case "volatility":
			switch strVal(d.Arg) {
			case "immutable":
				f.Volatility = 'i'
			case "stable":
				f.Volatility = 's'
			default:
				f.Volatility = 'v'
			}
		case "strict":
			if b := d.Arg.GetBoolean(); b != nil {
				f.Strict = b.Boolval
			} else if i := d.Arg.GetInteger(); i != nil {
				f.Strict = i.Ival != 0
			}
		case "security", "leakproof", "parallel", "cost":
			// Accepted; inlining makes them moot.
		default:
			return api.Result{}, pgerror.Unsupported("function option %s is not supported", strings.ToUpper(d.Defname))
		}
	}
	if c.SqlBody != nil {
		if lang == "" {
			lang = "sql"
		}
		ret := c.SqlBody.GetReturnStmt()
		if ret == nil {
			if l := c.SqlBody.GetList(); l != nil && len(l.Items) == 1 {
				if inner := l.Items[0].GetList(); inner != nil && len(inner.Items) == 1 {
					ret = inner.Items[0].GetReturnStmt()
				}
			}
		}
		if ret == nil {
			return api.Result{}, pgerror.Unsupported("only RETURN expr bodies are supported in BEGIN ATOMIC SQL functions")
		}
		text, err := deparseExpr(ret.Returnval)
		if err != nil {
			return api.Result{}, err
		}
		f.Body = "SELECT " + text
	}
	if lang == "" {
		return api.Result{}, pgerror.New("42P13", "no language specified")
	}
	if lang != "sql" {
		return api.Result{}, pgerror.Unsupported("language %q is not supported: only LANGUAGE SQL functions", lang)
	}
	if strings.TrimSpace(f.Body) == "" {
		return api.Result{}, pgerror.New("42P13", "no function body specified")
	}
	pl := s.newPlanner(nil)
	if err := pl.ValidateFunction(f); err != nil {
		return api.Result{}, err
	}
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	existed := false
	for _, o := range s.e.cat.Functions(f.Schema, f.Name) {
		existed = existed || sameTypes(o.ArgTypes(), f.ArgTypes())
	}
	id, err := s.e.cat.AddFunction(f, c.Replace)
	if err != nil {
		return api.Result{}, err
	}
	if !existed {
		s.recordUndo(undoEntry{kind: undoCreate, table: id})
	}
	return api.Result{Tag: "CREATE FUNCTION"}, nil
}

// undoCreateFunction drops a function created by a rolled-back
// transaction, with any views created on it (writeMu held).
func (s *Session) undoCreateFunction(id catalog.ObjectID) {
	for _, d := range s.e.cat.Dependents(id) {
		s.removeRelation(d)
	}
	s.e.cat.RemoveFunction(id)
}

// dropFunctions runs DROP FUNCTION [IF EXISTS] name[(types)], … [CASCADE].
func (s *Session) dropFunctions(d *pg_query.DropStmt) (api.Result, error) {
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	cascade := d.Behavior == pg_query.DropBehavior_DROP_CASCADE
	var notices []string
	// Resolve every name first so a failing one drops nothing.
	var victims []*catalog.Function
	for _, o := range d.Objects {
		owa := o.GetObjectWithArgs()
		if owa == nil {
			return api.Result{}, pgerror.Internal("unexpected DROP FUNCTION object %T", o.Node)
		}
		f, notice, err := s.resolveDropFunction(owa, d.MissingOk)
		if err != nil {
			return api.Result{}, err
		}
		if notice != "" {
			notices = append(notices, notice)
		}
		if f != nil {
			victims = append(victims, f)
		}
	}
	for _, f := range victims {
		deps := s.e.cat.Dependents(f.ID)
		if len(deps) > 0 && !cascade {
			last := deps[len(deps)-1]
			return api.Result{}, pgerror.New(pgerror.DependentObjectsStillExist, "cannot drop function %s because other objects depend on it", f.Signature()).
				WithDetail("%s %s depends on function %s", last.RelKind(), last.RelName(), f.Signature()).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
	}
	for _, f := range victims {
		for _, r := range s.e.cat.Dependents(f.ID) {
			s.removeRelation(r)
		}
		s.e.cat.RemoveFunction(f.ID)
	}
	return api.Result{Tag: "DROP FUNCTION", Notices: notices}, nil
}

// resolveDropFunction finds the function a DROP FUNCTION item names.
func (s *Session) resolveDropFunction(owa *pg_query.ObjectWithArgs, missingOK bool) (*catalog.Function, string, error) {
	names := make([]string, 0, len(owa.Objname))
	for _, n := range owa.Objname {
		names = append(names, strVal(n))
	}
	schema, name := "", names[len(names)-1]
	if len(names) > 1 {
		schema = names[len(names)-2]
	}
	var argTypes []types.T
	if !owa.ArgsUnspecified {
		for _, a := range owa.Objargs {
			tn := a.GetTypeName()
			if tn == nil {
				return nil, "", pgerror.Internal("unexpected function argument %T", a.Node)
			}
			t, err := planner.ResolveTypeName(tn)
			if err != nil {
				return nil, "", err
			}
			argTypes = append(argTypes, t)
		}
	}
	cands := s.e.cat.Functions(schema, name)
	var match []*catalog.Function
	for _, f := range cands {
		if owa.ArgsUnspecified || sameTypes(f.ArgTypes(), argTypes) {
			match = append(match, f)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], "", nil
	case len(match) > 1:
		return nil, "", pgerror.New("42725", "function name %q is not unique", name).
			WithHint("Specify the argument list to select the function unambiguously.")
	}
	what := name
	if !owa.ArgsUnspecified {
		parts := make([]string, len(argTypes))
		for i, t := range argTypes {
			parts[i] = t.String()
		}
		what = name + "(" + strings.Join(parts, ", ") + ")"
	}
	if missingOK {
		return nil, fmt.Sprintf("function %s does not exist, skipping", what), nil
	}
	return nil, "", pgerror.New(pgerror.UndefinedFunction, "function %s does not exist", what)
}

func sameTypes(a, b []types.T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Unmodified() != b[i].Unmodified() {
			return false
		}
	}
	return true
}

// referencedFunctions lists the user-defined functions a query calls by
// name (any overload), so views depend on them.
func (s *Session) referencedFunctions(n *pg_query.Node) []catalog.ObjectID {
	if !s.e.cat.HasFunctions() {
		return nil
	}
	var ids []catalog.ObjectID
	seen := map[catalog.ObjectID]bool{}
	var walk func(any)
	walk = func(x any) {
		v, ok := x.(*pg_query.Node)
		if !ok || v == nil {
			return
		}
		if fc := v.GetFuncCall(); fc != nil {
			schema, name := "", strings.ToLower(strVal(fc.Funcname[len(fc.Funcname)-1]))
			if len(fc.Funcname) == 2 {
				schema = strVal(fc.Funcname[0])
			}
			for _, f := range s.e.cat.Functions(schema, name) {
				if len(f.Args) == len(fc.Args) && !seen[f.ID] {
					seen[f.ID] = true
					ids = append(ids, f.ID)
				}
			}
		}
		walkProto(v, walk)
	}
	walk(n)
	return ids
}
