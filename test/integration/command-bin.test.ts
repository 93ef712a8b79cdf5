/**
 * The real bin, `bin/effect-mesos-executor command`, started as a real agent starts an executor (only the
 * agent's environment, PATH fixed, no HOME, the sandbox as working directory), against the loopback HTTP fake
 * agent. Runs the compiled dist/ (built by `npm ci`'s prepare step).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Mesos } from "effect-mesos-executor"
import { AgentModel, HttpFakeAgent } from "effect-mesos-executor/testing"
import { statesByTask } from "../support/agent.js"

const bin = fileURLToPath(new URL("../../bin/effect-mesos-executor", import.meta.url))
const agentPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
const { TaskState, TaskStatus_Reason } = Mesos

interface Executor {
  readonly pid: number
  readonly sandbox: string
  readonly exitCode: Effect.Effect<number>
  readonly output: () => string
}

/** Starts the bin with exactly the environment the fake agent gives its executor. */
const startExecutor = Effect.fnUntraced(function*(options: { readonly env?: Record<string, string> } = {}) {
  const agent = yield* HttpFakeAgent.HttpFakeAgent
  const sandbox = mkdtempSync(join(tmpdir(), "emx-sandbox-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(sandbox, { recursive: true, force: true })))
  const env = { ...(yield* agent.environment({ sandbox })), PATH: agentPath, ...options.env }
  const child = spawn(bin, ["command"], { env, cwd: sandbox, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout.on("data", (chunk) => (output += chunk))
  child.stderr.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1))))
  yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
  return {
    pid: child.pid!,
    sandbox,
    exitCode: Effect.promise(() => exited),
    output: () => output
  } satisfies Executor
})

const task = (id: string, command: string, extra: Record<string, unknown> = {}) => ({
  name: id,
  taskId: { value: id },
  agentId: { value: "fake-agent-S0" },
  command: { value: command },
  ...extra
})

const terminal = (taskId: string) =>
  Effect.gen(function*() {
    const agent = yield* AgentModel.AgentModel
    return yield* agent.awaitUpdate((update) =>
      update.taskId === taskId && update.origin === "Executor" &&
      [TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_KILLED].includes(update.status.state)
    )
  })

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const within = <A, E, R>(effect: Effect.Effect<A, E, R>, seconds: number) =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.seconds(seconds),
    orElse: () => Effect.die(new Error(`not within ${seconds} s`))
  })

const fakeAgent = (options: HttpFakeAgent.Options = {}) => HttpFakeAgent.layer(options)

