/**
 * The command executor: runs each task's `TaskInfo.command` as a child process, as the Mesos command
 * executor does for its single task, and serves any number of tasks and task groups at once, as the Mesos
 * default executor does (SPEC §6.3, §6.4).
 *
 * - LAUNCH / LAUNCH_GROUP: each task runs as described in `CommandTask` (TASK_STARTING, TASK_RUNNING, the
 *   exit's terminal state, health checks, `max_completion_time`). When a task of a group ends TASK_FAILED
 *   or TASK_KILLED, the rest of its group is killed.
 * - KILL: SIGTERM, then SIGKILL after the grace period of the KILL's kill policy, else the task's, else
 *   3 seconds; TASK_KILLING first when the framework has the TASK_KILLING_STATE capability.
 * - SHUTDOWN (or a lost agent): every task is killed with a grace period short enough for everything to
 *   fit in the executor's shutdown grace period; the driver then waits for the acknowledgements and ends.
 * - Once every task has ended and the agent acknowledged every terminal update, the executor stops the
 *   driver, so the process can exit; an executor that has not been given a task yet keeps waiting.
 * - While disconnected from the agent, health checks pause (they resume on re-subscription).
 *
 * No task process outlives the executor: closing the executor's scope kills every process group.
 *
 * ```ts
 * const main = CommandExecutor.run().pipe(
 *   Effect.provide(
 *     Layer.mergeAll(HttpAgentClient.layer, NodeServices.layer).pipe(Layer.provideMerge(ExecutorConfig.layer))
 *   )
 * )
 * ```
 */
import { Cause, Duration, Effect, FiberSet, Latch, Option, Scope } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { ExecutorConfig } from "../config/ExecutorConfig.js"
import type { Executor } from "../driver/Executor.js"
import * as ExecutorDriver from "../driver/ExecutorDriver.js"
import type { ExecutorDriverError } from "../driver/ExecutorDriverError.js"
import type { KillPolicy as KillPolicyInfo, TaskGroupInfo, TaskID, TaskInfo } from "../gen/mesos/v1/mesos_pb.js"
import { TaskState } from "../gen/mesos/v1/mesos_pb.js"
import type { AgentClient } from "../transport/AgentClient.js"
import * as CommandTask from "./CommandTask.js"
import * as KillPolicy from "./KillPolicy.js"

/**
 * Builds the command executor. Its tasks live in the current scope: closing it kills whatever still runs.
 * Tasks run in the sandbox (`MESOS_SANDBOX`, else `MESOS_DIRECTORY`, else the current directory).
 */
export const make: Effect.Effect<
  Executor<never, ExecutorDriver.ExecutorDriver>,
  never,
  Scope.Scope | ChildProcessSpawner.ChildProcessSpawner | ExecutorConfig
