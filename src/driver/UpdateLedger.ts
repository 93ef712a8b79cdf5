/**
 * What the executor still owes the agent: every status update not yet ACKNOWLEDGED, and every task
 * with no acknowledged update yet. Both are resent in each SUBSCRIBE after the first (SPEC §4.3), so
 * that an agent restart or a broken stream loses nothing.
 *
 * It also keeps each task's updates in the order they were produced (the task's lane): an update is
 * only sent once every earlier update of its task has been accepted, so that a refused RUNNING cannot
 * be overtaken by FINISHED.
 *
 * Plain mutable data: the ledger is only touched from synchronous sections of the driver's effects,
 * and JavaScript runs those one at a time. One `PendingUpdate` is all an unacknowledged update costs.
 */
import { create } from "@bufbuild/protobuf"
import type { TaskInfo, TaskStatus } from "../gen/mesos/v1/mesos_pb.js"
import { type Call_Subscribe, Call_SubscribeSchema, Call_UpdateSchema } from "../gen/mesos/v1/executor/executor_pb.js"
import * as StatusUuid from "../wire/StatusUuid.js"

/**
 * Where an update is on its way to the agent.
 * - `Blocked`: an earlier update of its task is not accepted yet.
 * - `Ready`: waiting for a sender.
 * - `Sending`: its UPDATE call is in flight.
 * - `Refused`: the agent could not take it for now (503, no connection); sent again when due.
 * - `Accepted`: the agent took it (202, or a SUBSCRIBE carrying it); resent when due until acknowledged.
 * - `Settled`: acknowledged, rejected or abandoned; no longer in the ledger.
 */
export type DeliveryPhase = "Blocked" | "Ready" | "Sending" | "Refused" | "Accepted" | "Settled"

/** How an update ended: `undefined` when acknowledged. */
export type Settlement<Failure> = { readonly failure: Failure | undefined }

export interface PendingUpdate<Failure, Timer = unknown> {
  readonly key: string
  readonly taskId: string
  readonly status: TaskStatus
  phase: DeliveryPhase
  /** Set when a SUBSCRIBE carried this update while it waited in the senders' queue: that was its send. */
  coveredBySubscribe: boolean
  /** Waiting in the senders' queue. */
  queued: boolean
  /** UPDATE calls started for it. */
  sends: number
  /** When it is next due to be sent (`Refused`, `Accepted`), and its place among the deadlines. */
  dueAt: number
  deadlineIndex: number
  /** The retry schedule's state for this update, made when first needed. */
  timer: Timer | undefined
  settlement: Settlement<Failure> | undefined
  waiters: Array<(settlement: Settlement<Failure>) => void> | undefined
}

export class UpdateLedger<Failure, Timer = unknown> {
  private readonly updates = new Map<string, PendingUpdate<Failure, Timer>>()
  private readonly lanes = new Map<string, Array<PendingUpdate<Failure, Timer>>>()
  private readonly tasks = new Map<string, TaskInfo>()
  private readonly drained = new Set<() => void>()
  private lastSubscribePayload: ReadonlyArray<PendingUpdate<Failure, Timer>> = []

  get pendingUpdates(): number {
    return this.updates.size
  }

  /** A launched task stays listed until any of its updates is acknowledged. */
  trackTask(task: TaskInfo): void {
    if (task.taskId !== undefined) this.tasks.set(task.taskId.value, task)
  }

  /** Records a new update; it is `Ready` when its task has nothing unaccepted before it, else `Blocked`. */
  add(status: TaskStatus): PendingUpdate<Failure, Timer> {
    const taskId = status.taskId?.value ?? ""
    let lane = this.lanes.get(taskId)
    if (lane === undefined) {
      lane = []
      this.lanes.set(taskId, lane)
    }
    const last = lane[lane.length - 1]
    const pending: PendingUpdate<Failure, Timer> = {
      key: StatusUuid.toHex(status.uuid),
      taskId,
      status,
      phase: last === undefined || last.phase === "Accepted" ? "Ready" : "Blocked",
      coveredBySubscribe: false,
      queued: false,
      sends: 0,
      dueAt: 0,
      deadlineIndex: -1,
      timer: undefined,
      settlement: undefined,
      waiters: undefined
    }
    lane.push(pending)
    this.updates.set(pending.key, pending)
    return pending
  }

