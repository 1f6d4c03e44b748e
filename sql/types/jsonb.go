package types

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// jsonb values are held as their canonical text (PostgreSQL's jsonb_out):
// object keys sorted by (length, bytes) with duplicates resolved to the
// last value, `{"a": 1, "b": [1, 2]}` spacing, numbers as numeric_out
// prints them, strings re-escaped. Operators and comparisons re-parse the
// text into a jsonNode tree.

// maxJSONDepth bounds nesting (PostgreSQL stops at its stack depth limit).
const maxJSONDepth = 6400

type jsonKind uint8

// The kinds in PostgreSQL's jsonb sort order of scalar types, then arrays
// and objects (Null < String < Number < Boolean < Array < Object).
const (
	jsonNull jsonKind = iota + 1
	jsonString
	jsonNumber
	jsonBool
	jsonArray
	jsonObject
)

// jsonNode is one parsed JSON value.
type jsonNode struct {
	kind  jsonKind
	b     bool
	s     string       // string value
	num   *apd.Decimal // number value
	elems []jsonNode   // array elements, or object values (parallel to keys)
	keys  []string     // object keys in jsonb storage order
}

// errJSONSyntax is PostgreSQL's jsonb input error (22P02).
func errJSONSyntax(detail string, args ...any) error {
	return pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type json").WithDetail(detail, args...)
}

type jsonParser struct {
	s     string
	i     int
	depth int
}

// parseJSON parses JSON text into a tree with jsonb semantics (duplicate
// keys keep the last value; keys sorted by length, then bytes).
func parseJSON(s string) (jsonNode, error) {
	if err := validText(s); err != nil {
		return jsonNode{}, err
	}
	p := &jsonParser{s: s}
	p.ws()
	if p.i >= len(p.s) {
		return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
	}
	n, err := p.value()
	if err != nil {
		return jsonNode{}, err
	}
	p.ws()
	if p.i < len(p.s) {
		return jsonNode{}, errJSONSyntax("Token %q is invalid.", p.token())
	}
	return n, nil
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// token returns the offending token at p.i for error details.
func (p *jsonParser) token() string {
	j := p.i
	for j < len(p.s) {
		c := p.s[j]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"' {
			break
		}
		j++
	}
	if j == p.i && j < len(p.s) {
		_, w := utf8.DecodeRuneInString(p.s[j:])
		j += w
	}
	return p.s[p.i:j]
}

func (p *jsonParser) value() (jsonNode, error) {
	if p.i >= len(p.s) {
		return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return jsonNode{}, err
		}
		return jsonNode{kind: jsonString, s: s}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	switch tok := p.token(); tok {
	case "true", "false":
		p.i += len(tok)
		return jsonNode{kind: jsonBool, b: tok == "true"}, nil
	case "null":
		p.i += len(tok)
		return jsonNode{kind: jsonNull}, nil
	case "":
		return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
	default:
		return jsonNode{}, errJSONSyntax("Token %q is invalid.", tok)
	}
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxJSONDepth {
		return pgerror.New("54001", "stack depth limit exceeded").
			WithHint("JSON nesting is limited to %d levels.", maxJSONDepth)
	}
	return nil
}

func (p *jsonParser) array() (jsonNode, error) {
	if err := p.enter(); err != nil {
		return jsonNode{}, err
	}
	defer func() { p.depth-- }()
	p.i++ // [
	n := jsonNode{kind: jsonArray}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return n, nil
	}
	for {
		p.ws()
		v, err := p.value()
		if err != nil {
			return jsonNode{}, err
		}
		n.elems = append(n.elems, v)
		p.ws()
		if p.i >= len(p.s) {
			return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return n, nil
		default:
			return jsonNode{}, errJSONSyntax("Expected \",\" or \"]\", but found %q.", p.token())
		}
	}
}

