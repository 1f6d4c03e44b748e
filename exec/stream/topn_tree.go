package stream

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// otNode is an entry of ordTree: one distinct row with its multiplicity.
type otNode struct {
	key   string
	plen  int // length of the order prefix of key (ties share it)
	vals  []types.Datum
	cnt   int64 // live copies
	dirty bool  // touched in the current epoch

	// Output bookkeeping of the owning operator: copies emitted and, for
	// GroupTopN, the first rank they were emitted with.
	outN    int64
	outRank int64
}

func (n *otNode) prefix() string { return n.key[:n.plen] }

// ordTree is an order-statistic B+tree of entries keyed by byte strings:
// leaves hold up to btMax entries and are chained for iteration; internal
// nodes hold, per child, a lower bound of its keys and its number of live
// copies, so positions (countBefore, at) cost one descent. Entries whose
// count dropped to 0 stay until removed (their output is retracted first).
// Emptied leaves are unlinked; nodes are not merged otherwise.
type ordTree struct {
	root  *btNode
	count int64 // live copies
	size  int   // entries

	path []*btNode // scratch of add and remove
	idxs []int

	// bytes estimates the memory of the entries (otNodeBytes, key and
	// boxed values each); acct, when set, receives every change of it too
	// (an operator's total over many trees).
	bytes int64
	acct  *int64
}

// entryBytes estimates the memory of one entry of key and vals.
func entryBytes(key string, vals []types.Datum) int64 {
	return otNodeBytes + int64(len(key)) + rowBytes(vals)
}

// charge adds d to the tree's byte estimate (and its operator's).
func (t *ordTree) charge(d int64) {
	t.bytes += d
	if t.acct != nil {
		*t.acct += d
	}
}

// dropAll removes every entry's bytes from the operator's total (the tree
// is being discarded).
func (t *ordTree) dropAll() { t.charge(-t.bytes) }

const btMax = 64

type btNode struct {
	leaf bool
	// Per entry (leaf) or child (internal): the packed prefix and key
	// (internal: a lower bound of the child's keys, above every key of the
	// child before it).
	pfx  []uint64
	keys []string
	ents []*otNode // leaf
	kids []*btNode // internal
	sums []int64   // internal: live copies per child
	prev *btNode   // leaf chain
	next *btNode
}

func newOrdTree() *ordTree { return &ordTree{root: &btNode{leaf: true}} }

// newOrdTreeAcct returns an empty tree whose byte estimate also adds up in
// *acct.
func newOrdTreeAcct(acct *int64) *ordTree {
	t := newOrdTree()
	t.acct = acct
	return t
}

