/**
 * Items ordered by when they are due: a binary min-heap that also removes an item in O(log n), so that an
 * acknowledged update leaves at once instead of lingering until its resend time. Each item keeps its
 * own position (`deadlineIndex`, -1 when absent), which is what makes removal cheap.
 */
export interface Scheduled {
  dueAt: number
  deadlineIndex: number
}

export class Deadlines<A extends Scheduled> {
  private readonly heap: Array<A> = []

  get size(): number {
    return this.heap.length
  }

  /** The item due first, if any. */
  peek(): A | undefined {
    return this.heap[0]
  }

  /** Adds `item` due at `dueAt`, or moves it there if it is already in. */
  schedule(item: A, dueAt: number): void {
    if (item.deadlineIndex >= 0) this.remove(item)
    item.dueAt = dueAt
    item.deadlineIndex = this.heap.length
    this.heap.push(item)
    this.up(item.deadlineIndex)
  }

  remove(item: A): void {
    const index = item.deadlineIndex
    if (index < 0 || this.heap[index] !== item) return
    item.deadlineIndex = -1
    const last = this.heap.pop()!
    if (index === this.heap.length) return
    this.heap[index] = last
    last.deadlineIndex = index
    this.down(index)
    this.up(last.deadlineIndex)
  }

  clear(): void {
    for (const item of this.heap) item.deadlineIndex = -1
    this.heap.length = 0
  }

  /** Removes and returns the first item due at or before `now`. */
  takeDue(now: number): A | undefined {
    const first = this.heap[0]
    if (first === undefined || first.dueAt > now) return undefined
    this.remove(first)
    return first
  }

  private up(index: number): void {
    const heap = this.heap
    const item = heap[index]!
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = heap[parentIndex]!
      if (parent.dueAt <= item.dueAt) break
      heap[index] = parent
      parent.deadlineIndex = index
      index = parentIndex
    }
    heap[index] = item
    item.deadlineIndex = index
  }

  private down(index: number): void {
    const heap = this.heap
    const item = heap[index]!
    const length = heap.length
    while (true) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && heap[right]!.dueAt < heap[left]!.dueAt ? right : left
      const childItem = heap[child]!
      if (childItem.dueAt >= item.dueAt) break
      heap[index] = childItem
      childItem.deadlineIndex = index
      index = child
    }
    heap[index] = item
    item.deadlineIndex = index
  }
}