func (p *jsonParser) object() (jsonNode, error) {
	if err := p.enter(); err != nil {
		return jsonNode{}, err
	}
	defer func() { p.depth-- }()
	p.i++ // {
	n := jsonNode{kind: jsonObject}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return n, nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) {
			return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
		}
		if p.s[p.i] != '"' {
			return jsonNode{}, errJSONSyntax("Expected string, but found %q.", p.token())
		}
		k, err := p.str()
		if err != nil {
			return jsonNode{}, err
		}
		p.ws()
		if p.i >= len(p.s) {
			return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
		}
		if p.s[p.i] != ':' {
			return jsonNode{}, errJSONSyntax("Expected \":\", but found %q.", p.token())
		}
		p.i++
		p.ws()
		v, err := p.value()
		if err != nil {
			return jsonNode{}, err
		}
		n.keys = append(n.keys, k)
		n.elems = append(n.elems, v)
		p.ws()
		if p.i >= len(p.s) {
			return jsonNode{}, errJSONSyntax("The input string ended unexpectedly.")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			n.sortKeys()
			return n, nil
		default:
			return jsonNode{}, errJSONSyntax("Expected \",\" or \"}\", but found %q.", p.token())
		}
	}
}

// jsonKeyLess is jsonb's key order: shorter keys first, then bytewise.
func jsonKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// sortKeys orders an object's pairs by key (stable, so the last of
// duplicate keys is last) and keeps only the last of duplicates.
func (n *jsonNode) sortKeys() {
	sorted := true
	for i := 1; i < len(n.keys) && sorted; i++ {
		sorted = jsonKeyLess(n.keys[i-1], n.keys[i])
	}
	if sorted {
		return // canonical text re-parsed: already in order, no duplicates
	}
	idx := make([]int, len(n.keys))
	for i := range idx {
		idx[i] = i
	}
	// Insertion sort is stable and objects are usually small; fall back to
	// a merge-based stable sort for large ones.
	stableSortInts(idx, func(a, b int) bool { return jsonKeyLess(n.keys[a], n.keys[b]) })
	keys := make([]string, 0, len(idx))
	vals := make([]jsonNode, 0, len(idx))
	for j, i := range idx {
		if j+1 < len(idx) && n.keys[idx[j+1]] == n.keys[i] {
			continue // a later duplicate wins
		}
		keys = append(keys, n.keys[i])
		vals = append(vals, n.elems[i])
	}
	n.keys, n.elems = keys, vals
}

func stableSortInts(xs []int, less func(a, b int) bool) {
	if len(xs) <= 12 {
		for i := 1; i < len(xs); i++ {
			for j := i; j > 0 && less(xs[j], xs[j-1]); j-- {
				xs[j], xs[j-1] = xs[j-1], xs[j]
			}
		}
		return
	}
	mid := len(xs) / 2
	left := append([]int(nil), xs[:mid]...)
	right := append([]int(nil), xs[mid:]...)
	stableSortInts(left, less)
	stableSortInts(right, less)
	i, j, k := 0, 0, 0
	for i < len(left) && j < len(right) {
		if less(right[j], left[i]) {
			xs[k] = right[j]
			j++
		} else {
			xs[k] = left[i]
			i++
		}
		k++
	}
	k += copy(xs[k:], left[i:])
	copy(xs[k:], right[j:])
}

func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	var sb strings.Builder
	start := p.i
	for {
		if p.i >= len(p.s) {
			return "", errJSONSyntax("The input string ended unexpectedly.")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			sb.WriteString(p.s[start:p.i])
			p.i++
			return sb.String(), nil
		case c < 0x20:
			return "", errJSONSyntax("Character with value 0x%02x must be escaped.", c)
		case c == '\\':
			sb.WriteString(p.s[start:p.i])
			if err := p.escape(&sb); err != nil {
				return "", err
			}
			start = p.i
		default:
			p.i++
		}
	}
}

