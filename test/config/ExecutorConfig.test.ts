import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Equal, Layer, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { inspect } from "node:util"
import {
  ExecutorConfig,
  type ExecutorConfigError,
  ExecutorSettings,
  TcpEndpoint,
  UnixSocketEndpoint
} from "../../src/config/ExecutorConfig.js"

type Env = Readonly<Record<string, string>>

// The environments a real agent gave its executors, one per `## ` section,
// as `    NAME=value` lines (real-agent/env.txt).
const realEnvironments: ReadonlyArray<{ readonly title: string; readonly env: Env }> = readFileSync(
  new URL("../../../shared/mesos/real-agent/env.txt", import.meta.url),
  "utf8"
).split(/^## /m).slice(1).map((section) => ({
  title: section.slice(0, section.indexOf("\n")),
  env: Object.fromEntries(
    Array.from(section.matchAll(/^ {4}([A-Z_][A-Z0-9_]*)=(.*)$/gm), ([, name, value]) => [name, value])
  )
}))

const realEnv = (titleStart: string): Env => {
  const found = realEnvironments.find(({ title }) => title.startsWith(titleStart))
  if (found === undefined) throw new Error(`real-agent/env.txt has no section "${titleStart}..."`)
  return found.env
}

const commandExecutor = realEnv("Command executor (agent-generated")
const checkpointingExecutor = realEnv("Command executor, framework checkpoint=true")
const killPolicyExecutor = realEnv("Command executor for a task with kill_policy")
const customExecutor = realEnv("CUSTOM executor")

const sandbox = "<agent work_dir>/slaves/aa840d15-7ee7-4ee8-a7c8-eedd0a25e1f4-S0/frameworks/" +
  "aa840d15-7ee7-4ee8-a7c8-eedd0a25e1f4-0000/executors/cmd-exit0-proto/runs/e352cd08-b461-46d4-8731-98e3be798bff"

const without = (env: Env, ...names: ReadonlyArray<string>): Env =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)))

const load = (env: Env) =>
  ExecutorConfig.load.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))

const problemsOf = (env: Env) =>
  Effect.map(Effect.flip(load(env)), (error) => {
    assert.strictEqual(error._tag, "ExecutorConfigError")
    return error.problems
  })

const problemOf = (env: Env, variable: string) =>
  Effect.map(problemsOf(env), (problems) => {
    assert.deepStrictEqual(problems.map((problem) => problem.variable), [variable])
    return problems[0].problem
  })

const millis = (duration: Duration.Duration): number => Duration.toMillis(duration)

