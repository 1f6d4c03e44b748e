// Package parser turns SQL text into statements: PostgreSQL's own grammar
// (through pg_query_go, the real PostgreSQL 17 parser) plus a token-level
// pass for the statements and clauses the PostgreSQL grammar lacks.
//
// The token pass scans the whole input once (pg_query.Scan gives token
// offsets), splits it into statements at top-level semicolons, recognises
// SabotSQL statements by their leading tokens (FLUSH, …) and cuts streaming
// clauses out of otherwise-PostgreSQL statements before handing the rest to
// pg_query.Parse. ASOF [LEFT] JOIN is the one clause that stays in the tree:
// the ASOF word is blanked and the join's ON condition wrapped in the marker
// call sabotsql_internal.asof(…) (asof.go), which survives deparsing into
// stored view text.
//
// Invariants:
//  1. Every error returned is a *pgerror.Error; syntax errors have SQLSTATE
//     42601 and a 1-based character Position into the original input.
//  2. Statement.SQL is the exact text of the statement in the input (without
//     the terminating semicolon) and Statement.Offset its byte offset.
//  3. The parser never consults the catalog.
package parser
