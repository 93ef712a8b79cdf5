/**
 * `effect-mesos-executor local`: a Mesos agent on this machine, for developing and debugging executors
 * without a cluster. It serves the loopback fake agent (the one agent model, with the real agent's
 * checks, ACKs and timers), queues the tasks of a tasks file for each executor, starts each executor in
 * its own sandbox exactly as an agent starts it (`ExecutorContainer`), plays the scheduler (the file's
 * kills and shutdowns; a framework that leaves once its tasks are done), shows what happens, and
 * judges the run against the file's expectations (`Report`).
 *
 * Like the agent, it destroys a container that outlives its shutdown grace period or never subscribes
 * within the registration timeout; and it destroys every container when the run's deadline passes.
 */
import { Cause, Clock, Duration, Effect, Fiber, FileSystem, Option, Path, Queue, Runtime, Schema, Semaphore, Stream } from "effect"
import * as MesosDuration from "../config/MesosDuration.js"
import { Event_Type } from "../gen/mesos/v1/executor/executor_pb.js"
import { type AgentModelShape, type AgentState, findTask, historyMark, type SentEvent } from "../testing/AgentModel.js"
import * as HttpFakeAgent from "../testing/HttpFakeAgent.js"
import { type Activity, agentChanges } from "./Activity.js"
import { Display } from "./Display.js"
import * as ExecutorContainer from "./ExecutorContainer.js"
import * as Report from "./Report.js"
import { isTerminal } from "../wire/TaskStates.js"
import { type ExecutorPlan, type TasksFile, taskIds } from "./TasksFile.js"

export interface Options {
  readonly tasksFile: TasksFile
  readonly executor: ExecutorContainer.ExecutorCommand
  /** Where the sandboxes go; a new temporary directory when undefined. */
  readonly workDir: string | undefined
  /** Makes the framework checkpoint, whatever the tasks file says. */
  readonly checkpoint: boolean
  /** The agent's `--executor_registration_timeout`. */
  readonly registrationTimeout: Duration.Duration
  /** After an executor's last task ended, how long it may keep running before it is shut down. */
  readonly idleShutdown: Duration.Duration
  /** The whole run's deadline. */
  readonly timeout: Duration.Duration
  /** Also show what the executors write to stdout and stderr. */
  readonly echo: boolean
  /** Protocol mistakes fail the run too. */
  readonly strict: boolean
}

/** The run did not go as the tasks file expects; the summary says how. */
export class LocalRunFailed extends Schema.TaggedError<LocalRunFailed>()("LocalRunFailed", {}) {
  // The summary was shown already; exit 1 without a stack trace.
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1

  override get message(): string {
    return "the run did not go as the tasks file expects"
  }
}

/** How long the processes of a timed-out run get to die after SIGKILL. */
const reapTimeout = Duration.seconds(5)