describe("ExecutorConfig.load", () => {
  it.effect("reads the environment of a real command executor", () =>
    Effect.gen(function*() {
      const config = yield* load(commandExecutor)
      assert.strictEqual(config.frameworkId, "aa840d15-7ee7-4ee8-a7c8-eedd0a25e1f4-0000")
      assert.strictEqual(config.executorId, "cmd-exit0-proto")
      assert.deepStrictEqual(config.agentId, Option.some("aa840d15-7ee7-4ee8-a7c8-eedd0a25e1f4-S0"))
      assert.deepStrictEqual(config.directory, Option.some(sandbox))
      assert.deepStrictEqual(config.sandbox, Option.some(sandbox))
      assert.isFalse(config.checkpoint)
      assert.strictEqual(millis(config.shutdownGracePeriod), 5_000)
      assert.isTrue(Option.isNone(config.authenticationToken))
      assert.strictEqual(config.contentType, "application/x-protobuf")
    }))

  it.effect("prefers MESOS_AGENT_ENDPOINT and the bare API path", () =>
    Effect.gen(function*() {
      const { agent } = yield* load({ ...commandExecutor, MESOS_SLAVE_PID: "slave(2)@10.0.0.9:5052" })
      assert.instanceOf(agent, TcpEndpoint)
      assert.deepStrictEqual(agent, new TcpEndpoint({ host: "127.0.0.1", port: 5051, path: "/api/v1/executor" }))
      assert.strictEqual(agent.url, "http://127.0.0.1:5051/api/v1/executor")
    }))

  it.effect("falls back to MESOS_SLAVE_PID, keeping its process id in the path", () =>
    Effect.gen(function*() {
      const real = yield* load(without(commandExecutor, "MESOS_AGENT_ENDPOINT"))
      assert.strictEqual(real.agent.url, "http://127.0.0.1:5051/slave(1)/api/v1/executor")

      const other = yield* load({
        ...without(commandExecutor, "MESOS_AGENT_ENDPOINT"),
        MESOS_SLAVE_PID: "slave(2)@10.0.0.9:5052"
      })
      assert.deepStrictEqual(
        other.agent,
        new TcpEndpoint({ host: "10.0.0.9", port: 5052, path: "/slave(2)/api/v1/executor" })
      )
    }))

  it.effect("reads IPv6 addresses with and without brackets", () =>
    Effect.gen(function*() {
      for (const endpoint of ["[::1]:5051", "::1:5051"]) {
        const { agent } = yield* load({ ...commandExecutor, MESOS_AGENT_ENDPOINT: endpoint })
        assert.deepStrictEqual(agent, new TcpEndpoint({ host: "::1", port: 5051 }), endpoint)
        assert.strictEqual(agent.url, "http://[::1]:5051/api/v1/executor")
      }
      const viaPid = yield* load({
        ...without(commandExecutor, "MESOS_AGENT_ENDPOINT"),
        MESOS_SLAVE_PID: "slave(1)@[fd00::5]:5051"
      })
      assert.strictEqual(viaPid.agent.url, "http://[fd00::5]:5051/slave(1)/api/v1/executor")
    }))

  it.effect("uses MESOS_DOMAIN_SOCKET with the /slave(N) path, N from MESOS_SLAVE_PID", () =>
    Effect.gen(function*() {
      const socketPath = "/var/run/mesos/executors.sock"
      const { agent } = yield* load({
        ...commandExecutor,
        MESOS_DOMAIN_SOCKET: socketPath,
        MESOS_SLAVE_PID: "slave(3)@127.0.0.1:5051"
      })
      assert.instanceOf(agent, UnixSocketEndpoint)
      assert.deepStrictEqual(agent, new UnixSocketEndpoint({ socketPath, path: "/slave(3)/api/v1/executor" }))
      assert.strictEqual(agent.url, "http://localhost/slave(3)/api/v1/executor")

      const withoutPid = yield* load({
        ...without(commandExecutor, "MESOS_SLAVE_PID", "MESOS_AGENT_ENDPOINT"),
        MESOS_DOMAIN_SOCKET: socketPath
      })
      assert.deepStrictEqual(
        withoutPid.agent,
        new UnixSocketEndpoint({ socketPath, path: "/slave(1)/api/v1/executor" })
      )
    }))

  it.effect("requires the agent's address from one of MESOS_AGENT_ENDPOINT and MESOS_SLAVE_PID", () =>
    Effect.gen(function*() {
      const problem = yield* problemOf(
        without(commandExecutor, "MESOS_AGENT_ENDPOINT", "MESOS_SLAVE_PID"),
        "MESOS_AGENT_ENDPOINT"
      )
      assert.include(problem, "MESOS_SLAVE_PID")
    }))

  it.effect("rejects malformed agent addresses, quoting them", () =>
    Effect.gen(function*() {
      const endpoints = [
        "127.0.0.1",
        "127.0.0.1:",
        ":5051",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:http",
        "127.0.0.1:5051/path",
        "user@127.0.0.1:5051",
        "[::1:5051",
        "fe80::1",
        "http://127.0.0.1:5051"
      ]
      for (const endpoint of endpoints) {
        const problem = yield* problemOf({ ...commandExecutor, MESOS_AGENT_ENDPOINT: endpoint }, "MESOS_AGENT_ENDPOINT")
        assert.include(problem, JSON.stringify(endpoint))
      }
      const pids = [
        "127.0.0.1:5051",
        "@127.0.0.1:5051",
        "slave(1)@127.0.0.1",
        "slave/1@127.0.0.1:5051",
        "slave 1@127.0.0.1:5051"
      ]
      for (const pid of pids) {
        const problem = yield* problemOf({ ...commandExecutor, MESOS_SLAVE_PID: pid }, "MESOS_SLAVE_PID")
        assert.include(problem, JSON.stringify(pid))
      }
    }))

  const reconnection = { MESOS_RECOVERY_TIMEOUT: "15mins", MESOS_SUBSCRIPTION_BACKOFF_MAX: "2secs" }

  it.effect("reads MESOS_CHECKPOINT as the agent writes it: 1 or 0", () =>
    Effect.gen(function*() {
      assert.isTrue((yield* load({ ...commandExecutor, MESOS_CHECKPOINT: "1", ...reconnection })).checkpoint)
      assert.isFalse((yield* load({ ...commandExecutor, MESOS_CHECKPOINT: "0" })).checkpoint)
      assert.isFalse((yield* load(without(commandExecutor, "MESOS_CHECKPOINT"))).checkpoint)
      for (const value of ["true", "false", "yes", "2", " 1", "01"]) {
        const problem = yield* problemOf({ ...commandExecutor, MESOS_CHECKPOINT: value }, "MESOS_CHECKPOINT")
        assert.include(problem, JSON.stringify(value))
      }
    }))

  it.effect("reads the reconnection durations of a real checkpointing executor", () =>
    Effect.gen(function*() {
      const config = yield* load(checkpointingExecutor)
      assert.isTrue(config.checkpoint)
      assert.strictEqual(millis(config.recoveryTimeout), 15 * 60_000)
      assert.strictEqual(millis(config.subscriptionBackoffMax), 2_000)

      const other = yield* load({
        ...checkpointingExecutor,
        MESOS_RECOVERY_TIMEOUT: "90secs",
        MESOS_SUBSCRIPTION_BACKOFF_MAX: "1500ms"
      })
      assert.strictEqual(millis(other.recoveryTimeout), 90_000)
      assert.strictEqual(millis(other.subscriptionBackoffMax), 1_500)
    }))

  it.effect("requires both reconnection durations when checkpointing, naming both", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf(
        without(checkpointingExecutor, "MESOS_RECOVERY_TIMEOUT", "MESOS_SUBSCRIPTION_BACKOFF_MAX")
      )
      assert.deepStrictEqual(problems, [
        { variable: "MESOS_RECOVERY_TIMEOUT", problem: "required when MESOS_CHECKPOINT=1, but not set" },
        { variable: "MESOS_SUBSCRIPTION_BACKOFF_MAX", problem: "required when MESOS_CHECKPOINT=1, but not set" }
      ])
    }))

  it.effect("defaults the reconnection durations to the agent's when not checkpointing", () =>
    Effect.gen(function*() {
      const config = yield* load(commandExecutor)
      assert.strictEqual(millis(config.recoveryTimeout), 15 * 60_000)
      assert.strictEqual(millis(config.subscriptionBackoffMax), 2_000)

      const set = yield* load({ ...commandExecutor, MESOS_RECOVERY_TIMEOUT: "1mins" })
      assert.strictEqual(millis(set.recoveryTimeout), 60_000)
    }))

  it.effect("reads the shutdown grace period the agent derives from a kill policy", () =>
    Effect.gen(function*() {
      assert.strictEqual(millis((yield* load(killPolicyExecutor)).shutdownGracePeriod), 3_000)
      assert.strictEqual(millis((yield* load(customExecutor)).shutdownGracePeriod), 5_000)
      const absent = yield* load(without(commandExecutor, "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"))
      assert.strictEqual(millis(absent.shutdownGracePeriod), 5_000)
    }))

  it.effect("rejects durations outside the Mesos grammar, quoting them", () =>
    Effect.gen(function*() {
      const problem = yield* problemOf(
        { ...commandExecutor, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "5s" },
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"
      )
      assert.include(problem, "\"5s\" is not a Mesos duration")
    }))

  it.effect("names every missing or malformed variable in one error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load({
        MESOS_AGENT_ENDPOINT: "localhost",
        MESOS_SLAVE_PID: "slave(1)",
        MESOS_CHECKPOINT: "true",
        MESOS_RECOVERY_TIMEOUT: "15 minutes",
        MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "5"
      }))
      assert.deepStrictEqual(error.problems.map(({ variable }) => variable), [
        "MESOS_FRAMEWORK_ID",
        "MESOS_EXECUTOR_ID",
        "MESOS_AGENT_ENDPOINT",
        "MESOS_SLAVE_PID",
        "MESOS_CHECKPOINT",
        "MESOS_RECOVERY_TIMEOUT",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"
      ])
      assert.strictEqual(
        error.message,
        [
          "The Mesos executor environment is invalid:",
          "  MESOS_FRAMEWORK_ID: required, but not set",
          "  MESOS_EXECUTOR_ID: required, but not set",
          "  MESOS_AGENT_ENDPOINT: expected IP:PORT, such as 127.0.0.1:5051 or [::1]:5051, got \"localhost\"",
          "  MESOS_SLAVE_PID: expected ID@IP:PORT, such as slave(1)@127.0.0.1:5051, got \"slave(1)\"",
          "  MESOS_CHECKPOINT: expected \"1\" or \"0\", got \"true\"",
          `  MESOS_RECOVERY_TIMEOUT: "15 minutes" is not a Mesos duration: expected digits with at most one ` +
          `decimal point, directly followed by one of ns, us, ms, secs, mins, hrs, days, weeks ` +
          `(for example "5secs", "1.5secs", "15mins")`,
          `  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "5" is not a Mesos duration: expected digits with at most one ` +
          `decimal point, directly followed by one of ns, us, ms, secs, mins, hrs, days, weeks ` +
          `(for example "5secs", "1.5secs", "15mins")`
        ].join("\n")
      )
    }))

  it.effect("quotes at most 64 characters of each malformed value, so a huge variable makes no huge message", () =>
    Effect.gen(function*() {
      const huge = "9".repeat(1024 * 1024)
      const error = yield* Effect.flip(load({
        ...commandExecutor,
        MESOS_AGENT_ENDPOINT: huge,
        MESOS_CHECKPOINT: huge,
        MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: huge
      }))
      const quoted = `"${"9".repeat(64)}"… (1048576 chars)`
      assert.deepStrictEqual(error.message.split("\n").slice(1), [
        `  MESOS_AGENT_ENDPOINT: expected IP:PORT, such as 127.0.0.1:5051 or [::1]:5051, got ${quoted}`,
        `  MESOS_CHECKPOINT: expected "1" or "0", got ${quoted}`,
        `  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: ${quoted} is not a Mesos duration: expected digits with at most ` +
        `one decimal point, directly followed by one of ns, us, ms, secs, mins, hrs, days, weeks ` +
        `(for example "5secs", "1.5secs", "15mins")`
      ])
    }))

  it.effect("treats an empty variable as unset", () =>
    Effect.gen(function*() {
      assert.isFalse((yield* load({ ...commandExecutor, MESOS_CHECKPOINT: "" })).checkpoint)
      yield* problemOf({ ...commandExecutor, MESOS_EXECUTOR_ID: "" }, "MESOS_EXECUTOR_ID")
    }))

  it.effect("reads any ConfigProvider, such as one from a plain object", () =>
    Effect.gen(function*() {
      const config = yield* ExecutorConfig.load.pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(customExecutor))
      )
      assert.strictEqual(config.executorId, "custom-selftest-exec")
      assert.strictEqual(config.agent.url, "http://127.0.0.1:5051/api/v1/executor")
    }))

  it.effect("reads process.env when no ConfigProvider is given", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const saved = { ...process.env }
        Object.assign(process.env, commandExecutor)
        return saved
      }),
      () =>
        Effect.map(ExecutorConfig.load, (config) => {
          assert.strictEqual(config.executorId, "cmd-exit0-proto")
        }),
      (saved) =>
        Effect.sync(() => {
          for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
          Object.assign(process.env, saved)
        })
    ))
})

