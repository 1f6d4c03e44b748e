// Package catalog holds the definitions of SabotSQL's named objects: schemas,
// tables, views, materialized views, roles and SQL-language functions. It
// answers name lookups for the binder and records dependencies so DROP …
// CASCADE/RESTRICT behave as in PostgreSQL.
//
// Functions (function.go) live beside relations: overloads are keyed by
// schema, name and argument types, and their ids share the relation id
// space, so a view's dependency list may name tables, views and functions
// alike.
//
// Invariants:
//  1. Object ids are unique for the life of a data directory and never reused.
//  2. Objects are immutable once published: a change (ALTER, CREATE OR
//     REPLACE FUNCTION) replaces the object with a new version, so a plan
//     holding an old pointer stays valid.
//  3. Every dependency edge points from a dependent (a view) to objects that
//     exist; dropping an object with dependents needs CASCADE (else 2BP01).
//  4. Catalog methods are safe for concurrent use.
//  5. At most one function exists per (schema, name, argument types); a
//     replacement keeps the id and the return type.
package catalog
