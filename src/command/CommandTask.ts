/**
 * One task of the command executor, from LAUNCH to its terminal status update, as the Mesos command
 * executor runs its task (`src/launcher/executor.cpp`):
 *
 * - TASK_STARTING at once, TASK_RUNNING once the command is forked, then its health checks and its
 *   `max_completion_time` timer;
 * - the exit decides the terminal state: a timer kill is TASK_FAILED (REASON_MAX_COMPLETION_TIME_REACHED),
 *   any other kill TASK_KILLED, exit status 0 TASK_FINISHED, anything else TASK_FAILED; the message says
 *   how the command ended ("Command exited with status 3");
 * - a kill sends TASK_KILLING (if the framework can handle it, and not for a timer kill), stops the health
 *   checks, SIGTERMs the process group and SIGKILLs it when the grace period ends. A later kill can only
 *   bring the SIGKILL closer: its grace period counts from the first kill.
 *
 * Status updates of the task go out one at a time, so that no health update follows its terminal one.
 */
import { Cause, Clock, Deferred, Duration, Effect, FiberHandle, Latch, Result, Scope, Semaphore } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import type { ExecutorDriverShape, StatusUpdate } from "../driver/ExecutorDriver.js"
import {
  type CommandInfo,
  FrameworkInfo_Capability_Type,
  HealthCheck_Type,
  type TaskInfo,
  TaskState,
  TaskStatus_Reason
} from "../gen/mesos/v1/mesos_pb.js"
import * as HealthChecker from "./HealthChecker.js"
import * as HealthProbe from "./HealthProbe.js"
import * as KillPolicy from "./KillPolicy.js"
import * as TaskCommand from "./TaskCommand.js"
import * as TaskExit from "./TaskExit.js"

/** Why a task is being killed. */
export type KillCause = "Killed" | "HealthCheckFailed" | "MaxCompletionTime" | "TaskGroupFailed" | "Shutdown"

/** The tasks of one LAUNCH_GROUP: they live and die together. */
export interface TaskGroup {
  readonly taskIds: ReadonlyArray<string>
  /** Set once the group is being killed because one of its tasks failed or was killed. */
  killing: boolean
}

/** What every task of the executor runs with. */
export interface Runtime {
  readonly driver: ExecutorDriverShape
  readonly spawner: ChildProcessSpawner.ChildProcessSpawner["Service"]
  /** The sandbox, where commands run. */
  readonly cwd: string | undefined
  /** Health checks run only while this is open (the executor is connected to its agent). */
  readonly healthChecksActive: Latch.Latch
}

export interface Outcome {
  readonly state: TaskState
  /** Completes when the agent acknowledged the terminal update; undefined if the driver had ended. */
  readonly acknowledged: Effect.Effect<void> | undefined
}

export interface CommandTask {
  readonly id: string
  readonly info: TaskInfo
  readonly group: TaskGroup | undefined
  /**
   * Reports the task TASK_STARTING, or TASK_FAILED if its command names nothing to run. Call it as the
   * task arrives, before any kill of it can be handled.
   */
  readonly start: Effect.Effect<void>
  /**
   * Runs a started task: up to its terminal status update, then until whatever its command left in its
   * process group is gone. Run it once, after `start`.
   */
  readonly run: Effect.Effect<void>
  /**
   * Kills the task: with `gracePeriod` between SIGTERM and SIGKILL on the first kill; a later one
   * may only shorten what is left of it.
   */
  readonly kill: (gracePeriod: Duration.Duration, cause: KillCause) => Effect.Effect<void>
  /** Whether a kill has begun. */
  readonly isKilling: () => boolean
  /** Completes once the terminal status update has been handed to the driver. */
  readonly ended: Effect.Effect<Outcome>
}

interface Kill {
  readonly cause: KillCause
  readonly startedAt: number
  /** When SIGKILL is due (clock milliseconds). */
  deadline: number
}

/** How the command's life ended, to be told to the scheduler. */
type Ending =
  | { readonly _tag: "Exited"; readonly exit: TaskExit.TaskExit }
  | { readonly _tag: "LaunchFailed"; readonly message: string }
  | { readonly _tag: "ExitUnknown"; readonly message: string }
  | { readonly _tag: "NotStarted" }

