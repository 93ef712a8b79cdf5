// The benchmark's moving parts: the agent (the library's loopback HTTP fake agent, on a clock with
// sub-millisecond timestamps), executor processes, and a tracker that reads what the agent did from its
// state (LAUNCH written, updates received, ACKNOWLEDGED written, each with the agent's timestamp).
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, openSync, readFileSync } from "node:fs"
import { Clock, Data, Duration, Effect } from "effect"
import { Mesos, MesosExecutor, StatusUuid, TaskStates } from "effect-mesos-executor"
import { type AgentModel, HttpFakeAgent } from "effect-mesos-executor/testing"

export class BenchFailure extends Data.TaggedError("BenchFailure")<{ readonly message: string }> {}

/** Wall-clock milliseconds with sub-millisecond precision, the same scale as `Date.now()`. */
export const now = (): number => performance.timeOrigin + performance.now()

/** Runs `effect` with a `Clock` whose `currentTimeMillis` has sub-millisecond precision. */
export const withPreciseClock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.clockWith((base) =>
    Effect.provideService(effect, Clock.Clock, {
      currentTimeMillisUnsafe: now,
      currentTimeMillis: Effect.sync(now),
      currentTimeNanosUnsafe: () => base.currentTimeNanosUnsafe(),
      currentTimeNanos: base.currentTimeNanos,
      monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
      monotonicTimeNanos: base.monotonicTimeNanos,
      sleep: (duration) => base.sleep(duration)
    }))

/** A fresh agent in the current scope: one framework, one executor waiting for its SUBSCRIBE. */
export const startAgent = (options: HttpFakeAgent.Options = {}) =>
  withPreciseClock(HttpFakeAgent.make(options)).pipe(
    Effect.mapError((error) => new BenchFailure({ message: `the agent could not start: ${String(error)}` }))
  )

// --- executor processes ---------------------------------------------------------------------------

export interface Command {
  readonly file: string
  readonly args: ReadonlyArray<string>
}

export interface ExecutorProcess {
  readonly pid: number
  /** `now()` just before the spawn. */
  readonly spawnedAt: number
  readonly logFile: string
  readonly hasExited: () => boolean
  readonly describeExit: () => string
}

/**
 * Starts an executor with `env` (and nothing else of ours), stdout and stderr appended to `logFile`;
 * the scope kills it (SIGKILL, or SIGTERM first with `gentle`, so that a profiled Node process can
 * write its profile) and waits for it.
 */
export const spawnExecutor = (command: Command, env: Record<string, string>, logFile: string, gentle = false) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const fd = openSync(logFile, "a")
      const spawnedAt = now()
      const child = spawn(command.file, command.args, { env, stdio: ["ignore", fd, fd] })
      closeSync(fd)
      let exit: string | undefined
      const exited = new Promise<void>((resolve) => {
        child.on("exit", (code, signal) => {
          exit = signal === null ? `exit code ${code}` : `signal ${signal}`
          resolve()
        })
        child.on("error", (error) => {
          exit = `spawn failed: ${error.message}`
          resolve()
        })
      })
      return { child, exited, spawnedAt, exitText: () => exit }
    }),
    ({ child, exited, exitText }) => {
      const stop = (signal: NodeJS.Signals, seconds: number) =>
        Effect.promise(() => {
          if (exitText() === undefined) child.kill(signal)
          return exited
        }).pipe(Effect.timeout(Duration.seconds(seconds)), Effect.ignore)
      return gentle ? Effect.andThen(stop("SIGTERM", 5), stop("SIGKILL", 10)) : stop("SIGKILL", 10)
    }
  ).pipe(Effect.map(({ child, spawnedAt, exitText }): ExecutorProcess => ({
    pid: pidOf(child),
    spawnedAt,
    logFile,
    hasExited: () => exitText() !== undefined,
    describeExit: () => exitText() ?? "running"
  })))

const pidOf = (child: ChildProcess): number => child.pid ?? -1

export const logTail = (logFile: string, lines = 5): string => {
  try {
    return readFileSync(logFile, "utf8").trim().split("\n").slice(-lines).join(" | ")
  } catch {
    return ""
  }
}