describe("the authentication token", () => {
  const token = "eyJhbGciOiJIUzI1NiJ9.eyJjaWQiOiJjMSIsImVpZCI6ImUxIiwiZmlkIjoiZjEifQ.c2lnbmF0dXJl"
  const withToken = { ...commandExecutor, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: token }

  it.effect("is read as a Redacted value", () =>
    Effect.gen(function*() {
      const config = yield* load(withToken)
      assert.deepStrictEqual(Option.map(config.authenticationToken, Redacted.value), Option.some(token))
    }))

  it.effect("never shows when the configuration is printed", () =>
    Effect.gen(function*() {
      const config = yield* load(withToken)
      for (const printed of [String(config), JSON.stringify(config), inspect(config, { depth: null })]) {
        assert.notInclude(printed, token)
        assert.include(printed, "<redacted>")
      }
      assert.include(String(config), "cmd-exit0-proto")
    }))

  it.effect("never shows in a configuration error", () =>
    Effect.gen(function*() {
      const error: ExecutorConfigError = yield* Effect.flip(load({
        ...without(withToken, "MESOS_FRAMEWORK_ID"),
        MESOS_CHECKPOINT: "yes"
      }))
      assert.strictEqual(error.problems.length, 2)
      for (const printed of [error.message, String(error), JSON.stringify(error), inspect(error, { depth: null })]) {
        assert.notInclude(printed, token)
      }
    }))
})

