//go:build tools

// Package sabotsql pins modules that packages start using during parallel
// development, so go.mod stays stable.
package sabotsql

import (
	_ "github.com/cockroachdb/datadriven"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgproto3"
	_ "github.com/jackc/pgx/v5/pgtype"
	_ "github.com/stretchr/testify/require"
)