const hasKillingState = (driver: ExecutorDriverShape) =>
  Effect.map(
    driver.registration,
    (registration) =>
      registration?.frameworkInfo.capabilities.some(
        (capability) => capability.type === FrameworkInfo_Capability_Type.TASK_KILLING_STATE
      ) ?? false
  )

export const make = (info: TaskInfo, group: TaskGroup | undefined, runtime: Runtime): Effect.Effect<CommandTask> =>
  Effect.gen(function*() {
    const id = info.taskId?.value ?? ""
    const { driver, spawner } = runtime
    const ended = yield* Deferred.make<Outcome>()
    const updates = yield* Semaphore.make(1)
    const annotate = Effect.annotateLogs({ taskId: id })

    let kill: Kill | undefined
    let terminal = false
    let killedByHealthCheck = false
    let lastState: TaskState | undefined
    // Set while `run` is under way: the process and the fibers a kill acts on.
    let live:
      | {
        readonly scope: Scope.Scope
        readonly process: ChildProcessSpawner.ChildProcessHandle | undefined
        readonly health: FiberHandle.FiberHandle
        readonly timer: FiberHandle.FiberHandle
        readonly escalation: FiberHandle.FiberHandle
      }
      | undefined

    /** The receipt of the update; none once the driver has ended (there is no one left to tell). */
    const toDriver = (update: StatusUpdate) =>
      driver.sendStatusUpdate({ taskId: { value: id }, ...update }).pipe(
        Effect.tap(() => Effect.logDebug(`sent ${TaskState[update.state ?? TaskState.TASK_STAGING]}`)),
        Effect.catchTags({
          DriverNotRunning: (error) => Effect.as(Effect.logWarning("status update not sent", error.message), undefined),
          // The updates built here are valid by construction.
          InvalidStatusUpdate: Effect.die
        })
      )

    /**
     * Sends the update `build` gives, unless the task has ended (or `build` declines). Updates go out one
     * at a time, so the check and the send are one step.
     */
    const send = (build: () => StatusUpdate | undefined) =>
      updates.withPermit(
        Effect.suspend(() => {
          const update = terminal ? undefined : build()
          if (update === undefined) return Effect.succeed(undefined)
          if (update.state !== undefined && update.reason !== TaskStatus_Reason.TASK_HEALTH_CHECK_STATUS_UPDATED) {
            lastState = update.state
          }
          return toDriver(update)
        })
      )

    /** Sends the terminal update (once) and tells `ended`. */
    const finish = (update: StatusUpdate) =>
      updates.withPermit(
        Effect.gen(function*() {
          if (terminal) return
          terminal = true
          const receipt = yield* toDriver(update)
          const state = update.state ?? TaskState.TASK_FAILED
          yield* Effect.logInfo(`task ended ${TaskState[state]}${update.message ? `: ${update.message}` : ""}`)
          yield* Deferred.succeed(ended, {
            state,
            acknowledged: receipt === undefined ? undefined : Effect.ignore(receipt.acknowledged)
          })
        })
      )

    const signal = (handle: ChildProcessSpawner.ChildProcessHandle, scope: Scope.Scope, name: "SIGTERM" | "SIGKILL") =>
      // `kill` waits until the group is gone; the wait belongs to the task's scope, not to the caller.
      Effect.forkIn(Effect.ignore(handle.kill({ killSignal: name })), scope)

    const scheduleEscalation = Effect.gen(function*() {
      if (live?.process === undefined || kill === undefined) return
      const { escalation, process: handle, scope } = live
      const remaining = Math.max(0, kill.deadline - (yield* Clock.currentTimeMillis))
      const grace = Duration.millis(kill.deadline - kill.startedAt)
      yield* FiberHandle.run(
        escalation,
        Effect.sleep(Duration.millis(remaining)).pipe(
          Effect.andThen(Effect.logInfo(`command did not terminate after ${Duration.format(grace)}; sending SIGKILL`)),
          Effect.andThen(signal(handle, scope, "SIGKILL"))
        )
      )
    })

    /** SIGTERM, and SIGKILL at the deadline; once the process exists and is being killed. */
    const signalKill = Effect.gen(function*() {
      if (live?.process === undefined || kill === undefined) return
      yield* Effect.logInfo(`sending SIGTERM to the process group of pid ${live.process.pid}`)
      yield* signal(live.process, live.scope, "SIGTERM")
      yield* scheduleEscalation
    })

    const killTask = Effect.fn("CommandTask.kill")(function*(gracePeriod: Duration.Duration, cause: KillCause) {
      const now = yield* Clock.currentTimeMillis
      const deadline = now + Duration.toMillis(gracePeriod)
      const decision = yield* Effect.sync(() => {
        if (terminal) return "Ignore" as const
        if (kill !== undefined) {
          if (kill.startedAt + Duration.toMillis(gracePeriod) >= kill.deadline) return "Ignore" as const
          kill.deadline = Math.max(now, kill.startedAt + Duration.toMillis(gracePeriod))
          return "Shorten" as const
        }
        kill = { cause, startedAt: now, deadline }
        return "Start" as const
      })
      if (decision === "Ignore") return
      if (decision === "Shorten") {
        yield* Effect.logInfo(`kill grace period shortened to ${Duration.format(gracePeriod)}`)
        return yield* scheduleEscalation
      }
      yield* Effect.logInfo(`killing the task (${cause}) with a grace period of ${Duration.format(gracePeriod)}`)
      if (cause !== "MaxCompletionTime" && (yield* hasKillingState(driver))) {
        yield* send(() => ({ state: TaskState.TASK_KILLING }))
      }
      if (live !== undefined) {
        yield* FiberHandle.clear(live.health)
        yield* FiberHandle.clear(live.timer)
      }
      yield* signalKill
    })

    /** A kill asked for by one of the task's own fibers, which the kill interrupts: run it apart. */
    const killFromWithin = (gracePeriod: Duration.Duration, cause: KillCause) =>
      live === undefined ? Effect.void : Effect.asVoid(Effect.forkIn(killTask(gracePeriod, cause), live.scope))

    const reportHealth = (status: HealthChecker.HealthStatus) =>
      Effect.gen(function*() {
        const sent = yield* send(() =>
          kill !== undefined || lastState === undefined
            ? undefined
            : { state: lastState, healthy: status.healthy, reason: TaskStatus_Reason.TASK_HEALTH_CHECK_STATUS_UPDATED }
        )
        if (sent === undefined || !status.killTask) return
        killedByHealthCheck = true
        yield* killFromWithin(KillPolicy.gracePeriod(undefined, info.killPolicy), "HealthCheckFailed")
      })

    const startHealthChecks = (health: FiberHandle.FiberHandle, environment: Record<string, string>) =>
      Effect.gen(function*() {
        const check = info.healthCheck
        if (check === undefined || kill !== undefined) return
        const probe = HealthProbe.make(check, { spawner, cwd: runtime.cwd, environment })
        if (Result.isFailure(probe)) {
          // As the command executor does: the task runs on, unchecked.
          return yield* Effect.logError("cannot health check the task", probe.failure.message)
        }
        yield* FiberHandle.run(
          health,
          HealthChecker.run(HealthChecker.settings(check), probe.success, reportHealth, runtime.healthChecksActive).pipe(
            Effect.annotateLogs({ healthCheck: HealthCheck_Type[check.type] })
          )
        )
      })

    const startCompletionTimer = (timer: FiberHandle.FiberHandle) =>
      Effect.gen(function*() {
        const nanoseconds = info.maxCompletionTime?.nanoseconds ?? 0n
        if (nanoseconds <= 0n) return
        const limit = Duration.nanos(nanoseconds)
        yield* FiberHandle.run(
          timer,
          Effect.sleep(limit).pipe(
            Effect.andThen(Effect.logInfo(`the task exceeded its maximum completion time of ${Duration.format(limit)}`)),
            Effect.andThen(killFromWithin(Duration.zero, "MaxCompletionTime"))
          )
        )
      })

    const terminalUpdate = (ending: Ending): StatusUpdate => {
      const message = ending._tag === "Exited"
        ? `Command ${TaskExit.describe(ending.exit)}`
        : ending._tag === "NotStarted"
        ? "Task killed before its command was started"
        : ending.message
      const healthy = kill !== undefined && killedByHealthCheck ? { healthy: false } : {}
      if (kill?.cause === "MaxCompletionTime") {
        return { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.MAX_COMPLETION_TIME_REACHED, message }
      }
      if (kill !== undefined) return { state: TaskState.TASK_KILLED, message, ...healthy }
      if (ending._tag === "Exited" && TaskExit.isSuccess(ending.exit)) return { state: TaskState.TASK_FINISHED, message }
      if (ending._tag === "LaunchFailed") {
        return { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.CONTAINER_LAUNCH_FAILED, message }
      }
      return { state: TaskState.TASK_FAILED, message }
    }

    /** From the fork of the command to its terminal update, in a scope that ends the process group. */
    const supervise = (command: CommandInfo) =>
      Effect.gen(function*() {
        const scope = yield* Effect.scope
        const health = yield* FiberHandle.make()
        const timer = yield* FiberHandle.make()
        const escalation = yield* FiberHandle.make()
        live = { scope, process: undefined, health, timer, escalation }
        if (kill !== undefined) return yield* finish(terminalUpdate({ _tag: "NotStarted" }))
        yield* startCompletionTimer(timer)
        const environment = TaskCommand.taskEnvironment(info)
        const spawned = yield* Effect.result(
          spawner.spawn(TaskCommand.make(command, { cwd: runtime.cwd, environment }))
        )
        if (Result.isFailure(spawned)) {
          yield* FiberHandle.clear(timer)
          return yield* finish(
            terminalUpdate({ _tag: "LaunchFailed", message: `Failed to launch the command: ${spawned.failure.message}` })
          )
        }
        const handle = spawned.success
        live = { ...live, process: handle }
        yield* Effect.logInfo(`forked command at pid ${handle.pid}: ${TaskCommand.display(command)}`)
        if (kill === undefined) {
          yield* send(() => ({ state: TaskState.TASK_RUNNING }))
          yield* startHealthChecks(health, environment)
        } else {
          yield* signalKill
        }
        const exit = yield* Effect.result(TaskExit.await(handle))
        // No health update, kill or escalation after this: the terminal update comes next.
        yield* FiberHandle.clear(health)
        yield* FiberHandle.clear(timer)
        yield* FiberHandle.clear(escalation)
        return yield* finish(terminalUpdate(
          Result.isSuccess(exit)
            ? { _tag: "Exited", exit: exit.success }
            : { _tag: "ExitUnknown", message: `Failed to get exit status for Command: ${exit.failure.message}` }
        ))
      }).pipe(
        // Closing the scope SIGKILLs whatever the command left behind in its process group (waiting up
        // to a second for the group to go, longer than the terminal update should wait).
        Effect.scoped,
        Effect.ensuring(Effect.sync(() => {
          live = undefined
        }))
      )

    // The valid command, once `start` accepted the task.
    let command: CommandInfo | undefined

    const start = Effect.gen(function*() {
      const checked = info.command === undefined
        ? Result.fail(`Task '${id}' has no command; this executor runs TaskInfo.command`)
        : Result.mapError(TaskCommand.validate(info.command, `task '${id}'`), (invalid) => invalid.message)
      if (Result.isFailure(checked)) {
        return yield* finish({
          state: TaskState.TASK_FAILED,
          reason: TaskStatus_Reason.TASK_INVALID,
          message: checked.failure
        })
      }
      command = checked.success
      yield* send(() => ({ state: TaskState.TASK_STARTING }))
    }).pipe(annotate)

    const run: Effect.Effect<void> = Effect.suspend(() =>
      command === undefined ? Effect.void : supervise(command).pipe(
        // A defect must still end the task for the scheduler (an interruption means the executor is going).
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : finish({
            state: TaskState.TASK_FAILED,
            message: `The executor failed to supervise the task: ${String(Cause.squash(cause))}`
          })
        )
      )
    ).pipe(annotate, Effect.withSpan("CommandTask.run", { attributes: { taskId: id } }))

    return {
      id,
      info,
      group,
      start,
      run,
      kill: (gracePeriod, cause) => annotate(killTask(gracePeriod, cause)),
      isKilling: () => kill !== undefined,
      ended: Deferred.await(ended)
    }
  })