describe("ExecutorConfig.make", () => {
  const agent = new TcpEndpoint({ host: "127.0.0.1", port: 5051 })

  it("fills in the defaults", () => {
    const config = ExecutorConfig.make({ frameworkId: "framework", executorId: "executor", agent })
    assert.strictEqual(config.agent.url, "http://127.0.0.1:5051/api/v1/executor")
    assert.isFalse(config.checkpoint)
    assert.strictEqual(millis(config.recoveryTimeout), 15 * 60_000)
    assert.strictEqual(millis(config.subscriptionBackoffMax), 2_000)
    assert.strictEqual(millis(config.shutdownGracePeriod), 5_000)
    assert.isTrue(Option.isNone(config.agentId))
    assert.isTrue(Option.isNone(config.directory))
    assert.isTrue(Option.isNone(config.sandbox))
    assert.isTrue(Option.isNone(config.authenticationToken))
    assert.strictEqual(config.contentType, "application/x-protobuf")
  })

  it("takes what is given", () => {
    const config = ExecutorConfig.make({
      frameworkId: "framework",
      executorId: "executor",
      agent,
      checkpoint: true,
      shutdownGracePeriod: Duration.seconds(30),
      contentType: "application/json"
    })
    assert.isTrue(config.checkpoint)
    assert.strictEqual(millis(config.shutdownGracePeriod), 30_000)
    assert.strictEqual(config.contentType, "application/json")
  })

  it.effect("equals the configuration read from an equivalent environment", () =>
    Effect.gen(function*() {
      const read = yield* load(commandExecutor)
      const made = ExecutorConfig.make({
        frameworkId: read.frameworkId,
        executorId: read.executorId,
        agent,
        agentId: read.agentId,
        directory: read.directory,
        sandbox: read.sandbox
      })
      assert.isTrue(Equal.equals(made, read))
      assert.isFalse(Equal.equals(made, ExecutorConfig.make({ ...made, checkpoint: true })))
    }))

  it("rejects values out of range", () => {
    assert.throws(() => new TcpEndpoint({ host: "127.0.0.1", port: 0 }))
    assert.throws(() => new TcpEndpoint({ host: "127.0.0.1", port: 5051, path: "api/v1/executor" }))
    assert.throws(() => new UnixSocketEndpoint({ socketPath: "" }))
  })
})