// escape decodes one backslash escape at p.i into sb.
func (p *jsonParser) escape(sb *strings.Builder) error {
	p.i++ // backslash
	if p.i >= len(p.s) {
		return errJSONSyntax("The input string ended unexpectedly.")
	}
	c := p.s[p.i]
	p.i++
	switch c {
	case '"', '\\', '/':
		sb.WriteByte(c)
	case 'b':
		sb.WriteByte('\b')
	case 'f':
		sb.WriteByte('\f')
	case 'n':
		sb.WriteByte('\n')
	case 'r':
		sb.WriteByte('\r')
	case 't':
		sb.WriteByte('\t')
	case 'u':
		r, err := p.hex4()
		if err != nil {
			return err
		}
		switch {
		case r == 0:
			return pgerror.New("22P05", "unsupported Unicode escape sequence").WithDetail("\\u0000 cannot be converted to text.")
		case utf16.IsSurrogate(r) && r < 0xDC00:
			if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
				p.i += 2
				lo, err := p.hex4()
				if err != nil {
					return err
				}
				if lo < 0xDC00 || lo > 0xDFFF {
					return errJSONSyntax("Unicode high surrogate must not follow a high surrogate.")
				}
				sb.WriteRune(utf16.DecodeRune(r, lo))
				return nil
			}
			return errJSONSyntax("Unicode low surrogate must follow a high surrogate.")
		case r >= 0xDC00 && r <= 0xDFFF:
			return errJSONSyntax("Unicode low surrogate must follow a high surrogate.")
		}
		sb.WriteRune(r)
	default:
		p.i--
		_, w := utf8.DecodeRuneInString(p.s[p.i:])
		tok := p.s[p.i-1 : p.i+w]
		return errJSONSyntax("Escape sequence %q is invalid.", tok)
	}
	return nil
}

func (p *jsonParser) hex4() (rune, error) {
	if p.i+4 > len(p.s) {
		return 0, errJSONSyntax("\"\\u\" must be followed by four hexadecimal digits.")
	}
	var r rune
	for k := 0; k < 4; k++ {
		h, ok := unhex(p.s[p.i+k])
		if !ok {
			return 0, errJSONSyntax("\"\\u\" must be followed by four hexadecimal digits.")
		}
		r = r<<4 | rune(h)
	}
	p.i += 4
	return r, nil
}

// number parses a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() (jsonNode, error) {
	start := p.i
	bad := func() (jsonNode, error) {
		p.i = start
		return jsonNode{}, errJSONSyntax("Token %q is invalid.", p.token())
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.s[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return bad()
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return bad()
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return bad()
		}
	}
	// A number glued to letters or digits ("01", "1x") is one bad token.
	if p.i < len(p.s) {
		c := p.s[p.i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '.' || c >= 0x80 {
			return bad()
		}
	}
	d, err := parseNumeric(p.s[start:p.i], NumericT)
	if err != nil {
		return jsonNode{}, err
	}
	return jsonNode{kind: jsonNumber, num: d}, nil
}

// appendJSON appends n's canonical jsonb text.
func appendJSON(buf []byte, n *jsonNode) []byte {
	switch n.kind {
	case jsonNull:
		return append(buf, "null"...)
	case jsonBool:
		if n.b {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case jsonNumber:
		return appendNumeric(buf, n.num)
	case jsonString:
		return appendJSONString(buf, n.s)
	case jsonArray:
		buf = append(buf, '[')
		for i := range n.elems {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			buf = appendJSON(buf, &n.elems[i])
		}
		return append(buf, ']')
	case jsonObject:
		buf = append(buf, '{')
		for i := range n.elems {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			buf = appendJSONString(buf, n.keys[i])
			buf = append(buf, ": "...)
			buf = appendJSON(buf, &n.elems[i])
		}
		return append(buf, '}')
	}
	return buf
}

// appendJSONString appends s as a JSON string literal, escaped as
// PostgreSQL's escape_json does.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			if c < 0x20 {
				buf = append(buf, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			} else {
				buf = append(buf, c)
			}
		}
	}
	return append(buf, '"')
}

