/** An id whose request was answered early (timeout, client gone): taken until the instance ends it. */
const ANSWERED = Symbol("answered");

/**
 * The requests on one instance by id. An id is a slot number, used again once the instance has
 * ended the request (sent its END), as go/PROTOCOL.md allows. An array rather than a Map, for
 * the reason given at Ticket.
 */
export class RequestTable<T> {
  private readonly slots: (T | typeof ANSWERED | undefined)[] = [];
  private readonly freeIds: number[] = [];
  /** Requests in flight and not answered yet. */
  size = 0;

  add(entry: T): number {
    const id = this.freeIds.pop() ?? this.slots.length;
    this.slots[id] = entry;
    this.size++;
    return id;
  }

  /** The entry of request `id`, while it is in flight and not answered yet. */
  get(id: number): T | undefined {
    const slot = this.slots[id];
    return slot === ANSWERED ? undefined : slot;
  }

  /** Takes the entry of a request answered before the instance ended it; the id stays taken. */
  answer(id: number): T | undefined {
    const entry = this.get(id);
    if (entry === undefined) return undefined;
    this.slots[id] = ANSWERED;
    this.size--;
    return entry;
  }

  /** The instance ended request `id` (its END): returns its entry if it was not answered yet. */
  end(id: number): T | undefined {
    const slot = this.slots[id];
    if (slot === undefined) return undefined;
    this.slots[id] = undefined;
    this.freeIds.push(id);
    if (slot === ANSWERED) return undefined;
    this.size--;
    return slot;
  }

  /** Every entry not answered yet, forgetting all requests (the instance is gone). */
  drain(): T[] {
    const entries = this.slots.filter((slot): slot is T => slot !== undefined && slot !== ANSWERED);
    this.slots.length = 0;
    this.freeIds.length = 0;
    this.size = 0;
    return entries;
  }
}
