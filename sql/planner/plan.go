package planner

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Column describes one output column of a plan node.
type Column struct {
	Name string
	T    types.T
	// Table is the range-table alias the column came from ("" for computed
	// columns); used by the binder for qualified names, shown by EXPLAIN.
	Table string
}

// Schema is the ordered list of a node's output columns.
type Schema []Column

// Types returns the column types.
func (s Schema) Types() []types.T {
	out := make([]types.T, len(s))
	for i, c := range s {
		out[i] = c.T
	}
	return out
}

// Node is a plan node. Nodes do not run themselves: exec's builder turns
// them into operators. Nodes are immutable once the planner returns them.
type Node interface {
	Schema() Schema
	Children() []Node
	Op() string
}

// Scan reads a base table's live rows. Cols selects table columns by
// position (the output schema follows Cols). When RowID is true a final
// int8 column "_rowid" holds each row's storage id (for UPDATE/DELETE).
type Scan struct {
	Table *catalog.Table
	Alias string
	Cols  []int
	RowID bool
	Out   Schema
}

// Values produces literal rows; each row has len(Out) expressions that
// reference no columns (they may contain Params and subqueries).
type Values struct {
	Rows [][]Expr
	Out  Schema
}

// Filter keeps rows where Cond is true (NULL and false drop the row).
type Filter struct {
	Input Node
	Cond  Expr
}

// Project computes Exprs over each input row.
type Project struct {
	Input Node
	Exprs []Expr
	Out   Schema
}

// AggCall is one aggregate computation inside an Aggregate node.
type AggCall struct {
	Fn       *kernels.AggFunc
	Args     []Expr // over the Aggregate's input
	Distinct bool
	Filter   Expr      // FILTER (WHERE …), nil when absent
	OrderBy  []SortKey // ORDER BY inside the call (string_agg(x, ',' ORDER BY y))
	T        types.T   // result type
}

// Aggregate groups its input by GroupBy and computes Aggs per group. Output:
// one column per GroupBy expression, then one per AggCall. With no GroupBy,
// exactly one row is produced even for empty input.
type Aggregate struct {
	Input   Node
	GroupBy []Expr
	Aggs    []AggCall
	Out     Schema
}

// JoinKind is the join type.
type JoinKind uint8

// Join kinds. Semi and Anti output only the left columns.
const (
	JoinInner JoinKind = iota
	JoinLeft
	JoinRight
	JoinFull
	JoinCross
	JoinSemi
	JoinAnti
	// JoinAsOf and JoinAsOfLeft are ASOF [LEFT] JOIN: Cond holds the one
	// inequality, see asof.go and AsOfInequality.
	JoinAsOf
	JoinAsOfLeft
)

// Join combines Left and Right. Output: left columns then right columns
// (only left columns for Semi/Anti). LeftKeys[i] = RightKeys[i] are equality
// conditions (over the left and right schemas respectively; NULL keys never
// match) usable for hashing; Cond is the residual condition over the
// concatenated left+right schema, nil when none.
type Join struct {
	Kind      JoinKind
	Left      Node
	Right     Node
	LeftKeys  []Expr
	RightKeys []Expr
	// KeyFns holds the resolved "=" of each key pair (planner bookkeeping;
	// the executor compares keys by SQL equality of their common type).
	KeyFns []*kernels.ScalarFunc
	Cond   Expr
	Out    Schema
}

// SortKey is one ORDER BY item.
type SortKey struct {
	E          Expr
	Desc       bool
	NullsFirst bool // PostgreSQL default: NULLS LAST for ASC, FIRST for DESC
}

// Sort orders its input (stable).
type Sort struct {
	Input Node
	Keys  []SortKey
}

// Limit skips Offset rows then passes at most Count rows (Count < 0: no limit).
// A Limit directly over a Sort is executed as a top-N.
type Limit struct {
	Input  Node
	Count  int64
	Offset int64
	// CountExpr/OffsetExpr are set instead when the values are parameters
	// or expressions evaluated at run time (must be non-negative integers).
	CountExpr, OffsetExpr Expr
	// WithTies (FETCH FIRST n ROWS WITH TIES) also passes the rows that sort
	// equal to the last one; the input is then a Sort.
	WithTies bool
}

// Distinct removes duplicate rows (all columns, NULLs equal). When On is
// set (DISTINCT ON), it keeps the first row of each group of equal On
// values in input order; the planner puts a Sort below.
type Distinct struct {
	Input Node
	On    []Expr
}

// SetOpKind is UNION / INTERSECT / EXCEPT.
type SetOpKind uint8

