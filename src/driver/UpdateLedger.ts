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

export interface PendingUpdate {
  readonly key: string
  readonly taskId: string
  readonly status: TaskStatus
  /** Set when a SUBSCRIBE carried this update, so the next retry tick does not send it again at once. */
  coveredBySubscribe: boolean
  readonly acknowledged: () => void
}

export const uuidKey = (uuid: Uint8Array): string => {
  let key = ""
  for (const byte of uuid) key += byte.toString(16).padStart(2, "0")
  return key
}

export class UpdateLedger {
  private readonly updates = new Map<string, PendingUpdate>()
  private readonly tasks = new Map<string, TaskInfo>()
  private readonly pendingByTask = new Map<string, number>()
  private readonly drained = new Set<() => void>()
  private lastSubscribePayload: ReadonlyArray<PendingUpdate> = []

  get pendingUpdates(): number {
    return this.updates.size
  }

  get unacknowledgedTasks(): number {
    return this.tasks.size
  }

  /** A launched task stays listed until any of its updates is acknowledged. */
  trackTask(task: TaskInfo): void {
    if (task.taskId !== undefined) this.tasks.set(task.taskId.value, task)
  }

  add(status: TaskStatus, acknowledged: () => void): PendingUpdate {
    const pending: PendingUpdate = {
      key: uuidKey(status.uuid),
      taskId: status.taskId?.value ?? "",
      status,
      coveredBySubscribe: false,
      acknowledged
    }
    this.updates.set(pending.key, pending)
    this.pendingByTask.set(pending.taskId, (this.pendingByTask.get(pending.taskId) ?? 0) + 1)
    return pending
  }

  /** Applies an ACKNOWLEDGED; false when no pending update has that uuid (a duplicate ACK). */
  acknowledge(taskId: string, uuid: Uint8Array): boolean {
    const pending = this.updates.get(uuidKey(uuid))
    if (pending === undefined || pending.taskId !== taskId) return false
    this.updates.delete(pending.key)
    const left = (this.pendingByTask.get(taskId) ?? 1) - 1
    if (left === 0) this.pendingByTask.delete(taskId)
    else this.pendingByTask.set(taskId, left)
    this.tasks.delete(taskId)
    pending.acknowledged()
    if (this.updates.size === 0) {
      for (const notify of this.drained) notify()
      this.drained.clear()
    }
    return true
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
}