// ParseJSONB parses JSON text and returns its canonical jsonb text (the
// Datum of a jsonb value). Errors are 22P02 (syntax), 22P05 (\u0000),
// 22003 (number out of numeric range) or 54001 (nesting too deep).
func ParseJSONB(s string) (string, error) {
	n, err := parseJSON(s)
	if err != nil {
		return "", err
	}
	return string(appendJSON(nil, &n)), nil
}

// jsonDatum parses a jsonb Datum (canonical text).
func jsonDatum(d Datum) (jsonNode, error) {
	s, ok := d.(string)
	if !ok {
		return jsonNode{}, errBadDatum(d, JSONBT)
	}
	return parseJSON(s)
}

// JSONB is a parsed jsonb value for the jsonb operators and functions.
type JSONB struct{ n jsonNode }

// ParseJSONBDatum parses a jsonb Datum (canonical text).
func ParseJSONBDatum(d Datum) (JSONB, error) {
	n, err := jsonDatum(d)
	return JSONB{n}, err
}

// Datum returns the value's canonical text, the jsonb Datum.
func (j JSONB) Datum() string { return string(appendJSON(nil, &j.n)) }

// Typeof returns jsonb_typeof's answer: object, array, string, number,
// boolean or null.
func (j JSONB) Typeof() string {
	switch j.n.kind {
	case jsonObject:
		return "object"
	case jsonArray:
		return "array"
	case jsonString:
		return "string"
	case jsonNumber:
		return "number"
	case jsonBool:
		return "boolean"
	}
	return "null"
}

// Field returns the value under key of an object (-> text); ok is false
// when j is not an object or has no such key.
func (j JSONB) Field(key string) (JSONB, bool) {
	if j.n.kind != jsonObject {
		return JSONB{}, false
	}
	for i, k := range j.n.keys {
		if k == key {
			return JSONB{j.n.elems[i]}, true
		}
	}
	return JSONB{}, false
}

// Index returns element i of an array (-> int; negative counts from the
// end); ok is false when j is not an array or i is out of range.
//
// A scalar behaves as a one-element array, as PostgreSQL stores a raw
// scalar that way ('"s"'::jsonb -> 0 is "s").
func (j JSONB) Index(i int64) (JSONB, bool) {
	if j.n.kind == jsonObject {
		return JSONB{}, false
	}
	if j.n.kind != jsonArray {
		if i == 0 || i == -1 {
			return j, true
		}
		return JSONB{}, false
	}
	n := int64(len(j.n.elems))
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return JSONB{}, false
	}
	return JSONB{j.n.elems[i]}, true
}

// Path follows a #> / #>> path: each step is an object key, or an array
// index written as an integer (negative counts from the end).
func (j JSONB) Path(path []string) (JSONB, bool) {
	cur := j
	for depth, step := range path {
		kind := cur.n.kind
		if depth == 0 && kind != jsonObject {
			kind = jsonArray // a raw scalar is a one-element array
		}
		switch kind {
		case jsonObject:
			next, ok := cur.Field(step)
			if !ok {
				return JSONB{}, false
			}
			cur = next
		case jsonArray:
			i, err := strconv.ParseInt(strings.TrimSpace(step), 10, 64)
			if err != nil {
				return JSONB{}, false
			}
			next, ok := cur.Index(i)
			if !ok {
				return JSONB{}, false
			}
			cur = next
		default:
			return JSONB{}, false
		}
	}
	return cur, true
}

// Text returns the ->> rendering: a string's contents unescaped, NULL
// (ok false) for a JSON null, the canonical text for anything else.
func (j JSONB) Text() (string, bool) {
	switch j.n.kind {
	case jsonNull:
		return "", false
	case jsonString:
		return j.n.s, true
	}
	return j.Datum(), true
}

// Len returns the number of array elements or object pairs (0 for scalars).
func (j JSONB) Len() int { return len(j.n.elems) }

// IsArray and IsObject report the container kind.
func (j JSONB) IsArray() bool  { return j.n.kind == jsonArray }
func (j JSONB) IsObject() bool { return j.n.kind == jsonObject }

