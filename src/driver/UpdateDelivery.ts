/**
 * Gets every status update in the ledger to the agent, and again until it is acknowledged.
 *
 * A few sender fibers take updates from one queue and send them; one timer brings back, when due, the
 * updates the agent refused for now (503, no connection) and the accepted ones still waiting for their
 * ACK. An unacknowledged update is data in the ledger and the deadlines, not a fiber: waiting for
 * thousands of ACKs costs memory per update, not per fiber, and an ACK costs a lookup.
 *
 * Each update has its own copy of the retry schedule, started when it is refused and again when it is
 * accepted (or carried by a SUBSCRIBE): while refused it says when to try again, and its end gives up
 * on the update; once accepted it says when to resend, and its end stops resending (the next SUBSCRIBE
 * still carries the update).
 */
import {
  Clock,
  Duration,
  Effect,
  type Fiber,
  Latch,
  Metric,
  Pull,
  Queue,
  Schedule,
  type Scope
} from "effect"
import type { TaskStatus } from "../gen/mesos/v1/mesos_pb.js"
import type { AgentCallError } from "../transport/AgentClient.js"
import { Deadlines } from "./Deadlines.js"
import type { PendingUpdate, UpdateLedger } from "./UpdateLedger.js"

/** One update's retry schedule, stepped as it goes. */
export type ScheduleStep = (now: number, input: unknown) => Pull.Pull<[unknown, Duration.Duration], never, unknown>

/**
 * An update's retry schedule. A refused update steps a live copy (its inputs are its errors). An update
 * waiting for its ACK (input always `undefined`) keeps only the times of the steps it has taken, and a fresh
 * copy replays them, at those times, when its next resend is due: a schedule's state costs more than the
 * rest of a pending update (720 bytes for the default), most updates are acknowledged before their first
 * resend, and few are resent more than a handful of times. Past `replayedSteps` it keeps the live copy.
 */
export type ScheduleState = ScheduleStep | Array<number>

const replayedSteps = 8

export type Pending<Failure> = PendingUpdate<Failure, ScheduleState>

export interface DeliveryOptions<Failure> {
  readonly ledger: UpdateLedger<Failure, ScheduleState>
  /** Sends one UPDATE call carrying `status` (bounded by the call timeout). */
  readonly send: (status: TaskStatus) => Effect.Effect<void, AgentCallError>
  /** Open while subscribed: nothing is sent otherwise (the next SUBSCRIBE carries it). */
  readonly subscribed: Latch.Latch
  readonly schedule: Schedule.Schedule<unknown, unknown>
  /** UPDATE calls in flight at most. */
  readonly senders: number
  /**
   * The agent refused an update for good (or its schedule ended while it was refused): what its waiters
   * are told, and what else to do about it.
   */
  readonly rejected: (taskId: string, error: AgentCallError) => {
    readonly failure: Failure
    readonly report: Effect.Effect<void>
  }
  readonly metrics: {
    readonly sent: Metric.Metric<number, unknown>
    readonly retried: Metric.Metric<number, unknown>
  }
  /** Where the senders and the timer run. */
  readonly scope: Scope.Scope
}

export interface UpdateDelivery<Failure> {
  /** Records `status` in the ledger and queues it for sending. */
  readonly submit: (status: TaskStatus) => Pending<Failure>
  /** Applies an ACKNOWLEDGED; false for a duplicate. */
  readonly acknowledge: (taskId: string, uuid: Uint8Array) => boolean
  /** The agent took a SUBSCRIBE carrying the ledger's last payload: those updates count as sent. */
  readonly subscribed: Effect.Effect<void>
  /** Starts the senders; they run until the scope closes. */
  readonly start: Effect.Effect<void>
  /** The driver ended: the ledger abandons every update, and nothing here keeps one. */
  readonly abandon: (failure: Failure) => void
}

/**
 * A timer that fires late by at most this much re-arms no sooner: an ACK removes its update's deadline,
 * so without a floor the timer would wake once per acknowledged update, a resend delay after it.
 */
const timerResolutionMillis = 10

