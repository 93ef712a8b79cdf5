/**
 * The executor driver: connects to the agent, feeds events to the executor's callbacks one at a time,
 * and makes sure every status update reaches the agent.
 *
 * Inside, four kinds of fibers share one ledger:
 * - the connection fiber subscribes (listing everything unacknowledged), reads the event stream, applies
 *   ACKNOWLEDGED to the ledger at once, queues every other event, and reconnects per SPEC §6.2;
 * - ONE event fiber takes events from the queue and runs the callbacks strictly in order;
 * - a few sender fibers and one timer (`UpdateDelivery`) send each update and resend it on a `Schedule`
 *   until it is acknowledged; updates of one task go out in order, and a pending update is data in the
 *   ledger, not a fiber;
 * - task fibers started with `runTask`, interrupted by KILL and SHUTDOWN.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  FiberMap,
  Latch,
  Layer,
  Metric,
  Option,
  Queue,
  Random,
  Schedule,
  Scope,
  Stream
} from "effect"
import {
  type Call,
  Call_MessageSchema,
  Call_Type,
  Call_UpdateSchema,
  CallSchema
} from "../gen/mesos/v1/executor/executor_pb.js"
import {
  type TaskID,
  TaskState,
  TaskStatus_Source,
  TaskStatusSchema
} from "../gen/mesos/v1/mesos_pb.js"
import { ExecutorConfig } from "../config/ExecutorConfig.js"
import { AgentCallError, AgentClient, AgentDisconnected } from "../transport/AgentClient.js"
import type { AgentEvent } from "../wire/AgentEvent.js"
import type { Executor, Registration } from "./Executor.js"
import {
  DriverNotRunning,
  ExecutorDriverError,
  FrameworkMessageFailed,
  InvalidStatusUpdate,
  StatusUpdateRejected
} from "./ExecutorDriverError.js"
import * as UpdateDelivery from "./UpdateDelivery.js"
import { type Settlement, UpdateLedger } from "./UpdateLedger.js"
import * as StatusUuid from "../wire/StatusUuid.js"

/** What the driver needs to know about its executor and agent (read from MESOS_* by `ExecutorConfig`). */
export interface DriverConfig {
  readonly frameworkId: string
  readonly executorId: string
  /** MESOS_CHECKPOINT: whether to wait for a restarting agent instead of shutting down. */
  readonly checkpoint: boolean
  readonly recoveryTimeout: Duration.Duration
  readonly subscriptionBackoffMax: Duration.Duration
  readonly shutdownGracePeriod: Duration.Duration
}

export interface DriverOptions {
  /**
   * When to resend an update that the agent did not accept (503 while it recovers, no connection) or did
   * not acknowledge (the agent de-duplicates by uuid). Default: after 1 s, then doubling up to once a
   * minute, until acknowledged: a restarted agent refuses updates for about 2 s, and otherwise ACKs within
   * milliseconds, so a resend means a refused update, a lost ACK or an update the agent dropped.
   */
  readonly updateRetrySchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** How often to send a HEARTBEAT call while subscribed. Default: 30 minutes, as the Mesos library does. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** Events read ahead of the callbacks before the driver stops reading the stream. Default 4096. */
  readonly eventBufferSize?: number | undefined
  /**
   * How long a call may wait for the agent's answer (the 200 of SUBSCRIBE, the 202 of the others) before
   * it counts as failed and is retried. A healthy agent answers in milliseconds; this only bounds a stalled
   * one. Default 30 seconds.
   */
  readonly callTimeout?: Duration.Input | undefined
  /**
   * How long to keep trying the first SUBSCRIBE through transient failures (refused connection, 503, 404).
   * Default 1 minute, the agent's `--executor_registration_timeout`: past it the agent destroys an executor
   * that has not subscribed, so trying longer is pointless. (The Mesos library gives up at the first failure.)
   */
  readonly registrationTimeout?: Duration.Input | undefined
  /**
   * UPDATE calls in flight at once, across tasks (a task's updates still go one after the other). The HTTP
   * client pipelines them on its one connection for calls, so this is the pipeline's depth: measured on
   * loopback, 32 sent 4,100 updates/s where 8 sent 3,300 (bench/README.md). Default 32.
   */
  readonly updateSenders?: number | undefined
}

