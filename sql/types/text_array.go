package types

import (
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// appendArray renders a one-dimensional array as {e1,e2,NULL}, quoting
// elements that are empty, spell NULL, or contain whitespace, braces,
// commas, double quotes or backslashes.
func appendArray(buf []byte, c *Ctx, a *Array) []byte {
	buf = append(buf, '{')
	var scratch []byte
	for i, e := range a.Elems {
		if i > 0 {
			buf = append(buf, ',')
		}
		if e == nil {
			buf = append(buf, "NULL"...)
			continue
		}
		scratch = AppendText(scratch[:0], c, e, a.Elem)
		if !needsArrayQuote(scratch) {
			buf = append(buf, scratch...)
			continue
		}
		buf = append(buf, '"')
		for _, ch := range scratch {
			if ch == '"' || ch == '\\' {
				buf = append(buf, '\\')
			}
			buf = append(buf, ch)
		}
		buf = append(buf, '"')
	}
	return append(buf, '}')
}

func needsArrayQuote(s []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) == 4 && strings.EqualFold(string(s), "null") {
		return true
	}
	for _, ch := range s {
		switch ch {
		case '{', '}', ',', '"', '\\':
			return true
		}
		if isPGSpace(ch) {
			return true
		}
	}
	return false
}

func errMalformedArray(s, detail string) error {
	return pgerror.New(pgerror.InvalidTextRepresentation, "malformed array literal: \"%s\"", s).WithDetail("%s", detail)
}

// parseArray implements array_in for one-dimensional arrays: {a,"b c",NULL}
// with optional whitespace around elements and backslash escapes.
func parseArray(c *Ctx, s string, t T) (Datum, error) {
	et := t.ElemType()
	str := trimPGSpace(s)
	if str == "" || str[0] != '{' {
		if str != "" && str[0] == '[' {
			return nil, pgerror.Unsupported("array dimension decorations are not supported")
		}
		return nil, errMalformedArray(s, `Array value must start with "{" or dimension information.`)
	}
	out := &Array{Elem: et, Elems: []Datum{}}
	i := 1
	skip := func() {
		for i < len(str) && isPGSpace(str[i]) {
			i++
		}
	}
	skip()
	if i < len(str) && str[i] == '}' {
		i++
		skip()
		if i != len(str) {
			return nil, errMalformedArray(s, "Junk after closing right brace.")
		}
		return out, nil
	}
	var elem []byte
	for {
		skip()
		if i >= len(str) {
			return nil, errMalformedArray(s, "Unexpected end of input.")
		}
		if str[i] == '{' {
			if !wellFormedNested(str) {
				return nil, errMalformedArray(s, `Unexpected "{" character.`)
			}
			return nil, pgerror.Unsupported("multidimensional arrays are not supported")
		}
		elem = elem[:0]
		quoted := false
		sawQuote := false
		trailingSpace := 0
		for {
			if i >= len(str) {
				return nil, errMalformedArray(s, "Unexpected end of input.")
			}
			ch := str[i]
			if quoted {
				switch ch {
				case '\\':
					if i+1 >= len(str) {
						return nil, errMalformedArray(s, "Unexpected end of input.")
					}
					elem = append(elem, str[i+1])
					i += 2
				case '"':
					quoted = false
					i++
				default:
					elem = append(elem, ch)
					i++
				}
				continue
			}
			if ch == ',' || ch == '}' {
				break
			}
			switch {
			case ch == '"':
				if sawQuote || len(elem) > 0 {
					return nil, errMalformedArray(s, `Unexpected """ character.`)
				}
				quoted, sawQuote = true, true
				i++
			case ch == '\\':
				if i+1 >= len(str) {
					return nil, errMalformedArray(s, "Unexpected end of input.")
				}
				elem = append(elem, str[i+1])
				trailingSpace = 0
				i += 2
			case ch == '{':
				if wellFormedNested(str) {
					return nil, pgerror.Unsupported("multidimensional arrays are not supported")
				}
				return nil, errMalformedArray(s, `Unexpected "{" character.`)
			case isPGSpace(ch):
				if len(elem) > 0 || sawQuote {
					elem = append(elem, ch)
					trailingSpace++
				}
				i++
			default:
				if sawQuote {
					return nil, errMalformedArray(s, "Incorrectly quoted array element.")
				}
				elem = append(elem, ch)
				trailingSpace = 0
				i++
			}
		}
		if trailingSpace > 0 {
			elem = elem[:len(elem)-trailingSpace]
		}
		if !sawQuote && len(elem) == 0 {
			return nil, errMalformedArray(s, "Unexpected \""+string(str[i])+"\" character.")
		}
		if !sawQuote && strings.EqualFold(string(elem), "null") {
			out.Elems = append(out.Elems, nil)
		} else {
			d, err := ParseText(c, string(elem), et)
			if err != nil {
				return nil, err
			}
			out.Elems = append(out.Elems, d)
		}
		if str[i] == '}' {
			i++
			skip()
			if i != len(str) {
				return nil, errMalformedArray(s, "Junk after closing right brace.")
			}
			return out, nil
		}
		i++ // ','
	}
}

// wellFormedNested reports whether s (trimmed, starting with '{') is a
// syntactically valid multidimensional array literal, so that such input
// is reported as unsupported rather than malformed: braces balance (outside
// quotes), no element is empty, a level holding sub-arrays holds nothing
// else, and nothing follows the closing brace.
func wellFormedNested(s string) bool {
	depth := 0
	// per level: 0 nothing yet, 1 holds sub-arrays, 2 holds elements
	kinds := make([]int, 0, 4)
	expectItem := false // just after '{' or ','
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isPGSpace(c):
			continue
		case c == '{':
			if depth > 0 {
				if !expectItem || kinds[depth-1] == 2 {
					return false
				}
				kinds[depth-1] = 1
			} else if i != 0 {
				return false
			}
			depth++
			kinds = append(kinds[:depth-1], 0)
			expectItem = true
		case c == '}':
			if depth == 0 || (expectItem && kinds[depth-1] != 0) {
				return false
			}
			depth--
			kinds = kinds[:depth]
			expectItem = false
			if depth == 0 {
				return strings.TrimLeft(s[i+1:], " \t\n\r\v\f") == ""
			}
		case c == ',':
			if expectItem || depth == 0 {
				return false
			}
			expectItem = true
		default:
			if depth == 0 || !expectItem || kinds[depth-1] == 1 {
				return false
			}
			kinds[depth-1] = 2
			// Skip the element (quoted or not).
			if c == '"' {
				i++
				for i < len(s) && s[i] != '"' {
					if s[i] == '\\' {
						i++
					}
					i++
				}
				if i >= len(s) {
					return false
				}
			} else {
				for i+1 < len(s) && s[i+1] != ',' && s[i+1] != '}' && s[i+1] != '{' && s[i+1] != '"' {
					if s[i+1] == '\\' {
						i++
					}
					i++
				}
			}
			expectItem = false
		}
	}
	return false
}