  /**
   * The agent took `pending`: later updates of its task may go. Returns the one that becomes `Ready`, if
   * any.
   */
  accept(pending: PendingUpdate<Failure, Timer>): PendingUpdate<Failure, Timer> | undefined {
    if (pending.phase === "Settled") return undefined
    pending.phase = "Accepted"
    return this.unblockAfter(pending)
  }

  /**
   * Applies an ACKNOWLEDGED. Returns the update (now `Settled`) and the next update of its task that
   * becomes `Ready` (an ACK can overtake the 202 of its own call), or undefined for a duplicate ACK.
   */
  acknowledge(
    taskId: string,
    uuid: Uint8Array
  ): { readonly update: PendingUpdate<Failure, Timer>; readonly unblocked: PendingUpdate<Failure, Timer> | undefined } | undefined {
    const pending = this.updates.get(StatusUuid.toHex(uuid))
    if (pending === undefined || pending.taskId !== taskId) return undefined
    const unblocked = pending.phase === "Accepted" ? undefined : this.unblockAfter(pending)
    this.tasks.delete(taskId)
    this.settle(pending, undefined)
    return { update: pending, unblocked }
  }

  /**
   * The agent refused the update for good: it is no longer owed, and its waiters learn why. Returns the
   * next update of its task that becomes `Ready`, if any.
   */
  reject(pending: PendingUpdate<Failure, Timer>, failure: Failure): PendingUpdate<Failure, Timer> | undefined {
    if (pending.phase === "Settled") return undefined
    const unblocked = pending.phase === "Accepted" ? undefined : this.unblockAfter(pending)
    this.settle(pending, failure)
    return unblocked
  }

  /** The driver ended: nobody will deliver the pending updates any more, and nothing of them is kept. */
  abandon(failure: Failure): void {
    for (const pending of [...this.updates.values()]) this.settle(pending, failure)
    this.tasks.clear()
    this.lastSubscribePayload = []
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

  /**
   * The agent took the last SUBSCRIBE (200): the updates it carried count as sent, and so as accepted.
   * Returns them, still pending, for their resend schedules to start over, and the later updates of their
   * tasks that this makes `Ready`.
   */
  markSubscribePayloadSent(): {
    readonly carried: ReadonlyArray<PendingUpdate<Failure, Timer>>
    readonly unblocked: ReadonlyArray<PendingUpdate<Failure, Timer>>
  } {
    const carried = this.lastSubscribePayload.filter((pending) => pending.phase !== "Settled")
    this.lastSubscribePayload = []
    for (const pending of carried) pending.phase = "Accepted"
    const unblocked: Array<PendingUpdate<Failure, Timer>> = []
    for (const pending of carried) {
      const next = this.unblockAfter(pending)
      if (next !== undefined) unblocked.push(next)
    }
    return { carried, unblocked }
  }

  /** The update after `pending` in its lane, made `Ready` if it was waiting for `pending`. */
  private unblockAfter(pending: PendingUpdate<Failure, Timer>): PendingUpdate<Failure, Timer> | undefined {
    const lane = this.lanes.get(pending.taskId)
    if (lane === undefined) return undefined
    const next = lane[lane.indexOf(pending) + 1]
    if (next === undefined || next.phase !== "Blocked") return undefined
    next.phase = "Ready"
    return next
  }

  private settle(pending: PendingUpdate<Failure, Timer>, failure: Failure | undefined): void {
    if (pending.phase === "Settled") return
    pending.phase = "Settled"
    pending.timer = undefined
    this.updates.delete(pending.key)
    const lane = this.lanes.get(pending.taskId)
    if (lane !== undefined) {
      lane.splice(lane.indexOf(pending), 1)
      if (lane.length === 0) this.lanes.delete(pending.taskId)
    }
    const settlement: Settlement<Failure> = { failure }
    pending.settlement = settlement
    const waiters = pending.waiters
    pending.waiters = undefined
    if (waiters !== undefined) for (const notify of waiters) notify(settlement)
    if (this.updates.size === 0) {
      for (const notify of this.drained) notify()
      this.drained.clear()
    }
  }
}