export const defaultUpdateRetrySchedule: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential(Duration.seconds(1)),
  Schedule.spaced(Duration.minutes(1))
])

/** How the driver ended, as in the classic API's `Status`. */
export type DriverEnd = "Stopped" | "Aborted"

/** Why an update will never be acknowledged. */
export type StatusUpdateFailed = StatusUpdateRejected | DriverNotRunning

/** A status update as the executor writes it: the driver fills `uuid`, `source`, `executor_id` and `timestamp`. */
export type StatusUpdate = Omit<MessageInitShape<typeof TaskStatusSchema>, "$typeName" | "uuid" | "source">

export interface StatusUpdateReceipt {
  /** The 16 bytes the agent will echo in ACKNOWLEDGED. */
  readonly uuid: Uint8Array
  /**
   * Completes when the agent has acknowledged the update; fails when the agent refused it for good, or
   * when the driver ended before the ACK came (the update is then in no later SUBSCRIBE).
   */
  readonly acknowledged: Effect.Effect<void, StatusUpdateFailed>
}

export interface ExecutorDriverShape<E = unknown> {
  readonly frameworkId: string
  readonly executorId: string
  /** The latest SUBSCRIBED's contents, once subscribed. */
  readonly registration: Effect.Effect<Registration | undefined>
  /** Keeps the update until the agent acknowledges it, resending it as needed, across reconnections. */
  readonly sendStatusUpdate: (
    update: StatusUpdate
  ) => Effect.Effect<StatusUpdateReceipt, InvalidStatusUpdate | DriverNotRunning>
  /** Best effort, as in Mesos: not retried, not acknowledged. */
  readonly sendFrameworkMessage: (data: Uint8Array) => Effect.Effect<void, FrameworkMessageFailed | DriverNotRunning>
  /**
   * Runs a task's long work in a fiber owned by the driver and keyed by task id, so callbacks return at
   * once. KILL of that task and SHUTDOWN interrupt it (after `killTask` / `shutdown`); its finalizers
   * run then, and may still send status updates.
   */
  readonly runTask: <A, E2, R>(taskId: TaskID | string, work: Effect.Effect<A, E2, R>) => Effect.Effect<void, never, R>
  /** Connects to the agent; idempotent. */
  readonly start: Effect.Effect<void>
  /** Ends the driver after giving pending updates the shutdown grace period to be acknowledged. */
  readonly stop: Effect.Effect<void>
  /** Ends the driver now: no callback runs after it. */
  readonly abort: Effect.Effect<void>
  /** Waits for the end: how it ended, or the executor's or driver's error. */
  readonly await: Effect.Effect<DriverEnd, E | ExecutorDriverError>
  /** `start` then `await`. */
  readonly run: Effect.Effect<DriverEnd, E | ExecutorDriverError>
}

type DriverInput =
  | AgentEvent
  | { readonly _tag: "Disconnected" }
  | { readonly _tag: "LostAgent"; readonly error: ExecutorDriverError }

/** The driver's metrics, for exporters and tests. */
export const metrics = {
  eventsByType: Metric.frequency("mesos_executor_events", { description: "Events received from the agent, by type" }),
  updatesSent: Metric.counter("mesos_executor_updates_sent", {
    description: "UPDATE calls accepted by the agent (202)",
    incremental: true
  }),
  updatesRetried: Metric.counter("mesos_executor_updates_retried", {
    description: "UPDATE calls sent again, after a refusal or for want of an ACK",
    incremental: true
  }),
  updatesAcknowledged: Metric.counter("mesos_executor_updates_acknowledged", {
    description: "Status updates acknowledged by the agent",
    incremental: true
  }),
  updatesPending: Metric.gauge("mesos_executor_updates_pending", { description: "Status updates waiting for their ACK" }),
  reconnects: Metric.counter("mesos_executor_reconnects", { description: "Subscriptions after the first", incremental: true })
}

const taskIdValue = (taskId: TaskID | string): string => (typeof taskId === "string" ? taskId : taskId.value)

/** Leaves room before the agent's own timer destroys the container (SPEC §6.3). */
const shutdownBudget = (grace: Duration.Duration): Duration.Duration => {
  const millis = Duration.toMillis(grace)
  return Duration.millis(Math.max(0, millis - Math.min(1000, millis / 10)))
}

