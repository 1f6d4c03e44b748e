package pgcatalog

// reservedWords are the keywords that must be quoted as identifiers
// (PostgreSQL's reserved and type/function-name keywords that commonly
// collide with column names).
var reservedWords = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true,
	"asc": true, "asymmetric": true, "both": true, "case": true, "cast": true, "check": true, "collate": true,
	"column": true, "constraint": true, "create": true, "current_catalog": true, "current_date": true,
	"current_role": true, "current_time": true, "current_timestamp": true, "current_user": true,
	"default": true, "deferrable": true, "desc": true, "distinct": true, "do": true, "else": true, "end": true,
	"except": true, "false": true, "fetch": true, "for": true, "foreign": true, "from": true, "grant": true,
	"group": true, "having": true, "in": true, "initially": true, "intersect": true, "into": true,
	"lateral": true, "leading": true, "limit": true, "localtime": true, "localtimestamp": true, "not": true,
	"null": true, "offset": true, "on": true, "only": true, "or": true, "order": true, "placing": true,
	"primary": true, "references": true, "returning": true, "select": true, "session_user": true,
	"some": true, "symmetric": true, "table": true, "then": true, "to": true, "trailing": true, "true": true,
	"union": true, "unique": true, "user": true, "using": true, "variadic": true, "when": true, "where": true,
	"window": true, "with": true, "authorization": true, "binary": true, "collation": true,
	"concurrently": true, "cross": true, "current_schema": true, "freeze": true, "full": true, "ilike": true,
	"inner": true, "is": true, "isnull": true, "join": true, "left": true, "like": true, "natural": true,
	"notnull": true, "outer": true, "overlaps": true, "right": true, "similar": true, "tablesample": true,
	"verbose": true,
}

// quoteIdent quotes an identifier as quote_ident does: unchanged when it
// is lower-case letters, digits, underscores and dollars starting with a
// letter or underscore and is not a reserved word; otherwise in double
// quotes with embedded quotes doubled.
func quoteIdent(s string) string {
	safe := s != "" && !reservedWords[s]
	for i := 0; safe && i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case (c >= '0' && c <= '9' || c == '$') && i > 0:
		default:
			safe = false
		}
	}
	if safe {
		return s
	}
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