// keyPrefix packs the first 8 bytes of a key (zero-padded) big-endian:
// unequal prefixes order keys as the keys themselves do.
func keyPrefix(key string) uint64 {
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// search returns the first index whose key is ≥ key and whether it is equal.
func (n *btNode) search(pk uint64, key string) (int, bool) {
	lo, hi := 0, len(n.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		c := 0
		switch {
		case n.pfx[m] < pk:
			c = -1
		case n.pfx[m] > pk:
			c = 1
		default:
			c = strings.Compare(n.keys[m], key)
		}
		if c < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.keys) && n.pfx[lo] == pk && n.keys[lo] == key
}

// child returns the index of the child whose range holds key.
func (n *btNode) child(pk uint64, key string) int {
	i, eq := n.search(pk, key)
	if eq || i == 0 {
		return i
	}
	return i - 1
}

func (n *btNode) weight() int64 {
	var w int64
	if n.leaf {
		for _, e := range n.ents {
			w += e.cnt
		}
		return w
	}
	for _, s := range n.sums {
		w += s
	}
	return w
}

// splitOff moves the upper half of n into a new right sibling.
func (n *btNode) splitOff() *btNode {
	h := len(n.keys) / 2
	r := &btNode{leaf: n.leaf}
	r.pfx = append([]uint64(nil), n.pfx[h:]...)
	r.keys = append([]string(nil), n.keys[h:]...)
	clear(n.keys[h:])
	n.pfx, n.keys = n.pfx[:h], n.keys[:h]
	if n.leaf {
		r.ents = append([]*otNode(nil), n.ents[h:]...)
		clear(n.ents[h:])
		n.ents = n.ents[:h]
		r.next, r.prev = n.next, n
		if n.next != nil {
			n.next.prev = r
		}
		n.next = r
	} else {
		r.kids = append([]*btNode(nil), n.kids[h:]...)
		r.sums = append([]int64(nil), n.sums[h:]...)
		clear(n.kids[h:])
		n.kids, n.sums = n.kids[:h], n.sums[:h]
	}
	return r
}

// total is the number of live copies.
func (t *ordTree) total() int64 { return t.count }

// descend walks from the root to the leaf for key, recording the path.
func (t *ordTree) descend(pk uint64, key string) *btNode {
	t.path, t.idxs = t.path[:0], t.idxs[:0]
	n := t.root
	for !n.leaf {
		i := n.child(pk, key)
		t.path = append(t.path, n)
		t.idxs = append(t.idxs, i)
		n = n.kids[i]
	}
	return n
}

func (t *ordTree) get(key string) *otNode {
	pk := keyPrefix(key)
	n := t.root
	for !n.leaf {
		n = n.kids[n.child(pk, key)]
	}
	if i, eq := n.search(pk, key); eq {
		return n.ents[i]
	}
	return nil
}

// add changes the count of key by delta, inserting an entry (with vals and
// order-prefix length plen) when absent. It returns the entry, or an error
// when a count would drop below zero (a delete of an absent row).
func (t *ordTree) add(key string, plen int, vals []types.Datum, delta int64) (*otNode, error) {
	pk := keyPrefix(key)
	leaf := t.descend(pk, key)
	i, eq := leaf.search(pk, key)
	var e *otNode
	if eq {
		e = leaf.ents[i]
		if e.cnt+delta < 0 {
			return nil, pgerror.Internal("stream: delete of a row that is not present")
		}
		e.cnt += delta
	} else {
		if delta < 0 {
			return nil, pgerror.Internal("stream: delete of a row that is not present")
		}
		e = &otNode{key: key, plen: plen, vals: vals, cnt: delta}
		t.charge(entryBytes(key, vals))
		leaf.pfx = slices.Insert(leaf.pfx, i, pk)
		leaf.keys = slices.Insert(leaf.keys, i, key)
		leaf.ents = slices.Insert(leaf.ents, i, e)
		t.size++
	}
	t.count += delta
	for j, p := range t.path {
		k := t.idxs[j]
		p.sums[k] += delta
		if !eq && k == 0 && (pk < p.pfx[0] || (pk == p.pfx[0] && key < p.keys[0])) {
			p.pfx[0], p.keys[0] = pk, key
		}
	}
	if eq {
		return e, nil
	}
	// Split overfull nodes bottom-up.
	n := leaf
	for j := len(t.path) - 1; j >= 0 && len(n.keys) > btMax; j-- {
		r := n.splitOff()
		p, k := t.path[j], t.idxs[j]
		p.sums[k] = n.weight()
		p.pfx = slices.Insert(p.pfx, k+1, r.pfx[0])
		p.keys = slices.Insert(p.keys, k+1, r.keys[0])
		p.kids = slices.Insert(p.kids, k+1, r)
		p.sums = slices.Insert(p.sums, k+1, r.weight())
		n = p
	}
	if root := t.root; len(root.keys) > btMax {
		r := root.splitOff()
		t.root = &btNode{pfx: []uint64{root.pfx[0], r.pfx[0]}, keys: []string{root.keys[0], r.keys[0]},
			kids: []*btNode{root, r}, sums: []int64{root.weight(), r.weight()}}
	}
	return e, nil
}

// remove deletes the entry of key (if any).
func (t *ordTree) remove(key string) {
	pk := keyPrefix(key)
	leaf := t.descend(pk, key)
	i, eq := leaf.search(pk, key)
	if !eq {
		return
	}
	w := leaf.ents[i].cnt
	t.charge(-entryBytes(leaf.ents[i].key, leaf.ents[i].vals))
	leaf.pfx = slices.Delete(leaf.pfx, i, i+1)
	leaf.keys = slices.Delete(leaf.keys, i, i+1)
	leaf.ents = slices.Delete(leaf.ents, i, i+1)
	t.size--
	t.count -= w
	for j, p := range t.path {
		p.sums[t.idxs[j]] -= w
	}
	// Unlink emptied nodes bottom-up (separators stay valid lower bounds).
	n := leaf
	for j := len(t.path) - 1; j >= 0 && len(n.keys) == 0; j-- {
		if n.leaf {
			if n.prev != nil {
				n.prev.next = n.next
			}
			if n.next != nil {
				n.next.prev = n.prev
			}
		}
		p, k := t.path[j], t.idxs[j]
		p.pfx = slices.Delete(p.pfx, k, k+1)
		p.keys = slices.Delete(p.keys, k, k+1)
		p.kids = slices.Delete(p.kids, k, k+1)
		p.sums = slices.Delete(p.sums, k, k+1)
		n = p
	}
	for !t.root.leaf && len(t.root.kids) <= 1 {
		if len(t.root.kids) == 0 {
			t.root = &btNode{leaf: true}
			break
		}
		t.root = t.root.kids[0]
	}
}

// countBefore is the number of live copies with keys < key.
func (t *ordTree) countBefore(key string) int64 {
	pk := keyPrefix(key)
	var c int64
	n := t.root
	for !n.leaf {
		i := n.child(pk, key)
		for _, s := range n.sums[:i] {
			c += s
		}
		n = n.kids[i]
	}
	i, _ := n.search(pk, key)
	for _, e := range n.ents[:i] {
		c += e.cnt
	}
	return c
}

// at returns the entry holding copy pos (0-based) in order and the number
// of its copies before pos, or nil when pos ≥ total.
func (t *ordTree) at(pos int64) (*otNode, int64) {
	if pos < 0 || pos >= t.count {
		return nil, 0
	}
	n := t.root
	for !n.leaf {
		i := 0
		for i < len(n.sums)-1 && pos >= n.sums[i] {
			pos -= n.sums[i]
			i++
		}
		n = n.kids[i]
	}
	for _, e := range n.ents {
		if pos < e.cnt {
			return e, pos
		}
		pos -= e.cnt
	}
	return nil, 0
}

// otIter walks an ordTree in key order. Mutating the tree invalidates it.
type otIter struct {
	leaf *btNode
	i    int
}

func (it *otIter) settle() {
	for it.leaf != nil && it.i >= len(it.leaf.ents) {
		it.leaf, it.i = it.leaf.next, 0
	}
}

// seek positions at the first entry with key ≥ key.
func (t *ordTree) seek(key string) *otIter {
	pk := keyPrefix(key)
	n := t.root
	for !n.leaf {
		n = n.kids[n.child(pk, key)]
	}
	i, _ := n.search(pk, key)
	it := &otIter{leaf: n, i: i}
	it.settle()
	return it
}

// first positions at the smallest key.
func (t *ordTree) first() *otIter {
	n := t.root
	for !n.leaf {
		n = n.kids[0]
	}
	it := &otIter{leaf: n}
	it.settle()
	return it
}

func (it *otIter) node() *otNode {
	if it.leaf == nil {
		return nil
	}
	return it.leaf.ents[it.i]
}

func (it *otIter) next() {
	it.i++
	it.settle()
}
