// Package planner turns parsed statements into plans: the binder resolves
// names and types (PostgreSQL's rules for coercion and overload resolution),
// builds a logical plan, and the optimizer's rules rewrite it into the
// physical plan exec's builder runs.
//
//	pg_query AST ──bind──▶ logical plan ──rules──▶ physical plan ──(exec.Build)──▶ operators
//	                 │
//	                 └── scopes: FROM columns, outer query levels, CTEs
//
// Binding order for a SELECT follows PostgreSQL: FROM, WHERE, GROUP BY and
// aggregates, HAVING, window functions, the select list, DISTINCT, ORDER BY,
// LIMIT/OFFSET.
//
// Invariants:
//  1. Binding and type coercion happen before rewrite rules, never inside
//     them; every Expr handed to exec has its final type and its function
//     overload resolved.
//  2. Column references are positions in the input schema of the node that
//     owns the expression; OuterRef depths count query levels outward.
//  3. The planner never sees pgwire or storage; it reads the catalog only.
//  4. An ASOF join (JoinAsOf, JoinAsOfLeft) keeps its one inequality,
//     normalised to left OP right, as Cond; rules never push filters into
//     it, reorder it or prune its right input's columns (asof.go).
package planner