describe("ExecutorConfig layers", () => {
  it.effect("layer reads the environment", () =>
    Effect.gen(function*() {
      const config = yield* ExecutorConfig
      assert.instanceOf(config, ExecutorSettings)
      assert.strictEqual(config.executorId, "cmd-checkpoint-proto")
    }).pipe(
      Effect.provide(ExecutorConfig.layer.pipe(
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: checkpointingExecutor })))
      ))
    ))

  it.effect("layer fails with the configuration error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(ExecutorConfig.layer).pipe(
        Effect.provide(
          ConfigProvider.layer(ConfigProvider.fromEnv({ env: without(commandExecutor, "MESOS_EXECUTOR_ID") }))
        )
      ))
      assert.strictEqual(error._tag, "ExecutorConfigError")
      assert.deepStrictEqual(error.problems.map(({ variable }) => variable), ["MESOS_EXECUTOR_ID"])
    }))

  it.effect("layerFrom provides the given configuration", () => {
    const given = ExecutorConfig.make({
      frameworkId: "framework",
      executorId: "executor",
      agent: new UnixSocketEndpoint({ socketPath: "/tmp/agent.sock" })
    })
    return Effect.gen(function*() {
      assert.strictEqual(yield* ExecutorConfig, given)
    }).pipe(Effect.provide(ExecutorConfig.layerFrom(given)))
  })
})
