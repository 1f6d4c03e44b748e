package skiplist

const maxLevel = 18

type node[V any] struct {
	key  string
	val  V
	next []*node[V]
}

// List is an ordered map. The zero value is not usable; call New.
type List[V any] struct {
	head  node[V]
	level int
	n     int
	rng   uint64
	prev  [maxLevel]*node[V]
}

// New returns an empty list.
func New[V any]() *List[V] {
	l := &List[V]{level: 1, rng: 0x9e3779b97f4a7c15}
	l.head.next = make([]*node[V], maxLevel)
	return l
}

// Len is the number of keys.
func (l *List[V]) Len() int { return l.n }

func (l *List[V]) randLevel() int {
	// xorshift64; the level distribution only affects speed.
	l.rng ^= l.rng << 13
	l.rng ^= l.rng >> 7
	l.rng ^= l.rng << 17
	lvl := 1
	for r := l.rng; lvl < maxLevel && r&3 == 0; r >>= 2 {
		lvl++
	}
	return lvl
}

// findGE fills l.prev and returns the first node with key ≥ k.
func (l *List[V]) findGE(k string, fill bool) *node[V] {
	x := &l.head
	for i := l.level - 1; i >= 0; i-- {
		for nx := x.next[i]; nx != nil && nx.key < k; nx = x.next[i] {
			x = nx
		}
		if fill {
			l.prev[i] = x
		}
	}
	return x.next[0]
}

// Get returns the value stored under k.
func (l *List[V]) Get(k string) (V, bool) {
	if n := l.findGE(k, false); n != nil && n.key == k {
		return n.val, true
	}
	var zero V
	return zero, false
}

// Set stores v under k and reports whether k was new.
func (l *List[V]) Set(k string, v V) bool {
	n := l.findGE(k, true)
	if n != nil && n.key == k {
		n.val = v
		return false
	}
	lvl := l.randLevel()
	if lvl > l.level {
		for i := l.level; i < lvl; i++ {
			l.prev[i] = &l.head
		}
		l.level = lvl
	}
	nn := &node[V]{key: k, val: v, next: make([]*node[V], lvl)}
	for i := 0; i < lvl; i++ {
		nn.next[i] = l.prev[i].next[i]
		l.prev[i].next[i] = nn
	}
	l.n++
	return true
}

// Delete removes k and reports whether it was present.
func (l *List[V]) Delete(k string) bool {
	n := l.findGE(k, true)
	if n == nil || n.key != k {
		return false
	}
	for i := 0; i < len(n.next); i++ {
		if l.prev[i].next[i] == n {
			l.prev[i].next[i] = n.next[i]
		}
	}
	l.n--
	return true
}

// Iter is a position in the list. It is invalidated by Set/Delete of the key
// it rests on only if that key is deleted; re-seek after mutation.
type Iter[V any] struct {
	n *node[V]
}

// Seek returns an iterator at the first key ≥ k.
func (l *List[V]) Seek(k []byte) Iter[V] {
	return Iter[V]{n: l.findGE(string(k), false)}
}

// First returns an iterator at the smallest key.
func (l *List[V]) First() Iter[V] { return Iter[V]{n: l.head.next[0]} }

// Valid reports whether the iterator rests on a key.
func (it *Iter[V]) Valid() bool { return it.n != nil }

// Key is the current key.
func (it *Iter[V]) Key() string { return it.n.key }

// Value is the current value.
func (it *Iter[V]) Value() V { return it.n.val }

// Next advances to the following key.
func (it *Iter[V]) Next() { it.n = it.n.next[0] }
