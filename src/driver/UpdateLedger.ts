/**
 * What the executor still owes the agent: every status update not yet ACKNOWLEDGED, and every task
 * with no acknowledged update yet. Both are resent in each SUBSCRIBE after the first (SPEC §4.3), so
 * that an agent restart or a broken stream loses nothing.
 *
 * Plain mutable maps: the ledger is only touched from synchronous sections of the driver's effects,
 * and JavaScript runs those one at a time.
 */
import { create } from "@bufbuild/protobuf"
import type { TaskInfo, TaskStatus } from "../gen/mesos/v1/mesos_pb.js"
import { type Call_Subscribe, Call_SubscribeSchema, Call_UpdateSchema } from "../gen/mesos/v1/executor/executor_pb.js"
import * as StatusUuid from "../wire/StatusUuid.js"

export interface PendingUpdate<Failure> {
  readonly key: string
  readonly taskId: string
  readonly status: TaskStatus
  /** Set when a SUBSCRIBE carried this update: that counts as sending it. */
  coveredBySubscribe: boolean
  /** Tells whoever waits for the ACK how it ended: `undefined` when acknowledged. */
  readonly settle: (failure: Failure | undefined) => void
}

export class UpdateLedger<Failure> {
  private readonly updates = new Map<string, PendingUpdate<Failure>>()
  private readonly tasks = new Map<string, TaskInfo>()
  private readonly pendingByTask = new Map<string, number>()
  private readonly drained = new Set<() => void>()
  private lastSubscribePayload: ReadonlyArray<PendingUpdate<Failure>> = []

  get pendingUpdates(): number {
    return this.updates.size
  }

  /** A launched task stays listed until any of its updates is acknowledged. */
  trackTask(task: TaskInfo): void {
    if (task.taskId !== undefined) this.tasks.set(task.taskId.value, task)
  }

  add(status: TaskStatus, settle: (failure: Failure | undefined) => void): PendingUpdate<Failure> {
    const pending: PendingUpdate<Failure> = {
      key: StatusUuid.toHex(status.uuid),
      taskId: status.taskId?.value ?? "",
      status,
      coveredBySubscribe: false,
      settle
    }
    this.updates.set(pending.key, pending)
    this.pendingByTask.set(pending.taskId, (this.pendingByTask.get(pending.taskId) ?? 0) + 1)
    return pending
  }

  /** Applies an ACKNOWLEDGED; false when no pending update has that uuid (a duplicate ACK). */
  acknowledge(taskId: string, uuid: Uint8Array): boolean {
    const pending = this.updates.get(StatusUuid.toHex(uuid))
    if (pending === undefined || pending.taskId !== taskId) return false
    this.remove(pending)
    this.tasks.delete(taskId)
    pending.settle(undefined)
    return true
  }

  /** The agent refused the update for good: it is no longer owed, and its waiter learns why. */
  reject(pending: PendingUpdate<Failure>, failure: Failure): void {
    if (this.updates.get(pending.key) !== pending) return
    this.remove(pending)
    pending.settle(failure)
  }

  /** The driver ended: nobody will deliver the pending updates any more. */
  abandon(failure: Failure): void {
    for (const pending of [...this.updates.values()]) this.reject(pending, failure)
  }

  isPendingForTask(taskId: string): boolean {
    return this.pendingByTask.has(taskId)
  }

  /** Calls `notify` once no update is pending (at once if none is). */
  onDrained(notify: () => void): () => void {
    if (this.updates.size === 0) {
      notify()
      return () => {}
    }
    this.drained.add(notify)
    return () => this.drained.delete(notify)
  }

  /** The `subscribe` payload: everything unacknowledged, in the order it was produced. */
  subscribePayload(): Call_Subscribe {
    const included = [...this.updates.values()]
    this.lastSubscribePayload = included
    return create(Call_SubscribeSchema, {
      unacknowledgedTasks: [...this.tasks.values()],
      unacknowledgedUpdates: included.map((pending) => create(Call_UpdateSchema, { status: pending.status }))
    })
  }

  /** The agent took the last SUBSCRIBE (200): the updates it carried count as sent. */
  markSubscribePayloadSent(): void {
    for (const pending of this.lastSubscribePayload) pending.coveredBySubscribe = true
    this.lastSubscribePayload = []
  }

  private remove(pending: PendingUpdate<Failure>): void {
    this.updates.delete(pending.key)
    const left = (this.pendingByTask.get(pending.taskId) ?? 1) - 1
    if (left === 0) this.pendingByTask.delete(pending.taskId)
    else this.pendingByTask.set(pending.taskId, left)
    if (this.updates.size === 0) {
      for (const notify of this.drained) notify()
      this.drained.clear()
    }
  }
}
