package planner

import (
	"fmt"
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Expr is a bound scalar expression. Column references are positions in the
// input schema of the node that owns the expression. Expressions are
// immutable once built.
type Expr interface {
	Type() types.T
	String() string
}

// ColRef reads column Idx of the owning node's input row.
type ColRef struct {
	Idx  int
	T    types.T
	Name string // for EXPLAIN only
}

// OuterRef reads column Idx of an enclosing query's row, Depth levels out
// (1 = the immediately enclosing query). It appears only inside a subquery
// plan; the executor binds it when it runs the subquery for an outer row.
type OuterRef struct {
	Depth int
	Idx   int
	T     types.T
	Name  string
}

// Param is a $n placeholder (Idx is 0-based: $1 → 0). Its type is the
// inferred or declared parameter type.
type Param struct {
	Idx int
	T   types.T
}

// Const is a literal; Val is a Datum of type T (nil for NULL).
type Const struct {
	Val types.Datum
	T   types.T
}

// Call applies a resolved scalar function or operator. Args already have the
// function's declared types (the binder inserted casts).
type Call struct {
	Fn   *kernels.ScalarFunc
	Args []Expr
	T    types.T
}

// Cast converts E to To. Explicit distinguishes CAST/:: from assignment and
// implicit coercions (they differ for varchar(n) truncation).
type Cast struct {
	E        Expr
	To       types.T
	Explicit bool
}

// And is the n-ary three-valued conjunction.
type And struct{ Args []Expr }

// Or is the n-ary three-valued disjunction.
type Or struct{ Args []Expr }

// Not is three-valued negation.
type Not struct{ E Expr }

// IsNull tests for NULL (IS NULL, or IS NOT NULL when Negate).
type IsNull struct {
	E      Expr
	Negate bool
}

// IsBool is IS [NOT] TRUE / FALSE / UNKNOWN: never NULL.
type IsBool struct {
	E      Expr
	Test   BoolTest
	Negate bool
}

// BoolTest names the value IsBool tests for.
type BoolTest uint8

// Boolean tests.
const (
	TestTrue BoolTest = iota
	TestFalse
	TestUnknown
)

// IsDistinct is IS [NOT] DISTINCT FROM: NULL-safe (in)equality.
type IsDistinct struct {
	L, R   Expr
	Negate bool // IS NOT DISTINCT FROM
	// Eq is the resolved "=" operator for the common type of L and R.
	Eq *kernels.ScalarFunc
}

// Case is a searched CASE (a simple CASE is rewritten to one by the binder).
type Case struct {
	Whens []When
	Else  Expr // nil means NULL
	T     types.T
}

// When is one WHEN cond THEN result arm.
type When struct{ Cond, Result Expr }

// Coalesce returns its first non-NULL argument (evaluated lazily).
type Coalesce struct {
	Args []Expr
	T    types.T
}

// MinMax is GREATEST (Greatest=true) or LEAST: NULLs are ignored.
type MinMax struct {
	Args     []Expr
	Greatest bool
	T        types.T
}

// InList is E [NOT] IN (List...). Eq is the resolved "=" for the common type.
// Three-valued: NULL when no match and E or any element is NULL.
type InList struct {
	E      Expr
	List   []Expr
	Negate bool
	Eq     *kernels.ScalarFunc
}

// SubqueryKind says how a subquery's rows become a value.
type SubqueryKind uint8

// Subquery kinds.
const (
	SubScalar SubqueryKind = iota // (SELECT x ...): one column, ≤1 row (else 21000), NULL when empty
	SubExists                     // EXISTS (SELECT ...)
	SubAny                        // L op ANY (SELECT x ...), also L IN (SELECT ...)
	SubAll                        // L op ALL (SELECT x ...), also L NOT IN (SELECT ...) as <> ALL
	SubArray                      // ARRAY(SELECT x ...)
)

// Subquery evaluates Plan, whose OuterRefs (Depth 1) read the current row of
// the node owning this expression. Correlated is false when Plan has no
// OuterRef of depth ≥ 1 that resolves to this level, so the executor may run
// it once and cache the result.
type Subquery struct {
	Kind       SubqueryKind
	Plan       Node
	Correlated bool
	// For SubAny/SubAll: Left op first-column, with Op resolved for the
	// common type.
	Left Expr
	Op   *kernels.ScalarFunc
	T    types.T
}

// AggRef and WindowRef never reach the executor: the binder replaces them
// with ColRefs into Aggregate/Window output.

// Type implementations.
func (e *ColRef) Type() types.T     { return e.T }
func (e *OuterRef) Type() types.T   { return e.T }
func (e *Param) Type() types.T      { return e.T }
func (e *Const) Type() types.T      { return e.T }
func (e *Call) Type() types.T       { return e.T }
func (e *Cast) Type() types.T       { return e.To }
func (e *And) Type() types.T        { return types.BoolT }
func (e *Or) Type() types.T         { return types.BoolT }
func (e *Not) Type() types.T        { return types.BoolT }
func (e *IsNull) Type() types.T     { return types.BoolT }
func (e *IsBool) Type() types.T     { return types.BoolT }
func (e *IsDistinct) Type() types.T { return types.BoolT }
func (e *Case) Type() types.T       { return e.T }
func (e *Coalesce) Type() types.T   { return e.T }
func (e *MinMax) Type() types.T     { return e.T }
func (e *InList) Type() types.T     { return types.BoolT }
func (e *Subquery) Type() types.T   { return e.T }

func (e *ColRef) String() string {
	if e.Name != "" {
		return fmt.Sprintf("%s#%d", e.Name, e.Idx)
	}
	return fmt.Sprintf("#%d", e.Idx)
}
func (e *OuterRef) String() string { return fmt.Sprintf("outer(%d).%s#%d", e.Depth, e.Name, e.Idx) }
func (e *Param) String() string    { return fmt.Sprintf("$%d", e.Idx+1) }
func (e *Const) String() string {
	if e.Val == nil {
		return "NULL"
	}
	return fmt.Sprintf("%v", e.Val)
}
func (e *Call) String() string { return fmt.Sprintf("%s(%s)", e.Fn.Name, exprList(e.Args)) }
func (e *Cast) String() string { return fmt.Sprintf("CAST(%s AS %s)", e.E, e.To) }
func (e *And) String() string  { return "(" + joinExprs(e.Args, " AND ") + ")" }
func (e *Or) String() string   { return "(" + joinExprs(e.Args, " OR ") + ")" }
func (e *Not) String() string  { return fmt.Sprintf("NOT %s", e.E) }
func (e *IsNull) String() string {
	if e.Negate {
		return fmt.Sprintf("%s IS NOT NULL", e.E)
	}
	return fmt.Sprintf("%s IS NULL", e.E)
}
func (e *IsBool) String() string {
	n := ""
	if e.Negate {
		n = "NOT "
	}
	return fmt.Sprintf("%s IS %s%s", e.E, n, [...]string{"TRUE", "FALSE", "UNKNOWN"}[e.Test])
}
func (e *IsDistinct) String() string {
	if e.Negate {
		return fmt.Sprintf("%s IS NOT DISTINCT FROM %s", e.L, e.R)
	}
	return fmt.Sprintf("%s IS DISTINCT FROM %s", e.L, e.R)
}
func (e *Case) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, w := range e.Whens {
		fmt.Fprintf(&sb, " WHEN %s THEN %s", w.Cond, w.Result)
	}
	if e.Else != nil {
		fmt.Fprintf(&sb, " ELSE %s", e.Else)
	}
	sb.WriteString(" END")
	return sb.String()
}
func (e *Coalesce) String() string { return "COALESCE(" + exprList(e.Args) + ")" }
func (e *MinMax) String() string {
	if e.Greatest {
		return "GREATEST(" + exprList(e.Args) + ")"
	}
	return "LEAST(" + exprList(e.Args) + ")"
}
func (e *InList) String() string {
	n := ""
	if e.Negate {
		n = "NOT "
	}
	return fmt.Sprintf("%s %sIN (%s)", e.E, n, exprList(e.List))
}
func (e *Subquery) String() string {
	return fmt.Sprintf("subquery[%d](%s)", e.Kind, e.Plan.Op())
}

