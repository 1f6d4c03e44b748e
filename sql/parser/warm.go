package parser

import pg_query "github.com/pganalyze/pg_query_go/v6"

var _ = pg_query.Parse