// Set operations.
const (
	SetUnion SetOpKind = iota
	SetIntersect
	SetExcept
)

// SetOp combines two inputs with the same column types (the binder casts).
// Without All, duplicates are removed (NULLs equal); with All, multiset
// semantics as in PostgreSQL.
type SetOp struct {
	Kind        SetOpKind
	All         bool
	Left, Right Node
	Out         Schema
}

// WindowFunc names a function evaluated by the Window node.
type WindowCall struct {
	// Name is a ranking/value function (row_number, rank, dense_rank,
	// percent_rank, cume_dist, ntile, lag, lead, first_value, last_value,
	// nth_value) when Agg is nil; otherwise Agg is an aggregate over the frame.
	Name        string
	Agg         *kernels.AggFunc
	Args        []Expr
	Filter      Expr
	PartitionBy []Expr
	OrderBy     []SortKey
	Frame       Frame
	T           types.T
}

// FrameMode is ROWS, RANGE or GROUPS.
type FrameMode uint8

// Frame modes.
const (
	FrameRange FrameMode = iota
	FrameRows
	FrameGroups
)

// BoundKind is a frame bound type.
type BoundKind uint8

// Frame bounds.
const (
	UnboundedPreceding BoundKind = iota
	OffsetPreceding
	CurrentRow
	OffsetFollowing
	UnboundedFollowing
)

// FrameBound is one end of a frame; Offset is a constant expression for
// Offset* kinds (an integer for ROWS/GROUPS, a value or interval for RANGE).
type FrameBound struct {
	Kind   BoundKind
	Offset Expr
}

// Frame is a window frame. The default is RANGE BETWEEN UNBOUNDED
// PRECEDING AND CURRENT ROW (peers included). Exclude is not supported.
type Frame struct {
	Mode       FrameMode
	Start, End FrameBound
}

// Window computes WindowCalls. Output: the input columns, then one column per call.
type Window struct {
	Input Node
	Calls []WindowCall
	Out   Schema
}

// TableFunc is a set-returning function in FROM (generate_series, unnest).
// Args reference no columns of the current query level.
type TableFunc struct {
	Name string
	Args []Expr
	Out  Schema
}

// Schema implementations.
func (n *Scan) Schema() Schema      { return n.Out }
func (n *Values) Schema() Schema    { return n.Out }
func (n *Filter) Schema() Schema    { return n.Input.Schema() }
func (n *Project) Schema() Schema   { return n.Out }
func (n *Aggregate) Schema() Schema { return n.Out }
func (n *Join) Schema() Schema      { return n.Out }
func (n *Sort) Schema() Schema      { return n.Input.Schema() }
func (n *Limit) Schema() Schema     { return n.Input.Schema() }
func (n *Distinct) Schema() Schema  { return n.Input.Schema() }
func (n *SetOp) Schema() Schema     { return n.Out }
func (n *Window) Schema() Schema    { return n.Out }
func (n *TableFunc) Schema() Schema { return n.Out }

// Children implementations.
func (n *Scan) Children() []Node      { return nil }
func (n *Values) Children() []Node    { return nil }
func (n *Filter) Children() []Node    { return []Node{n.Input} }
func (n *Project) Children() []Node   { return []Node{n.Input} }
func (n *Aggregate) Children() []Node { return []Node{n.Input} }
func (n *Join) Children() []Node      { return []Node{n.Left, n.Right} }
func (n *Sort) Children() []Node      { return []Node{n.Input} }
func (n *Limit) Children() []Node     { return []Node{n.Input} }
func (n *Distinct) Children() []Node  { return []Node{n.Input} }
func (n *SetOp) Children() []Node     { return []Node{n.Left, n.Right} }
func (n *Window) Children() []Node    { return []Node{n.Input} }
func (n *TableFunc) Children() []Node { return nil }

// Kind implementations.
func (n *Scan) Op() string      { return "Scan" }
func (n *Values) Op() string    { return "Values" }
func (n *Filter) Op() string    { return "Filter" }
func (n *Project) Op() string   { return "Project" }
func (n *Aggregate) Op() string { return "Aggregate" }
func (n *Join) Op() string      { return "Join" }
func (n *Sort) Op() string      { return "Sort" }
func (n *Limit) Op() string     { return "Limit" }
func (n *Distinct) Op() string  { return "Distinct" }
func (n *SetOp) Op() string     { return "SetOp" }
func (n *Window) Op() string    { return "Window" }
func (n *TableFunc) Op() string { return "TableFunc" }
