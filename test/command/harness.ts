/**
 * The command executor against the in-memory fake agent, with real processes: run it in a fiber, drive
 * the agent like a master would, and look at the updates the agent received.
 */
import { NodeServices } from "@effect/platform-node"
import { Context, Duration, Effect, type Fiber, Layer, type LogLevel, Option, References } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as CommandExecutor from "../../src/command/CommandExecutor.js"
import { ExecutorConfig, TcpEndpoint } from "../../src/config/ExecutorConfig.js"
import type { DriverEnd } from "../../src/driver/ExecutorDriver.js"
import type { ExecutorDriverError } from "../../src/driver/ExecutorDriverError.js"
import { TaskState, TaskStatus_Reason } from "../../src/gen/mesos/v1/mesos_pb.js"
import { AgentModel, type AgentModelShape, type StatusUpdateRecord } from "../../src/testing/AgentModel.js"
import * as FakeAgent from "../../src/testing/FakeAgent.js"

export const frameworkId = "fake-framework-0000"
export const executorId = "fake-executor"

export interface HarnessOptions {
  readonly agent?: FakeAgent.Options
  /** MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD; default 3 seconds. */
  readonly shutdownGracePeriod?: Duration.Duration
  readonly checkpoint?: boolean
  /** MESOS_SUBSCRIPTION_BACKOFF_MAX; default 2 seconds, as the agent's. */
  readonly subscriptionBackoffMax?: Duration.Duration
  /** The executor's logs at this level and above are printed; default errors. */
  readonly logLevel?: LogLevel.LogLevel
}

/** A fresh sandbox directory, removed with the scope. */
export const makeSandbox = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "command-executor-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

export interface Harness {
  readonly agent: AgentModelShape
  readonly sandbox: string
  /** The executor's run, started at once. */
  readonly executor: Fiber.Fiber<DriverEnd, ExecutorDriverError>
}

/**
 * Starts the command executor against a fake agent, with a fresh sandbox; everything ends with the scope.
 */
export const start = (options: HarnessOptions = {}) =>
  Effect.gen(function*() {
    const sandbox = yield* makeSandbox
    const settings = ExecutorConfig.make({
      frameworkId,
      executorId,
      agent: new TcpEndpoint({ host: "127.0.0.1", port: 5051 }),
      sandbox: Option.some(sandbox),
      directory: Option.some(sandbox),
      checkpoint: options.checkpoint ?? false,
      subscriptionBackoffMax: options.subscriptionBackoffMax ?? Duration.seconds(2),
      shutdownGracePeriod: options.shutdownGracePeriod ?? Duration.seconds(3)
    })
    const context = yield* Layer.build(
      Layer.mergeAll(FakeAgent.layer(options.agent), ExecutorConfig.layerFrom(settings), NodeServices.layer)
    )
    const agent = Context.get(context, AgentModel)
    const executor = yield* CommandExecutor.run().pipe(
      Effect.provide(context),
      Effect.provideService(References.MinimumLogLevel, options.logLevel ?? "Error"),
      Effect.forkScoped
    )
    return { agent, sandbox, executor } satisfies Harness
  })

/** Waits until the executor has subscribed, so that what follows reaches it as events. */
export const awaitSubscribed = (agent: AgentModelShape) =>
  agent.awaitState((state) => (state.executors[0]?.status === "Running" ? true : undefined))

export const stateName = (state: TaskState): string => TaskState[state] ?? String(state)

/** The updates the agent received for `taskId`, from the executor, in order. */
export const updatesOf = (agent: AgentModelShape, taskId: string) =>
  Effect.map(agent.state, (state) =>
    state.updates.filter((update) => update.taskId === taskId && update.origin === "Executor")
  )

export const statesOf = (agent: AgentModelShape, taskId: string) =>
  Effect.map(updatesOf(agent, taskId), (updates) => updates.map((update) => stateName(update.status.state)))

/** Waits for the agent to receive `state` for `taskId`. */
export const awaitState = (agent: AgentModelShape, taskId: string, state: TaskState) =>
  agent.awaitUpdate((update) => update.taskId === taskId && update.status.state === state).pipe(
    Effect.timeoutOrElse({
      duration: "10 seconds",
      orElse: () =>
        Effect.flatMap(statesOf(agent, taskId), (states) =>
          Effect.die(`task ${taskId} never reached ${stateName(state)}; it went ${states.join(" → ")}`))
    })
  )

export const isHealthUpdate = (update: StatusUpdateRecord) =>
  update.status.reason === TaskStatus_Reason.TASK_HEALTH_CHECK_STATUS_UPDATED

/** Whether `pid` names a live process (a zombie counts as gone: it runs nothing). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z"
  } catch {
    return false
  }
}

/** Reads the pid a task wrote into `file` in the sandbox, waiting for it to appear. */
export const readPid = (sandbox: string, file: string) =>
  Effect.gen(function*() {
    const path = Path.join(sandbox, file)
    while (true) {
      const text = Fs.existsSync(path) ? Fs.readFileSync(path, "utf8").trim() : ""
      if (/^\d+$/.test(text)) return Number(text)
      yield* Effect.sleep("20 millis")
    }
  }).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(`no pid in ${file}`) }))

export const seconds = (value: number) => ({ nanoseconds: BigInt(Math.round(value * 1e9)) })