// --- what the agent did ---------------------------------------------------------------------------

export interface ReceivedUpdate {
  readonly taskId: string
  readonly key: string
  readonly status: Mesos.TaskStatus
  readonly at: number
}

/**
 * Reads the agent's history incrementally (its arrays only grow): what was launched when, which
 * updates came in, which were acknowledged when.
 */
export class Tracker {
  private eventsRead = 0
  private updatesRead = 0
  subscribedAt: number | undefined
  readonly launchAt = new Map<string, number>()
  /** New updates from the executor (outcome Forwarded), in the order the agent took them. */
  readonly received: Array<ReceivedUpdate> = []
  readonly stateOf = new Map<string, Mesos.TaskState>()
  /** The first ACKNOWLEDGED written for each update uuid. */
  readonly ackAt = new Map<string, number>()
  /** Per task: when the ACK of its terminal update was written. */
  readonly terminalAckAt = new Map<string, number>()
  readonly finalState = new Map<string, Mesos.TaskState>()
  lastAckAt = 0
  acksWritten = 0

  consume(state: AgentModel.AgentState): void {
    for (; this.updatesRead < state.updates.length; this.updatesRead++) {
      const update = state.updates[this.updatesRead]!
      if (update.origin !== "Executor" || update.outcome !== "Forwarded") continue
      const key = StatusUuid.toHex(update.status.uuid)
      this.received.push({ taskId: update.taskId, key, status: update.status, at: update.at })
      this.stateOf.set(key, update.status.state)
    }
    for (; this.eventsRead < state.events.length; this.eventsRead++) {
      const sent = state.events[this.eventsRead]!
      const event = sent.event
      switch (event.type) {
        case MesosExecutor.Event_Type.SUBSCRIBED:
          this.subscribedAt ??= sent.at
          break
        case MesosExecutor.Event_Type.LAUNCH:
          this.launchAt.set(event.launch!.task!.taskId!.value, sent.at)
          break
        case MesosExecutor.Event_Type.ACKNOWLEDGED: {
          this.acksWritten++
          const key = StatusUuid.toHex(event.acknowledged!.uuid)
          if (this.ackAt.has(key)) break
          this.ackAt.set(key, sent.at)
          this.lastAckAt = Math.max(this.lastAckAt, sent.at)
          const taskState = this.stateOf.get(key)
          if (taskState !== undefined && TaskStates.isTerminal(taskState)) {
            const taskId = event.acknowledged!.taskId!.value
            this.terminalAckAt.set(taskId, sent.at)
            this.finalState.set(taskId, taskState)
          }
          break
        }
      }
    }
  }
}

/**
 * Polls the agent's state every `every` until `done` holds; fails when the executor exits first or
 * `timeout` passes.
 */
export const waitUntil = (
  agent: HttpFakeAgent.HttpFakeAgentShape,
  tracker: Tracker,
  executor: ExecutorProcess | undefined,
  what: string,
  done: (state: AgentModel.AgentState) => boolean,
  options: { readonly timeout?: Duration.Input; readonly every?: Duration.Input } = {}
): Effect.Effect<void, BenchFailure> => {
  const timeout = Duration.fromInputUnsafe(options.timeout ?? Duration.seconds(60))
  const every = Duration.fromInputUnsafe(options.every ?? Duration.millis(5))
  const deadline = now() + Duration.toMillis(timeout)
  const poll: Effect.Effect<void, BenchFailure> = Effect.flatMap(agent.model.state, (state) => {
    tracker.consume(state)
    if (done(state)) return Effect.void
    if (executor?.hasExited() === true) {
      return Effect.fail(
        new BenchFailure({
          message: `${what}: the executor ended (${executor.describeExit()}); ${logTail(executor.logFile) || executor.logFile}`
        })
      )
    }
    if (now() > deadline) {
      return Effect.fail(new BenchFailure({ message: `${what}: not done within ${Duration.format(timeout)}` }))
    }
    return Effect.andThen(Effect.sleep(every), poll)
  })
  return poll
}
