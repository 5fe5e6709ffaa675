package engine

// dueHeap is a container/heap of timed entries, the earliest first: the
// suspicion timers and the tombstones' reaping queue.
type dueHeap[T interface{ due() Time }] []T

func (h dueHeap[T]) Len() int           { return len(h) }
func (h dueHeap[T]) Less(i, j int) bool { return h[i].due() < h[j].due() }
func (h dueHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap[T]) Push(x any)        { *h = append(*h, x.(T)) }
func (h *dueHeap[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
