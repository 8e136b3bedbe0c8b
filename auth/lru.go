package auth

// lru is a map bounded to max entries that evicts the least recently used
// one. It is not safe for concurrent use: its owners hold their own lock.
// It is hand-rolled (an intrusive list) rather than container/list so that
// an entry costs one allocation and no interface boxing.
type lru[K comparable, V any] struct {
	max   int
	items map[K]*lruNode[K, V]
	// head is the most recently used entry, tail the next to be evicted.
	head, tail *lruNode[K, V]
}

type lruNode[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruNode[K, V]
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*lruNode[K, V])}
}

// get returns the value of k and marks it most recently used.
func (l *lru[K, V]) get(k K) (V, bool) {
	n, ok := l.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	l.moveToFront(n)
	return n.val, true
}

// put sets the value of k, marks it most recently used, and evicts the least
// recently used entry when the map would exceed its bound.
func (l *lru[K, V]) put(k K, v V) {
	if n, ok := l.items[k]; ok {
		n.val = v
		l.moveToFront(n)
		return
	}
	if len(l.items) >= l.max {
		l.remove(l.tail.key)
	}
	n := &lruNode[K, V]{key: k, val: v}
	l.items[k] = n
	l.pushFront(n)
}

// remove drops k, if present.
func (l *lru[K, V]) remove(k K) {
	n, ok := l.items[k]
	if !ok {
		return
	}
	delete(l.items, k)
	l.unlink(n)
}

func (l *lru[K, V]) len() int { return len(l.items) }

func (l *lru[K, V]) moveToFront(n *lruNode[K, V]) {
	if l.head == n {
		return
	}
	l.unlink(n)
	l.pushFront(n)
}

func (l *lru[K, V]) pushFront(n *lruNode[K, V]) {
	n.prev, n.next = nil, l.head
	if l.head != nil {
		l.head.prev = n
	}
	l.head = n
	if l.tail == nil {
		l.tail = n
	}
}

func (l *lru[K, V]) unlink(n *lruNode[K, V]) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

// removeIf drops every entry for which drop is true.
func (l *lru[K, V]) removeIf(drop func(K, V) bool) {
	for k, n := range l.items {
		if drop(k, n.val) {
			delete(l.items, k)
			l.unlink(n)
		}
	}
}