export class ExecutorDriver extends Context.Service<ExecutorDriver, ExecutorDriverShape>()(
  "effect-mesos-executor/ExecutorDriver"
) {}

/**
 * Builds a driver for `executor` in the current scope, not yet started, with an explicit configuration.
 * Closing the scope releases the connection and every fiber.
 */
export const makeWithConfig = <E, R>(
  executor: Executor<E, R>,
  config: DriverConfig,
  options: DriverOptions = {}
): Effect.Effect<ExecutorDriverShape<E>, never, Scope.Scope | AgentClient | Exclude<R, ExecutorDriver>> =>
  Effect.gen(function*() {
    const agent = yield* AgentClient
    const callbackContext = yield* Effect.context<Exclude<R, ExecutorDriver>>()
    const driverScope = yield* Effect.scope
    // Everything the driver runs lives here, and is interrupted as soon as the driver ends.
    const runScope = yield* Scope.fork(driverScope, "parallel")
    const inRunScope = <A, E2, R2>(effect: Effect.Effect<A, E2, R2>) => Effect.forkIn(effect, runScope)
    const annotate = Effect.annotateLogs({ frameworkId: config.frameworkId, executorId: config.executorId })

    const callTimeout = Duration.fromInputUnsafe(options.callTimeout ?? Duration.seconds(30))
    const registrationTimeout = Duration.fromInputUnsafe(options.registrationTimeout ?? Duration.minutes(1))
    const withCallTimeout = <A, R2>(callType: string, call: Effect.Effect<A, AgentCallError, R2>) =>
      Effect.timeoutOrElse(call, {
        duration: callTimeout,
        orElse: () =>
          Effect.fail(
            new AgentCallError({
              reason: "Unavailable",
              call: callType,
              detail: `no answer from the agent within ${Duration.format(callTimeout)}`
            })
          )
      })
    const send = (call: Call) => withCallTimeout(Call_Type[call.type] ?? "call", agent.send(call))

    const ledger = new UpdateLedger<StatusUpdateFailed, UpdateDelivery.ScheduleState>()
    const ended = yield* Deferred.make<DriverEnd, E | ExecutorDriverError>()
    const queue = yield* Queue.bounded<DriverInput>(options.eventBufferSize ?? 4096)
    const subscribed = yield* Latch.make(false)
    const taskFibers = yield* FiberMap.make<string>().pipe(Scope.provide(runScope))
    const updateSenders = options.updateSenders ?? 32

    let started = false
    let running = true
    let shuttingDown = false
    let registration: Registration | undefined
    const ids = { frameworkId: { value: config.frameworkId }, executorId: { value: config.executorId } }

    const end = (exit: Exit.Exit<DriverEnd, E | ExecutorDriverError>) =>
      Effect.suspend(() => {
        if (running) {
          running = false
          delivery.abandon(new DriverNotRunning({ operation: "waiting for an acknowledgement" }))
        }
        return Deferred.done(ended, exit)
      })

    const callWith = (init: Pick<Call, "type"> & Partial<Pick<Call, "subscribe" | "update" | "message">>): Call =>
      create(CallSchema, { ...init, ...ids })

    // --- delivery of status updates -------------------------------------------------------------

    const delivery = yield* UpdateDelivery.make<StatusUpdateFailed>({
      ledger,
      send: (status) => send(callWith({ type: Call_Type.UPDATE, update: create(Call_UpdateSchema, { status }) })),
      subscribed,
      schedule: options.updateRetrySchedule ?? defaultUpdateRetrySchedule,
      senders: updateSenders,
      // An answer that will not change (400, 401, 403, ...) rejects the update and is reported to `error`.
      rejected: (taskId, error) => ({
        failure: new StatusUpdateRejected({ taskId, detail: error.message }),
        report: Queue.offer(queue, {
          _tag: "Error",
          message: `status update for task '${taskId}' rejected by the agent: ${error.message}`
        })
      }),
      metrics: { sent: metrics.updatesSent, retried: metrics.updatesRetried },
      scope: runScope
    })

    const receipt = (pending: UpdateDelivery.Pending<StatusUpdateFailed>): StatusUpdateReceipt => ({
      uuid: pending.status.uuid,
      acknowledged: Effect.callback<void, StatusUpdateFailed>((resume) => {
        const notify = (settlement: Settlement<StatusUpdateFailed>) =>
          resume(settlement.failure === undefined ? Effect.void : Effect.fail(settlement.failure))
        if (pending.settlement !== undefined) return notify(pending.settlement)
        const waiters = pending.waiters ?? (pending.waiters = [])
        waiters.push(notify)
        return Effect.sync(() => {
          const index = waiters.indexOf(notify)
          if (index >= 0) waiters.splice(index, 1)
        })
      })
    })

    const sendStatusUpdate = Effect.fn("ExecutorDriver.sendStatusUpdate")(function*(update: StatusUpdate) {
      const taskId = update.taskId?.value ?? ""
      if (!running) return yield* new DriverNotRunning({ operation: "sendStatusUpdate" })
      if (taskId === "") return yield* new InvalidStatusUpdate({ taskId, reason: "task_id is missing" })
      if (update.state === TaskState.TASK_STAGING || update.state === undefined) {
        return yield* new InvalidStatusUpdate({
          taskId,
          reason: "state must be set and must not be TASK_STAGING (the agent rejects TASK_STAGING from executors)"
        })
      }
      if (update.executorId !== undefined && update.executorId.value !== config.executorId) {
        return yield* new InvalidStatusUpdate({
          taskId,
          reason: `executor_id '${update.executorId.value}' is not this executor's ('${config.executorId}')`
        })
      }
      const now = yield* Clock.currentTimeMillis
      const status = create(TaskStatusSchema, {
        timestamp: now / 1000,
        ...update,
        uuid: StatusUuid.random(),
        source: TaskStatus_Source.EXECUTOR,
        executorId: ids.executorId
      })
      const pending = delivery.submit(status)
      yield* Metric.update(metrics.updatesPending, ledger.pendingUpdates)
      yield* Effect.annotateCurrentSpan({ taskId, state: TaskState[status.state] ?? String(status.state) })
      return receipt(pending)
    })

    const sendFrameworkMessage = Effect.fn("ExecutorDriver.sendFrameworkMessage")(function*(data: Uint8Array) {
      if (!running) return yield* new DriverNotRunning({ operation: "sendFrameworkMessage" })
      yield* send(callWith({ type: Call_Type.MESSAGE, message: create(Call_MessageSchema, { data }) })).pipe(
        Effect.mapError((error) => new FrameworkMessageFailed({ detail: error.message }))
      )
    })

    const awaitDrained = Effect.callback<void>((resume) => {
      const cancel = ledger.onDrained(() => resume(Effect.void))
      return Effect.sync(cancel)
    })

    // --- the connection ------------------------------------------------------------------------

    let subscriptions = 0

    // ACKs bypass the callback queue, so that a slow callback does not delay them as long as the queue
    // (eventBufferSize) has room; past that the stream is not read until the callbacks catch up. A batch
    // of events read together is sorted in one synchronous pass: ACKs are applied at once, and the other
    // events are queued in order.
    const receive = (events: ReadonlyArray<AgentEvent>): Effect.Effect<void> =>
      Effect.flatMap(Effect.context<never>(), (context) => {
        const queued: Array<AgentEvent> = []
        const notes: Array<Effect.Effect<void>> = []
        let acknowledged = 0
        for (const event of events) {
          metrics.eventsByType.updateUnsafe(event._tag, context)
          switch (event._tag) {
            case "Acknowledged":
              if (delivery.acknowledge(event.taskId.value, event.uuid)) acknowledged++
              else notes.push(Effect.logDebug("ACKNOWLEDGED for no pending update (a duplicate)"))
              break
            case "Heartbeat":
              notes.push(Effect.logDebug("HEARTBEAT from the agent"))
              break
            case "Unknown":
              notes.push(Effect.logWarning("skipping an event this driver does not know", { type: event.type }))
              break
            default:
              queued.push(event)
          }
        }
        if (acknowledged > 0) {
          metrics.updatesAcknowledged.updateUnsafe(acknowledged, context)
          metrics.updatesPending.updateUnsafe(ledger.pendingUpdates, context)
        }
        const offers = queued.length === 0
          ? Effect.void
          : Effect.forEach(queued, (event) => Queue.offer(queue, event), { discard: true })
        return notes.length === 0 ? offers : Effect.andThen(Effect.all(notes, { discard: true }), offers)
      })

    const subscribeCall = () => callWith({ type: Call_Type.SUBSCRIBE, subscribe: ledger.subscribePayload() })

    /**
     * Subscribes, retrying transient failures after uniform random waits in [0, backoff max], until
     * `giveUp` (the end of the registration or recovery window).
     */
    const acquireSubscription = (giveUp: { readonly at: number; readonly error: ExecutorDriverError }) =>
      Effect.gen(function*() {
        let attempt = 0
        while (true) {
          if (attempt++ > 0) {
            yield* Effect.sleep(Duration.millis(yield* Random.nextBetween(0, Duration.toMillis(config.subscriptionBackoffMax))))
          }
          const scope = yield* Scope.make()
          const result = yield* withCallTimeout("SUBSCRIBE", agent.subscribe(subscribeCall())).pipe(
            Scope.provide(scope),
            Effect.result
          )
          if (result._tag === "Success") return { events: result.success, scope }
          yield* Scope.close(scope, Exit.void)
          const error: AgentCallError = result.failure
          if (!error.isTransient) {
            yield* Effect.logError("the agent refused SUBSCRIBE; giving up", error.message)
            return yield* new ExecutorDriverError({ reason: "SubscribeRejected", detail: error.message })
          }
          yield* Effect.logWarning("subscribe failed; retrying", error.message)
        }
      }).pipe((attempts) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.timeoutOrElse(attempts, {
            duration: Duration.millis(Math.max(0, giveUp.at - now)),
            orElse: () => Effect.fail(giveUp.error)
          })
        )
      )

    /** The window to subscribe in, from now: the first time, and after each disconnection. */
    const window = (first: boolean) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        first
          ? {
            at: now + Duration.toMillis(registrationTimeout),
            error: new ExecutorDriverError({
              reason: "RegistrationTimeout",
              detail: `could not subscribe within ${Duration.format(registrationTimeout)} of starting`
            })
          }
          : {
            at: now + Duration.toMillis(config.recoveryTimeout),
            error: new ExecutorDriverError({
              reason: "RecoveryTimeout",
              detail: `not subscribed again within the recovery timeout (${Duration.format(config.recoveryTimeout)})`
            })
          })

    const onSubscribed = Effect.suspend(() => {
      subscriptions++
      return Effect.andThen(
        subscriptions > 1 ? Metric.update(metrics.reconnects, 1) : Effect.void,
        Effect.andThen(delivery.subscribed, Latch.open(subscribed))
      )
    })

    const connection = Effect.gen(function*() {
      let giveUp = yield* window(true)
      while (true) {
        const { events, scope } = yield* acquireSubscription(giveUp)
        yield* onSubscribed
        const lost = yield* Stream.runForEachArray(events, receive).pipe(
          Effect.match({
            onFailure: (disconnected) => disconnected,
            onSuccess: () => new AgentDisconnected({ reason: "EndOfStream", detail: "the event stream ended" })
          }),
          Effect.ensuring(Effect.andThen(Latch.close(subscribed), Scope.close(scope, Exit.void)))
        )
        yield* Effect.logWarning(lost.message)
        yield* Queue.offer(queue, { _tag: "Disconnected" })
        if (!config.checkpoint) {
          return yield* new ExecutorDriverError({
            reason: "Disconnected",
            detail: `${lost.message}; the framework does not checkpoint, so there is no agent recovery to wait for`
          })
        }
        giveUp = yield* window(false)
      }
    }).pipe(
      Effect.catch((error) => Queue.offer(queue, { _tag: "LostAgent", error })),
      Effect.annotateLogs({ fiber: "connection" })
    )

    const heartbeats = Effect.gen(function*() {
      const interval = Duration.fromInputUnsafe(options.heartbeatInterval ?? Duration.minutes(30))
      while (true) {
        yield* Effect.sleep(interval)
        if (Latch.isOpen(subscribed)) {
          yield* send(callWith({ type: Call_Type.HEARTBEAT })).pipe(
            Effect.catch((error) => Effect.logDebug("HEARTBEAT call failed", error.message))
          )
        }
      }
    })

    // --- the event fiber -----------------------------------------------------------------------

    const provideCallback = <A>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E> =>
      effect.pipe(Effect.provideService(ExecutorDriver, driver), Effect.provideContext(callbackContext)) as Effect.Effect<A, E>

    /** Runs a callback; its failure ends the driver with that error, and no callback runs after it. */
    const callback = (name: string, effect: Effect.Effect<void, E, R> | undefined) =>
      effect === undefined
        ? Effect.void
        : provideCallback(effect).pipe(
          Effect.withSpan(`Executor.${name}`),
          Effect.onError((cause) => end(Exit.failCause(cause)))
        )

    // Signals the interruption without waiting for the task's finalizers, which may take a grace period.
    const interruptTask = (taskId: string) =>
      Effect.map(FiberMap.get(taskFibers, taskId), Option.map((fiber) => fiber.interruptUnsafe()))

    /**
     * Runs `shutdown`, interrupts the task fibers (their finalizers may send terminal updates) and, while
     * the agent is still there to acknowledge them, waits for pending updates; all within the grace period.
     */
    const shutdown = (outcome: Exit.Exit<DriverEnd, ExecutorDriverError>) =>
      Effect.gen(function*() {
        if (shuttingDown) return
        shuttingDown = true
        const agentGone = outcome._tag === "Failure"
        yield* Effect.gen(function*() {
          yield* callback("shutdown", executor.shutdown)
          yield* FiberMap.clear(taskFibers)
          if (!agentGone) yield* awaitDrained
        }).pipe(
          Effect.timeoutOrElse({
            duration: shutdownBudget(config.shutdownGracePeriod),
            orElse: () =>
              Effect.logWarning("shutdown grace period nearly over; ending with updates unacknowledged", {
                pendingUpdates: ledger.pendingUpdates
              })
          })
        )
        yield* end(outcome)
      })

    const dispatch = (input: DriverInput): Effect.Effect<void, E> => {
      switch (input._tag) {
        case "Subscribed": {
          const first = registration === undefined
          registration = {
            executorInfo: input.executorInfo,
            frameworkInfo: input.frameworkInfo,
            agentInfo: input.agentInfo,
            containerId: input.containerId
          }
          return first
            ? callback("registered", executor.registered?.(registration))
            : callback("reregistered", executor.reregistered?.(input.agentInfo))
        }
        case "Launch":
          ledger.trackTask(input.task)
          return Effect.annotateLogs(callback("launchTask", executor.launchTask(input.task)), {
            taskId: input.task.taskId?.value ?? ""
          })
        case "LaunchGroup": {
          for (const task of input.taskGroup.tasks) ledger.trackTask(task)
          if (executor.launchTaskGroup !== undefined) {
            return callback("launchTaskGroup", executor.launchTaskGroup(input.taskGroup))
          }
          return Effect.forEach(input.taskGroup.tasks, (task) => callback("launchTask", executor.launchTask(task)), {
            discard: true
          })
        }
        case "Kill": {
          const taskId = input.taskId.value
          return callback("killTask", executor.killTask?.(input.taskId, input.killPolicy)).pipe(
            Effect.andThen(interruptTask(taskId)),
            Effect.asVoid,
            Effect.annotateLogs({ taskId })
          )
        }
        case "Message":
          return callback("frameworkMessage", executor.frameworkMessage?.(input.data))
        case "Error":
          return callback("error", executor.error?.(input.message))
        case "Shutdown":
          return shutdown(Exit.succeed("Stopped"))
        case "Disconnected":
          return shuttingDown ? Effect.void : callback("disconnected", executor.disconnected)
        case "LostAgent":
          return input.error.reason === "SubscribeRejected"
            ? Effect.andThen(callback("error", executor.error?.(input.error.message)), shutdown(Exit.fail(input.error)))
            : shutdown(Exit.fail(input.error))
        case "Acknowledged":
        case "Heartbeat":
        case "Unknown":
          return Effect.void
      }
    }

    const eventLoop = Effect.whileLoop({
      while: () => running,
      // `abort` may land while an event is taken: no callback runs after it.
      body: () => Effect.flatMap(Queue.take(queue), (input) => (running ? dispatch(input) : Effect.void)),
      step: () => {}
    })

    // --- lifecycle -----------------------------------------------------------------------------

    const start = Effect.suspend(() => {
      if (started) return Effect.void
      started = true
      return Effect.andThen(
        delivery.start,
        Effect.all([connection, eventLoop, heartbeats].map((fiber) => inRunScope(annotate(fiber))), { discard: true })
      )
    })

    const stop = Effect.gen(function*() {
      if (!running) return
      yield* awaitDrained.pipe(Effect.timeoutOption(shutdownBudget(config.shutdownGracePeriod)))
      yield* end(Exit.succeed("Stopped"))
    })

    const awaitEnd = Deferred.await(ended)

    const driver: ExecutorDriverShape<E> = {
      frameworkId: config.frameworkId,
      executorId: config.executorId,
      registration: Effect.sync(() => registration),
      sendStatusUpdate,
      sendFrameworkMessage,
      runTask: (taskId, work) =>
        FiberMap.run(taskFibers, taskIdValue(taskId))(
          Effect.interruptible(work).pipe(
            Effect.catchCause((cause) =>
              Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError("task fiber failed", cause)
            ),
            Effect.annotateLogs({ taskId: taskIdValue(taskId) }),
            annotate
          )
        ).pipe(Effect.asVoid),
      start,
      stop,
      abort: end(Exit.succeed("Aborted")).pipe(Effect.asVoid),
      await: awaitEnd,
      run: Effect.andThen(start, awaitEnd)
    }

    // When the driver ends, stop everything it runs (not from inside the fibers being stopped).
    yield* Deferred.await(ended).pipe(
      Effect.exit,
      Effect.andThen(Scope.close(runScope, Exit.void)),
      Effect.forkIn(driverScope)
    )
    yield* Scope.addFinalizer(driverScope, end(Exit.succeed("Aborted")))

    return driver
  })