func exprList(es []Expr) string { return joinExprs(es, ", ") }

func joinExprs(es []Expr, sep string) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, sep)
}

// ArrayCtor is ARRAY[e1, e2, …] (T is the array type).
type ArrayCtor struct {
	Elems []Expr
	T     types.T
}

// ArraySubscript is arr[i] (1-based; NULL when out of range).
type ArraySubscript struct {
	Array, Index Expr
	T            types.T
}

// ArrayCompare is Left op ANY/ALL (Array) for an array-valued expression,
// with PostgreSQL's three-valued semantics (Kind is SubAny or SubAll).
type ArrayCompare struct {
	Kind  SubqueryKind
	Left  Expr
	Array Expr
	Op    *kernels.ScalarFunc
}

func (e *ArrayCtor) Type() types.T      { return e.T }
func (e *ArraySubscript) Type() types.T { return e.T }
func (e *ArrayCompare) Type() types.T   { return types.BoolT }
func (e *ArrayCtor) String() string     { return "ARRAY[" + exprList(e.Elems) + "]" }
func (e *ArraySubscript) String() string {
	return fmt.Sprintf("%s[%s]", e.Array, e.Index)
}
func (e *ArrayCompare) String() string {
	k := "ANY"
	if e.Kind == SubAll {
		k = "ALL"
	}
	return fmt.Sprintf("%s %s %s(%s)", e.Left, e.Op.Name, k, e.Array)
}