export const make = <Failure>(options: DeliveryOptions<Failure>): Effect.Effect<UpdateDelivery<Failure>> =>
  Effect.gen(function*() {
    const { ledger, schedule } = options
    const ready = yield* Queue.unbounded<Pending<Failure>>()
    const deadlines = new Deadlines<Pending<Failure>>()

    const enqueue = (pending: Pending<Failure> | undefined): void => {
      if (pending === undefined || pending.queued) return
      pending.queued = true
      Queue.offerUnsafe(ready, pending)
    }

    // --- the timer ------------------------------------------------------------------------------

    let timerAt = Number.POSITIVE_INFINITY
    let timer: Fiber.Fiber<void> | undefined

    const arm = (at: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (at >= timerAt) return Effect.void
        timerAt = at
        timer?.interruptUnsafe()
        return Effect.map(Effect.forkIn(fireAt(at), options.scope), (fiber) => {
          if (timerAt === at) timer = fiber
        })
      })

    /**
     * Steps `pending`'s schedule (a fresh one when it has none) and puts it among the deadlines. False when
     * the schedule has ended.
     */
    const scheduleNext = (pending: Pending<Failure>, input: unknown): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        let step: ScheduleStep
        const state = pending.timer
        if (typeof state === "function") {
          step = state
        } else {
          step = yield* Schedule.toStep(schedule)
          const taken = state ?? []
          for (const at of taken) {
            const replayed = yield* Effect.exit(step(at, undefined))
            if (replayed._tag === "Failure") return false
          }
          if (input !== undefined || taken.length >= replayedSteps) {
            pending.timer = step
          } else {
            taken.push(now)
            pending.timer = taken
          }
        }
        return yield* Pull.matchEffect(step(now, input), {
          onSuccess: ([, delay]) => {
            if (pending.phase === "Settled") return Effect.succeed(false)
            const dueAt = now + Duration.toMillis(delay)
            deadlines.schedule(pending, dueAt)
            return Effect.as(arm(dueAt), true)
          },
          onFailure: () => Effect.succeed(false),
          onDone: () => Effect.succeed(false)
        })
      })

    /** What comes due: a refused update goes back to the senders; an accepted one is resent. */
    const due = (pending: Pending<Failure>): Effect.Effect<void> => {
      if (pending.phase === "Refused") {
        pending.phase = "Ready"
        enqueue(pending)
        return Effect.void
      }
      if (pending.phase !== "Accepted") return Effect.void
      enqueue(pending)
      return Effect.asVoid(scheduleNext(pending, undefined))
    }

    const fireAt = (at: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        const wait = at - (yield* Clock.currentTimeMillis)
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        timerAt = Number.POSITIVE_INFINITY
        timer = undefined
        const now = yield* Clock.currentTimeMillis
        // Taken first, then handled: a schedule with no delay makes an update due again at once.
        const dueNow: Array<Pending<Failure>> = []
        for (let pending = deadlines.takeDue(now); pending !== undefined; pending = deadlines.takeDue(now)) {
          dueNow.push(pending)
        }
        for (const pending of dueNow) yield* due(pending)
        const next = deadlines.peek()
        if (next !== undefined) yield* arm(Math.max(next.dueAt, now + timerResolutionMillis))
      })

    // --- the senders ----------------------------------------------------------------------------

    const accepted = (pending: Pending<Failure>): Effect.Effect<void> => {
      enqueue(ledger.accept(pending))
      pending.timer = undefined
      return Effect.asVoid(scheduleNext(pending, undefined))
    }

    const refused = (pending: Pending<Failure>, error: AgentCallError): Effect.Effect<void> => {
      pending.phase = "Refused"
      return Effect.flatMap(scheduleNext(pending, error), (scheduled) => scheduled ? Effect.void : reject(pending, error))
    }

    const reject = (pending: Pending<Failure>, error: AgentCallError): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (pending.phase === "Settled") return Effect.void
        deadlines.remove(pending)
        const { failure, report } = options.rejected(pending.taskId, error)
        enqueue(ledger.reject(pending, failure))
        return report
      })

    /** Skips what no longer needs sending: settled, or carried by a SUBSCRIBE since it was queued. */
    const needsSending = (pending: Pending<Failure>): boolean => {
      if (pending.phase === "Settled") return false
      if (pending.coveredBySubscribe) {
        pending.coveredBySubscribe = false
        return false
      }
      return true
    }

    const deliver = (pending: Pending<Failure>): Effect.Effect<void> =>
      Effect.gen(function*() {
        pending.queued = false
        if (!needsSending(pending)) return
        if (!Latch.isOpen(options.subscribed)) {
          yield* Latch.await(options.subscribed)
          if (!needsSending(pending)) return
        }
        const firstDelivery = pending.phase !== "Accepted"
        if (firstDelivery) pending.phase = "Sending"
        if (pending.sends++ > 0) yield* Metric.update(options.metrics.retried, 1)
        const result = yield* Effect.result(options.send(pending.status))
        if (result._tag === "Success") {
          yield* Metric.update(options.metrics.sent, 1)
          // Otherwise its ACK, a SUBSCRIBE or a rejection got there first.
          if (pending.phase === "Sending") yield* accepted(pending)
          return
        }
        if (pending.phase === "Settled") return
        const error = result.failure
        if (!error.isTransient) return yield* reject(pending, error)
        yield* Effect.logWarning("status update not accepted", error.message).pipe(
          Effect.annotateLogs({ taskId: pending.taskId })
        )
        // A failed resend needs nothing: the timer has already planned the next one.
        if (pending.phase === "Sending") yield* refused(pending, error)
      })

    const sender = Effect.forever(Effect.flatMap(Queue.take(ready), deliver))

    return {
      submit: (status) => {
        const pending = ledger.add(status)
        if (pending.phase === "Ready") enqueue(pending)
        return pending
      },
      acknowledge: (taskId, uuid) => {
        const acknowledged = ledger.acknowledge(taskId, uuid)
        if (acknowledged === undefined) return false
        deadlines.remove(acknowledged.update)
        enqueue(acknowledged.unblocked)
        return true
      },
      subscribed: Effect.suspend(() => {
        const { carried, unblocked } = ledger.markSubscribePayloadSent()
        for (const pending of unblocked) enqueue(pending)
        return Effect.forEach(carried, (pending) => {
          // Queued for sending: the SUBSCRIBE was that send, and the sender skips it.
          pending.coveredBySubscribe = pending.queued
          pending.timer = undefined
          return scheduleNext(pending, undefined)
        }, { discard: true })
      }),
      abandon: (failure) => {
        ledger.abandon(failure)
        deadlines.clear()
        Queue.shutdownUnsafe(ready)
      },
      start: Effect.asVoid(
        Effect.forEach(Array.from({ length: options.senders }), () => Effect.forkIn(sender, options.scope))
      )
    }
  })