// Number returns the value of a JSON number; ok is false for other kinds.
func (j JSONB) Number() (*apd.Decimal, bool) { return j.n.num, j.n.kind == jsonNumber }

// Bool returns the value of a JSON boolean; ok is false for other kinds.
func (j JSONB) Bool() (bool, bool) { return j.n.b, j.n.kind == jsonBool }

// Key encoding of jsonb (one value, after the not-NULL marker):
//
//	top level    0x00 for the empty array (it sorts below every scalar,
//	             as PostgreSQL's historical exception), else the value
//	value        kind byte (1 null, 2 string, 3 number, 4 boolean,
//	             5 array, 6 object), then
//	             string: escaped bytes ended by 0x00 0x01
//	             number: the numeric key encoding
//	             boolean: 0x00 | 0x01
//	             array: 4-byte element count, then the elements
//	             object: 4-byte pair count, then key (escaped bytes)
//	             and value per pair in storage order
//
// This orders values as PostgreSQL's jsonb b-tree does: by kind, containers
// by size before contents, objects by their keys in storage order, numbers
// numerically (1.0 = 1.00), strings bytewise (C collation).
func appendKeyJSON(buf []byte, n *jsonNode, top bool) []byte {
	if top && n.kind == jsonArray && len(n.elems) == 0 {
		return append(buf, 0x00)
	}
	buf = append(buf, byte(n.kind))
	switch n.kind {
	case jsonString:
		return appendKeyBytes(buf, n.s)
	case jsonNumber:
		return appendKeyNumeric(buf, n.num)
	case jsonBool:
		if n.b {
			return append(buf, 1)
		}
		return append(buf, 0)
	case jsonArray:
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(n.elems)))
		for i := range n.elems {
			buf = appendKeyJSON(buf, &n.elems[i], false)
		}
	case jsonObject:
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(n.elems)))
		for i := range n.elems {
			buf = appendKeyBytes(buf, n.keys[i])
			buf = appendKeyJSON(buf, &n.elems[i], false)
		}
	}
	return buf
}

// appendKeyJSONB encodes a jsonb Datum; text that does not parse (never
// produced by ParseJSONB) falls back to its bytes.
func appendKeyJSONB(buf []byte, s string) []byte {
	n, err := parseJSON(s)
	if err != nil {
		return appendKeyBytes(append(buf, 0xFF), s)
	}
	return appendKeyJSON(buf, &n, true)
}

// compareJSONB orders two jsonb Datums as PostgreSQL's jsonb_cmp (with
// strings in C collation).
func compareJSONB(a, b string) int {
	if a == b {
		return 0
	}
	return bytes.Compare(appendKeyJSONB(nil, a), appendKeyJSONB(nil, b))
}

// jsonbToNumeric implements the jsonb → numeric cast family.
func jsonbToNumeric(d Datum, to T) (*apd.Decimal, error) {
	n, err := jsonDatum(d)
	if err != nil {
		return nil, err
	}
	if n.kind != jsonNumber {
		return nil, pgerror.New(pgerror.InvalidParameterValue, "cannot cast jsonb %s to type %s", JSONB{n}.kindName(), typeLabel(to))
	}
	return n.num, nil
}

func (j JSONB) kindName() string {
	switch j.n.kind {
	case jsonObject:
		return "object"
	case jsonArray:
		return "array"
	case jsonString:
		return "string"
	case jsonNumber:
		return "numeric"
	case jsonBool:
		return "boolean"
	}
	return "null"
}

// HasKey implements jsonb ? text: key is a top-level object key, a string
// element of a top-level array, or equals a top-level string scalar.
func (j JSONB) HasKey(key string) bool {
	switch j.n.kind {
	case jsonObject:
		_, ok := j.Field(key)
		return ok
	case jsonArray:
		for i := range j.n.elems {
			if e := &j.n.elems[i]; e.kind == jsonString && e.s == key {
				return true
			}
		}
	case jsonString:
		return j.n.s == key
	}
	return false
}