> = Effect.gen(function*() {
  const config = yield* ExecutorConfig
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const fibers = yield* FiberSet.make()
  const healthChecksActive = yield* Latch.make(true)
  const cwd = Option.getOrUndefined(Option.orElse(config.sandbox, () => config.directory))
  const shutdownGracePeriod = KillPolicy.shutdownGracePeriod(config.shutdownGracePeriod)

  /** Tasks that have not ended yet, by id. */
  const tasks = new Map<string, CommandTask.CommandTask>()
  /** Ended tasks whose terminal update the agent has not acknowledged yet. */
  let unacknowledgedEnds = 0
  let launchedAny = false
  let shuttingDown = false

  const gracePeriodOf = (task: CommandTask.CommandTask, killPolicy: KillPolicyInfo | undefined) =>
    KillPolicy.gracePeriod(killPolicy, task.info.killPolicy)

  const killGroup = (group: CommandTask.TaskGroup) =>
    Effect.gen(function*() {
      group.killing = true
      yield* Effect.logInfo(`killing the rest of the task group ${group.taskIds.join(", ")}`)
      for (const taskId of group.taskIds) {
        const member = tasks.get(taskId)
        if (member === undefined || member.group !== group || member.isKilling()) continue
        yield* member.kill(gracePeriodOf(member, undefined), "TaskGroupFailed")
      }
    })

  /** Ends the driver once nothing is left to run or to acknowledge. */
  const stopIfIdle = (driver: ExecutorDriver.ExecutorDriverShape) =>
    Effect.suspend(() =>
      launchedAny && !shuttingDown && tasks.size === 0 && unacknowledgedEnds === 0
        ? Effect.andThen(Effect.logInfo("all tasks ended and acknowledged; stopping"), driver.stop)
        : Effect.void
    )

  /** After the task's terminal update: the rest of its group, the acknowledgement, maybe the end. */
  const afterEnd = (task: CommandTask.CommandTask, driver: ExecutorDriver.ExecutorDriverShape) =>
    Effect.gen(function*() {
      const outcome = yield* task.ended
      yield* Effect.sync(() => {
        tasks.delete(task.id)
        if (outcome.acknowledged !== undefined) unacknowledgedEnds++
      })
      const group = task.group
      const failed = outcome.state === TaskState.TASK_FAILED || outcome.state === TaskState.TASK_KILLED
      if (group !== undefined && failed && !group.killing && !shuttingDown) yield* killGroup(group)
      if (outcome.acknowledged === undefined) return
      yield* outcome.acknowledged.pipe(
        Effect.ensuring(Effect.sync(() => {
          unacknowledgedEnds--
        }))
      )
      yield* stopIfIdle(driver)
    })

  /** A task's fiber; its logs name the task (and not the driver's fiber that launched it). */
  const supervised = <A, E>(task: CommandTask.CommandTask, effect: Effect.Effect<A, E>) =>
    effect.pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError("task supervision failed", cause)
      ),
      Effect.annotateLogs({ fiber: "task", taskId: task.id })
    )

  const launch = (infos: ReadonlyArray<TaskInfo>, group: CommandTask.TaskGroup | undefined) =>
    Effect.gen(function*() {
      const driver = yield* ExecutorDriver.ExecutorDriver
      if (shuttingDown) {
        // Never started, so never to end by itself: say so, or the task would stay STAGING.
        yield* Effect.logWarning("a launch while shutting down: its tasks are reported killed")
        return yield* Effect.forEach(infos, (info) =>
          info.taskId === undefined ? Effect.void : Effect.ignore(driver.sendStatusUpdate({
            taskId: info.taskId,
            state: TaskState.TASK_KILLED,
            message: "The executor is shutting down"
          })), { discard: true })
      }
      const runtime: CommandTask.Runtime = { driver, spawner, cwd, healthChecksActive }
      // Every task of a group is known before any runs, so that a failing one finds the others to kill.
      const launched: Array<CommandTask.CommandTask> = []
      for (const info of infos) {
        const taskId = info.taskId?.value ?? ""
        if (tasks.has(taskId)) {
          yield* Effect.logWarning(`ignoring the launch of task '${taskId}': a task with that id is running`)
          continue
        }
        const task = yield* CommandTask.make(info, group, runtime)
        tasks.set(taskId, task)
        launched.push(task)
      }
      launchedAny ||= launched.length > 0
      // TASK_STARTING for every task before anything can kill one.
      yield* Effect.forEach(launched, (task) => task.start, { discard: true })
      for (const task of launched) {
        yield* FiberSet.run(fibers, supervised(task, task.run))
        yield* FiberSet.run(fibers, supervised(task, afterEnd(task, driver)))
      }
    })

  const kill = (taskId: TaskID, killPolicy: KillPolicyInfo | undefined) =>
    Effect.gen(function*() {
      if (shuttingDown) return yield* Effect.logWarning("ignoring a kill: the executor is shutting down")
      const task = tasks.get(taskId.value)
      if (task === undefined) return yield* Effect.logWarning("ignoring a kill for a task that is not running")
      yield* task.kill(gracePeriodOf(task, killPolicy), "Killed")
    })

  const shutdown = Effect.gen(function*() {
    shuttingDown = true
    const running = [...tasks.values()]
    yield* Effect.logInfo(`shutting down: killing ${running.length} task(s)`)
    for (const task of running) {
      yield* task.kill(Duration.min(gracePeriodOf(task, undefined), shutdownGracePeriod), "Shutdown")
    }
    // The driver then waits for the acknowledgements (while it still has an agent).
    yield* Effect.forEach(running, (task) => task.ended, { discard: true })
  })

  return {
    launchTask: (task: TaskInfo) => launch([task], undefined),
    launchTaskGroup: (group: TaskGroupInfo) =>
      launch(group.tasks, { taskIds: group.tasks.map((task) => task.taskId?.value ?? ""), killing: false }),
    killTask: kill,
    shutdown,
    disconnected: Effect.asVoid(Latch.close(healthChecksActive)),
    reregistered: () => Effect.asVoid(Latch.open(healthChecksActive)),
    frameworkMessage: (data: Uint8Array) =>
      Effect.logDebug(`ignoring a framework message of ${data.length} byte(s)`),
    error: (message: string) => Effect.logError("error from the executor driver", message)
  }
})

/**
 * Runs the command executor until its driver ends: `Stopped` once every task ended and was acknowledged,
 * or after a SHUTDOWN; an `ExecutorDriverError` when the agent was lost. Every task process is gone when
 * it returns.
 */
export const run = (
  options?: ExecutorDriver.DriverOptions
): Effect.Effect<
  ExecutorDriver.DriverEnd,
  ExecutorDriverError,
  AgentClient | ExecutorConfig | ChildProcessSpawner.ChildProcessSpawner
> => Effect.scoped(Effect.flatMap(make, (executor) => ExecutorDriver.run(executor, options)))