/** Runs the tasks file; the report says whether everything went as expected. */
export const run = Effect.fnUntraced(function*(options: Options) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const display = yield* Display
  const { tasksFile } = options

  const workDir = options.workDir ?? (yield* fs.makeTempDirectory({ prefix: "effect-mesos-executor-local-" }))
  const agent = yield* HttpFakeAgent.make({
    frameworks: [{ info: tasksFile.framework, ...(options.checkpoint ? { checkpoint: true } : {}) }],
    executors: tasksFile.executors.map((plan) => ({
      executorId: plan.executorId,
      info: plan.info,
      ...(plan.info.shutdownGracePeriod === undefined
        ? {}
        : { shutdownGracePeriod: Duration.nanos(plan.info.shutdownGracePeriod.nanoseconds) })
    })),
    registrationTimeout: options.registrationTimeout
  })
  const model = agent.model

  // Every activity reaches the display in order, through one queue and one fiber.
  const activities = yield* Queue.unbounded<Activity, Cause.Done>()
  const shown = yield* Effect.forkScoped(
    Stream.fromQueue(activities).pipe(Stream.runForEach(display.show))
  )
  let seen = historyMark(yield* model.state)
  const inOrder = yield* Semaphore.make(1)
  /** Queues what the agent did since last time, then `local`, what the local agent did now. */
  const catchUp = (local?: (at: number) => Activity) =>
    Effect.gen(function*() {
      const state = yield* model.state
      yield* Queue.offerAll(activities, agentChanges(seen, state))
      seen = historyMark(state)
      if (local !== undefined) yield* Queue.offer(activities, local(yield* Clock.currentTimeMillis))
    }).pipe(Semaphore.withPermit(inOrder))
  const publish = (activity: (at: number) => Activity) => catchUp(activity)
  yield* model.changes.pipe(Stream.runForEach(() => catchUp()), Effect.forkScoped)

  yield* publish((at) => ({ _tag: "AgentStarted", at, url: agent.url, workDir }))
  for (const plan of tasksFile.executors) {
    for (const launch of plan.launches) {
      const executor = { executorId: plan.executorId }
      yield* (launch.work._tag === "Task"
        ? model.launch(launch.work.task, executor)
        : model.launchGroup(launch.work.group, executor)).pipe(Effect.orDie)
    }
  }

  const containers = new Map<string, ExecutorContainer.ExecutorContainer>()
  const runs = new Map<string, Report.ExecutorRun>()

  /** Starts the executor in its sandbox, plays the scheduler for it, and waits for its process to end. */
  const runExecutor = (plan: ExecutorPlan) =>
    Effect.scoped(Effect.gen(function*() {
      const { executorId } = plan
      const executor = yield* Effect.orDie(model.executor({ executorId }))
      const sandbox = path.join(
        workDir,
        "slaves",
        (yield* model.state).agentInfo.id!.value,
        "frameworks",
        executor.frameworkId,
        "executors",
        executorId,
        "runs",
        executor.containerId
      )
      const environment = yield* Effect.orDie(agent.environment({ executorId, sandbox }))
      const container = yield* ExecutorContainer.launch({
        command: options.executor,
        environment,
        sandbox,
        onOutput: options.echo
          ? (stream, line) => publish((at) => ({ _tag: "ExecutorOutput", at, executorId, stream, line }))
          : undefined
      })
      containers.set(executorId, container)
      runs.set(executorId, { executorId, sandbox, exit: undefined })
      yield* publish((at) => ({
        _tag: "ExecutorLaunched",
        at,
        executorId,
        pid: container.pid,
        sandbox,
        command: ExecutorContainer.describeCommand(options.executor)
      }))

      // The agent destroys the container when the executor outstays its grace period or never subscribes.
      yield* model.awaitContainerDestroyed({ executorId }).pipe(
        Effect.andThen(container.destroy),
        Effect.orDie,
        Effect.forkScoped
      )
      yield* Effect.forkScoped(schedule(model, plan, options.idleShutdown, publish))

      const exit = yield* container.exit
      runs.set(executorId, { executorId, sandbox, exit })
      yield* publish((at) => ({ _tag: "ExecutorExited", at, executorId, exit }))
      // Its tasks that have not ended now fail, as the agent reports them.
      yield* Effect.orDie(model.executorExited({ executorId }))
    }))

  const executors = yield* Effect.forEach(tasksFile.executors, (plan) => Effect.forkScoped(runExecutor(plan)))
  const allDone = Fiber.joinAll(executors)
  let timedOut: Duration.Duration | undefined
  if (Option.isNone(yield* Effect.timeoutOption(allDone, options.timeout))) {
    timedOut = options.timeout
    yield* publish((at) => ({ _tag: "TimedOut", at, after: options.timeout }))
    yield* Effect.forEach(containers.values(), (container) => container.destroy, { discard: true })
    yield* Effect.timeoutOption(allDone, reapTimeout)
  }

  yield* catchUp()
  yield* Queue.end(activities)
  yield* Fiber.join(shown)
  const report = Report.make({
    tasksFile,
    state: yield* model.state,
    executors: [...runs.values()],
    timedOut,
    strict: options.strict
  })
  yield* display.finish(report)
  if (!report.ok) return yield* new LocalRunFailed()
  return report
})