const fromConfig = <A, E, R>(use: (config: DriverConfig) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    return yield* use(yield* ExecutorConfig)
  })

/**
 * Builds a driver for `executor` in the current scope, not yet started, configured by the
 * `ExecutorConfig` service. Its `await` and `run` fail with the executor's own error type.
 */
export const make = <E, R>(
  executor: Executor<E, R>,
  options?: DriverOptions
): Effect.Effect<ExecutorDriverShape<E>, never, Scope.Scope | AgentClient | ExecutorConfig | Exclude<R, ExecutorDriver>> =>
  fromConfig((config) => makeWithConfig(executor, config, options))

/**
 * The driver as a scoped `Layer`, configured by the `ExecutorConfig` service and not yet started: call
 * `start` or `run` on the `ExecutorDriver` service. For the executor's own error type in the result,
 * use `run` (or `make`).
 */
export const layer = <E, R>(
  executor: Executor<E, R>,
  options?: DriverOptions
): Layer.Layer<ExecutorDriver, never, AgentClient | ExecutorConfig | Exclude<R, ExecutorDriver>> =>
  Layer.effect(ExecutorDriver, fromConfig((config) => makeService(executor, config, options)))

/** `layer` with an explicit configuration instead of the `ExecutorConfig` service. */
export const layerConfig = <E, R>(
  executor: Executor<E, R>,
  config: DriverConfig,
  options?: DriverOptions
): Layer.Layer<ExecutorDriver, never, AgentClient | Exclude<R, ExecutorDriver>> =>
  Layer.effect(ExecutorDriver, makeService(executor, config, options))

const makeService = <E, R>(executor: Executor<E, R>, config: DriverConfig, options: DriverOptions | undefined) =>
  makeWithConfig(executor, config, options) as Effect.Effect<
    ExecutorDriverShape,
    never,
    Scope.Scope | AgentClient | Exclude<R, ExecutorDriver>
  >

/**
 * Runs `executor` until the driver ends: `Stopped` / `Aborted`, or the executor's own error, or an
 * `ExecutorDriverError` (recovery timeout, lost agent, subscription refused).
 */
export const run = <E, R>(
  executor: Executor<E, R>,
  options?: DriverOptions
): Effect.Effect<DriverEnd, E | ExecutorDriverError, AgentClient | ExecutorConfig | Exclude<R, ExecutorDriver>> =>
  Effect.scoped(Effect.flatMap(make(executor, options), (driver) => driver.run))
