import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { TaskState } from "../../src/gen/mesos/v1/mesos_pb.js"
import type { AgentModelShape } from "../../src/testing/AgentModel.js"
import * as HttpFakeAgent from "../../src/testing/HttpFakeAgent.js"
import { agentPath, processRunning, root, runBin, temporaryDirectory } from "./bin.js"


/** The states the agent accepted from the executor for `taskId`, in order. */
const states = (agent: AgentModelShape, taskId: string) =>
  Effect.map(agent.state, (state) =>
    state.updates
      .filter((update) => update.taskId === taskId && update.origin === "Executor" && update.outcome === "Forwarded")
      .map((update) => TaskState[update.status.state]))

const reached = (agent: AgentModelShape, taskId: string, state: TaskState) =>
  agent.awaitUpdate((update) => update.taskId === taskId && update.status.state === state)

/** Starts `command` exactly as the agent does: its environment and the default PATH only, in the sandbox. */
const startCommand = (environment: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const agent = yield* HttpFakeAgent.HttpFakeAgent
    const sandbox = yield* temporaryDirectory
    const env = { PATH: agentPath, ...(yield* agent.environment({ sandbox })), ...environment }
    const running = yield* Effect.forkChild(runBin(["command"], { env, cwd: sandbox }))
    return { agent: agent.model, sandbox, running }
  })

describe("effect-mesos-executor", () => {
  it.live("--help describes both subcommands", () =>
    Effect.gen(function*() {
      const outcome = yield* runBin(["--help"])
      assert.strictEqual(outcome.exit, 0)
      assert.match(outcome.stdout, /command\s+Run the command executor, as a Mesos agent starts it/)
      assert.match(outcome.stdout, /local\s+Run executors under a local Mesos agent/)
    }))

  it.live("--version prints the package's version", () =>
    Effect.gen(function*() {
      const { version } = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))
      const outcome = yield* runBin(["--version"])
      assert.strictEqual(outcome.exit, 0)
      assert.strictEqual(outcome.stdout.trim(), `effect-mesos-executor v${version}`)
    }))

  it.live("local --help lists every flag with its default", () =>
    Effect.gen(function*() {
      const outcome = yield* runBin(["local", "--help"])
      assert.strictEqual(outcome.exit, 0)
      for (const flag of ["--tasks FILE", "--executor COMMAND", "--json", "--checkpoint", "--timeout DURATION",
        "--registration-timeout DURATION", "--idle-shutdown DURATION", "--work-dir DIR", "--echo", "--strict"])
      {
        assert.include(outcome.stdout, flag)
      }
      assert.include(outcome.stdout, "default 1mins")
    }))
})

describe("effect-mesos-executor command", () => {
  it.live("started as an agent starts it, runs its task in the sandbox and exits 0 once the end was acknowledged", () =>
    Effect.gen(function*() {
      const { agent, running, sandbox } = yield* startCommand()
      yield* agent.launch({ taskId: { value: "greet" }, command: { value: "echo \"hello from $PWD\" > greeting" } })
      const outcome = yield* Fiber.join(running)
      assert.strictEqual(outcome.exit, 0, outcome.stderr)
      assert.deepStrictEqual(yield* states(agent, "greet"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"])
      assert.strictEqual(Fs.readFileSync(Path.join(sandbox, "greeting"), "utf8"), `hello from ${sandbox}\n`)
      // Its logs go to stderr, the sandbox's `stderr` file under an agent.
      assert.strictEqual(outcome.stdout, "")
      assert.include(outcome.stderr, "greet")
    }).pipe(Effect.provide(HttpFakeAgent.layer())))

  it.live("exits 0 after SHUTDOWN, having killed its task", () =>
    Effect.gen(function*() {
      const { agent, running } = yield* startCommand()
      yield* agent.launch({ taskId: { value: "long" }, command: { value: "exec sleep 66" } })
      yield* reached(agent, "long", TaskState.TASK_RUNNING)
      yield* agent.shutdownExecutor()
      const outcome = yield* Fiber.join(running)
      assert.strictEqual(outcome.exit, 0, outcome.stderr)
      assert.deepStrictEqual((yield* states(agent, "long")).at(-1), "TASK_KILLED")
      assert.isFalse(yield* processRunning("sleep 66"))
    }).pipe(Effect.provide(HttpFakeAgent.layer())))

  it.live("exits 1 with the agent's answer when the agent refuses the subscription", () =>
    Effect.gen(function*() {
      const { running } = yield* startCommand({ MESOS_EXECUTOR_ID: "not-launched-here" })
      const outcome = yield* Fiber.join(running)
      assert.strictEqual(outcome.exit, 1)
      assert.include(outcome.stderr, "Executor cannot be found")
    }).pipe(Effect.provide(HttpFakeAgent.layer())))

  it.live("exits 1 when it loses a non-checkpointing agent, killing its task", () =>
    Effect.gen(function*() {
      const { agent, running } = yield* startCommand()
      yield* agent.launch({ taskId: { value: "stranded" }, command: { value: "exec sleep 67" } })
      yield* reached(agent, "stranded", TaskState.TASK_RUNNING)
      yield* agent.dropStream()
      const outcome = yield* Fiber.join(running)
      assert.strictEqual(outcome.exit, 1)
      assert.include(outcome.stderr, "Disconnected")
      assert.isFalse(yield* processRunning("sleep 67"), "the task outlived its executor")
    }).pipe(Effect.provide(HttpFakeAgent.layer())))

  it.live("with no Mesos environment at all, names every missing variable and exits 1", () =>
    Effect.gen(function*() {
      const cwd = yield* temporaryDirectory
      const outcome = yield* runBin(["command"], { env: { PATH: agentPath }, cwd })
      assert.strictEqual(outcome.exit, 1)
      assert.include(outcome.stderr, "The Mesos executor environment is invalid")
      for (const variable of ["MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT"]) {
        assert.include(outcome.stderr, variable)
      }
      assert.notInclude(outcome.stderr, "    at ", "no stack trace")
    }))

  it.live("with malformed variables, names each problem in one error and never prints the token", () =>
    Effect.gen(function*() {
      const cwd = yield* temporaryDirectory
      const outcome = yield* runBin(["command"], {
        cwd,
        env: {
          PATH: agentPath,
          MESOS_FRAMEWORK_ID: "framework",
          MESOS_EXECUTOR_ID: "executor",
          MESOS_AGENT_ENDPOINT: "localhost",
          MESOS_CHECKPOINT: "true",
          MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "5s",
          MESOS_EXECUTOR_AUTHENTICATION_TOKEN: "secret-token-value"
        }
      })
      assert.strictEqual(outcome.exit, 1)
      assert.match(outcome.stderr, /MESOS_AGENT_ENDPOINT: expected IP:PORT/)
      assert.match(outcome.stderr, /MESOS_CHECKPOINT: expected "1" or "0", got "true"/)
      assert.match(outcome.stderr, /MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "5s" is not a Mesos duration/)
      assert.notInclude(outcome.stdout + outcome.stderr, "secret-token-value")
    }))
})