describe("bin/effect-mesos-executor command (real process, loopback agent)", () => {
  it.live("finishes, fails, and exits 0 by itself once every terminal update is acknowledged", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(task("ok", "echo hello"))
      yield* agent.launch(task("bad", "exit 3"))
      const executor = yield* startExecutor()
      assert.strictEqual(yield* within(executor.exitCode, 20), 0, executor.output())
      const states = yield* statesByTask
      assert.deepStrictEqual(states, {
        ok: ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
        bad: ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"]
      })
      const failed = (yield* agent.state).updates.find((update) => update.status.state === TaskState.TASK_FAILED)
      assert.match(failed?.status.message ?? "", /exited with status 3/)
      assert.match(executor.output(), /hello/, "the task's output passes through the executor's")
    }).pipe(Effect.provide(fakeAgent()), Effect.scoped))

  it.live("KILL without a policy (the task obeys SIGTERM) and with a policy (it ignores SIGTERM: SIGKILL after the grace)", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(task("polite", "exec sleep 60"))
      yield* agent.launch(task("stubborn", "trap '' TERM; while :; do sleep 0.1; done"))
      const executor = yield* startExecutor()
      yield* agent.awaitUpdate((update) => update.taskId === "stubborn" && update.status.state === TaskState.TASK_RUNNING)
      yield* agent.awaitUpdate((update) => update.taskId === "polite" && update.status.state === TaskState.TASK_RUNNING)
      yield* agent.kill("polite")
      const polite = yield* within(terminal("polite"), 10)
      const killAt = Date.now()
      yield* agent.kill("stubborn", { gracePeriod: { nanoseconds: 700_000_000n } })
      const stubborn = yield* within(terminal("stubborn"), 10)
      const waited = Date.now() - killAt
      assert.strictEqual(polite.status.state, TaskState.TASK_KILLED)
      assert.strictEqual(stubborn.status.state, TaskState.TASK_KILLED)
      assert.isAtLeast(waited, 600, "SIGKILL only after the grace period")
      assert.isBelow(waited, 5000)
      // The fake agent's framework has TASK_KILLING_STATE, as mesos-execute's does.
      assert.deepStrictEqual((yield* statesByTask).stubborn, ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_KILLED"])
      assert.strictEqual(yield* within(executor.exitCode, 10), 0)
    }).pipe(Effect.provide(fakeAgent()), Effect.scoped))

  it.live("a task group: when one task fails, the others are killed", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launchGroup({
        tasks: [task("fails", "sleep 0.3; exit 1"), task("sibling", "exec sleep 60")]
      })
      const executor = yield* startExecutor()
      assert.strictEqual(yield* within(executor.exitCode, 15), 0, executor.output())
      const states = yield* statesByTask
      assert.strictEqual(states["fails"]?.at(-1), "TASK_FAILED")
      assert.strictEqual(states["sibling"]?.at(-1), "TASK_KILLED")
    }).pipe(Effect.provide(fakeAgent()), Effect.scoped))

  it.live("SHUTDOWN with running tasks: all killed and acknowledged, exit 0, no task process left", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(task("a", "echo $$ > a.pid; exec sleep 60"))
      yield* agent.launch(task("b", "echo $$ > b.pid; trap '' TERM; exec sleep 60"))
      const executor = yield* startExecutor()
      for (const id of ["a", "b"]) {
        yield* agent.awaitUpdate((update) => update.taskId === id && update.status.state === TaskState.TASK_RUNNING)
      }
      yield* Effect.sleep("200 millis")
      const pids = ["a", "b"].map((id) => Number(readFileSync(join(executor.sandbox, `${id}.pid`), "utf8")))
      const started = Date.now()
      yield* agent.shutdownExecutor()
      assert.strictEqual(yield* within(executor.exitCode, 10), 0, executor.output())
      assert.isBelow(Date.now() - started, 5000, "within the 5 s shutdown grace period")
      const states = yield* statesByTask
      assert.strictEqual(states["a"]?.at(-1), "TASK_KILLED")
      assert.strictEqual(states["b"]?.at(-1), "TASK_KILLED")
      for (const pid of pids) assert.isFalse(alive(pid), `task process ${pid} outlived the executor`)
    }).pipe(Effect.provide(fakeAgent()), Effect.scoped))

  it.live("agent restart with checkpointing: re-subscribes listing what is unacknowledged, and the task carries on", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(task("long", "sleep 2.5"))
      yield* agent.setFaults({ withholdAcks: true })
      const executor = yield* startExecutor()
      yield* agent.awaitUpdate((update) => update.taskId === "long" && update.status.state === TaskState.TASK_RUNNING)
      yield* agent.restart({ downFor: "500 millis", unavailableFor: "100 millis" })
      yield* agent.setFaults({ withholdAcks: false })
      yield* within(terminal("long"), 15)
      assert.strictEqual(yield* within(executor.exitCode, 15), 0, executor.output())
      const state = yield* agent.state
      const subscribes = state.calls.filter((call) => call.call?.type === 1 && call.status === 200)
      assert.isAtLeast(subscribes.length, 2)
      const resubscribe = subscribes[1]?.call?.subscribe
      assert.deepStrictEqual(resubscribe?.unacknowledgedTasks.map((listed) => listed.taskId?.value), ["long"])
      assert.deepStrictEqual(
        resubscribe?.unacknowledgedUpdates.map((update) => TaskState[update.status!.state]),
        ["TASK_STARTING", "TASK_RUNNING"]
      )
      assert.strictEqual((yield* statesByTask)["long"]?.at(-1), "TASK_FINISHED")
    }).pipe(Effect.provide(fakeAgent({ frameworks: [{ checkpoint: true }] })), Effect.scoped))

  it.live("agent gone past the recovery timeout: tasks killed, non-zero exit", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(task("orphan", "echo $$ > orphan.pid; exec sleep 60"))
      const executor = yield* startExecutor()
      yield* agent.awaitUpdate((update) => update.taskId === "orphan" && update.status.state === TaskState.TASK_RUNNING)
      yield* Effect.sleep("200 millis")
      const pid = Number(readFileSync(join(executor.sandbox, "orphan.pid"), "utf8"))
      yield* agent.restart({ downFor: "1 minute" })
      const code = yield* within(executor.exitCode, 15)
      assert.notStrictEqual(code, 0)
      assert.match(executor.output(), /RecoveryTimeout|recovery timeout/i)
      assert.isFalse(alive(pid), "the task process was killed")
    }).pipe(
      Effect.provide(fakeAgent({ frameworks: [{ checkpoint: true }], recoveryTimeout: "2 seconds" })),
      Effect.scoped
    ))

  it.live("health check flips to unhealthy: updates with healthy and the health reason, then killed with healthy=false", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(task("checked", "exec sleep 60", {
        healthCheck: {
          type: 1,
          command: { value: "test -e healthy" },
          delaySeconds: 0,
          intervalSeconds: 0.2,
          timeoutSeconds: 1,
          gracePeriodSeconds: 0,
          consecutiveFailures: 2
        }
      }))
      const executor = yield* startExecutor()
      writeFileSync(join(executor.sandbox, "healthy"), "")
      const healthy = yield* within(agent.awaitUpdate((update) => update.taskId === "checked" && update.status.healthy), 10)
      assert.strictEqual(healthy.status.reason, TaskStatus_Reason.TASK_HEALTH_CHECK_STATUS_UPDATED)
      assert.strictEqual(healthy.status.state, TaskState.TASK_RUNNING)
      rmSync(join(executor.sandbox, "healthy"))
      const killed = yield* within(terminal("checked"), 10)
      assert.strictEqual(killed.status.state, TaskState.TASK_KILLED)
      assert.isFalse(killed.status.healthy)
      assert.strictEqual(yield* within(executor.exitCode, 10), 0)
    }).pipe(Effect.provide(fakeAgent()), Effect.scoped))

  it.live("the authentication token reaches no task's environment and no output", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      const http = yield* HttpFakeAgent.HttpFakeAgent
      yield* agent.launch(task("env", "env > task-env.txt; echo done"))
      const executor = yield* startExecutor()
      const token = (yield* http.environment())["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"]!
      assert.strictEqual(yield* within(executor.exitCode, 15), 0, executor.output())
      const taskEnv = readFileSync(join(executor.sandbox, "task-env.txt"), "utf8")
      assert.match(taskEnv, /MESOS_SANDBOX=/)
      assert.notInclude(taskEnv, token)
      assert.notInclude(taskEnv, "MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
      assert.notInclude(executor.output(), token)
      for (const file of ["stdout", "stderr"]) {
        const path = join(executor.sandbox, file)
        if (existsSync(path)) assert.notInclude(readFileSync(path, "utf8"), token)
      }
    }).pipe(Effect.provide(fakeAgent({ authentication: true })), Effect.scoped))
})