type Publish = (activity: (at: number) => Activity) => Effect.Effect<unknown>

/**
 * The scheduler's part for one executor: the kills and the shutdown of the tasks file, and, once every
 * task of the executor has ended, a shutdown if the executor is still there after `idleShutdown`, as
 * when a framework that is done leaves.
 */
const schedule = (model: AgentModelShape, plan: ExecutorPlan, idleShutdown: Duration.Duration, publish: Publish) => {
  const { executorId } = plan
  const act = (action: string) => publish((at) => ({ _tag: "SchedulerAction", at, executorId, action }))
  const shutdown = (why: string) =>
    Effect.gen(function*() {
      const executor = yield* Effect.orDie(model.executor({ executorId }))
      if (executor.status !== "Running") return
      yield* act(`the scheduler shuts the executor down (${why})`)
      yield* Effect.orDie(model.shutdownExecutor({ executorId }))
    })
  const sent = (type: Event_Type, taskId?: string) =>
    model.awaitEvent((sent: SentEvent) =>
      sent.executorId === executorId && sent.event.type === type &&
      (taskId === undefined || eventTaskIds(sent).includes(taskId))
    )

  const kills = plan.launches.flatMap((launch) => {
    const kill = launch.kill
    if (kill === undefined) return []
    const delivery = launch.work._tag === "Task" ? Event_Type.LAUNCH : Event_Type.LAUNCH_GROUP
    return [Effect.gen(function*() {
      yield* sent(delivery, kill.taskId)
      yield* Effect.sleep(kill.after)
      const task = findTask(yield* model.state, kill.taskId)
      if (task !== undefined && isTerminal(task.state)) {
        return yield* act(`the scheduler does not kill ${kill.taskId}: it already ended`)
      }
      const grace = kill.killPolicy?.gracePeriod
      yield* act(
        `the scheduler kills ${kill.taskId}` +
          (grace === undefined ? "" : ` (grace period ${MesosDuration.format(Duration.nanos(grace.nanoseconds))})`)
      )
      yield* Effect.orDie(model.kill(kill.taskId, kill.killPolicy))
    })]
  })

  const plannedShutdown = plan.shutdownAfter === undefined ? [] : [
    Effect.gen(function*() {
      yield* sent(Event_Type.SUBSCRIBED)
      yield* Effect.sleep(plan.shutdownAfter!)
      yield* shutdown(`shutdown_at ${MesosDuration.format(plan.shutdownAfter!)}`)
    })
  ]

  const ids = plan.launches.flatMap((launch) => taskIds(launch.work))
  const idle = Effect.gen(function*() {
    yield* model.awaitState((state) => allEnded(state, executorId, ids) ? true : undefined)
    yield* Effect.sleep(idleShutdown)
    yield* shutdown(`its tasks ended ${MesosDuration.format(idleShutdown)} ago and it is still running`)
  })

  return Effect.all([...kills, ...plannedShutdown, idle], { concurrency: "unbounded", discard: true })
}

const allEnded = (state: AgentState, executorId: string, ids: ReadonlyArray<string>): boolean =>
  state.executors.some((executor) => executor.executorId === executorId && executor.status === "Running") &&
  ids.every((id) => {
    const task = findTask(state, id)
    return task !== undefined && isTerminal(task.state)
  })

const eventTaskIds = (sent: SentEvent): ReadonlyArray<string> =>
  sent.event.launch?.task !== undefined
    ? [sent.event.launch.task.taskId?.value ?? ""]
    : sent.event.launchGroup?.taskGroup?.tasks.map((task) => task.taskId?.value ?? "") ?? []
