// Package exec is SabotSQL's batch executor: it compiles bound expressions
// into vectorized evaluators, turns physical plan nodes into pull-based
// operators over Arrow record batches (Build), and runs them (Collect).
//
// Operators follow the Operator contract in operator.go: Init once, Next
// until nil, Close always. Buffering operators (hash aggregate, hash and
// nested-loop join build sides, sort, top-N, window, distinct/set-op key
// sets, materialized subquery results) reserve memory in the statement's
// MemAccount before growing and give it back on Close; exceeding the limit
// fails the statement with SQLSTATE 53200. Every operator checks its
// context once per batch; cancellation surfaces as SQLSTATE 57014.
//
//	planner.Node ──Build──▶ Operator tree ──Init/Next/Close──▶ arrow.RecordBatch
//	planner.Expr ──Compile─▶ Evaluator ──Eval(batch)──▶ arrow.Array
//
// Files by concern: expr*.go and subquery.go (evaluation), one file per
// operator (scan, values, filter, project, aggregate, hashjoin, nestedloop,
// asof, sort, topn, limit, distinct, setop, window, tablefunc), builder.go,
// base.go (shared operator plumbing), memory.go and operator.go (contracts).
// Correlated subqueries are re-planned per distinct combination of the outer
// values they read (bound as constants through Env's stack of outer rows)
// and memoized; uncorrelated ones run once per evaluator.
//
// Invariants:
//  1. A batch returned by Next is owned by the operator and valid until the
//     next Next/Close; consumers Retain what they keep. Evaluator results
//     are owned by the caller.
//  2. Returned batches are never empty; nil means the input is exhausted.
//  3. SQL three-valued logic: AND/OR/NOT/IN/ANY/ALL yield NULL exactly as
//     PostgreSQL does; Filter keeps only rows whose condition is true.
//  4. Lazily evaluated constructs (CASE arms, COALESCE arguments, the later
//     operands of AND/OR) are evaluated only on the rows that reach them,
//     so guarded errors (division by zero) are not raised.
//  5. NULL join keys never match; GROUP BY, DISTINCT and set operations
//     treat NULLs as equal.
//  6. No panic is reachable from user data; user errors are *pgerror.Error.
package exec
