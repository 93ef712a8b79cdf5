import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import { Executor, ExecutorConfig, ExecutorDriver, HttpAgentClient, Mesos } from "effect-mesos-executor"
import { AgentModel, FakeAgent, HttpFakeAgent } from "effect-mesos-executor/testing"

interface Captured {
  readonly message: unknown
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Every log line at every level, with its annotations. */
const capture = (into: Array<Captured>) =>
  Layer.merge(
    Logger.layer([
      Logger.map(Logger.formatStructured, (line) => {
        into.push({ message: line.message, annotations: line.annotations })
      })
    ]),
    Layer.succeed(References.MinimumLogLevel, "All")
  )

const task = (id: string) => ({ name: id, taskId: { value: id }, agentId: { value: "fake-agent-S0" } })

describe("ExecutorDriver observability", () => {
  it.effect("logs from callbacks and task fibers carry the framework, executor and task ids", () => {
    const lines: Array<Captured> = []
    return Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      const executor = Executor.make({
        launchTask: (launched) =>
          Effect.gen(function*() {
            yield* Effect.logInfo("launching")
            const driver = yield* ExecutorDriver.ExecutorDriver
            yield* driver.runTask(launched.taskId!, Effect.logInfo("working"))
          })
      })
      const driver = yield* ExecutorDriver.makeWithConfig(
        executor,
        ExecutorConfig.make({
          frameworkId: "fake-framework-0000",
          executorId: "fake-executor",
          agent: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port: 5051 })
        })
      )
      yield* Effect.forkChild(driver.run)
      yield* agent.launch(task("t1"))
      yield* TestClock.adjust(0)
      for (const message of ["launching", "working"]) {
        const line = lines.find((captured) => JSON.stringify(captured.message).includes(message))
        assert.deepInclude(line?.annotations, {
          frameworkId: "fake-framework-0000",
          executorId: "fake-executor",
          taskId: "t1"
        }, message)
      }
    }).pipe(Effect.provide(FakeAgent.layer()), Effect.provide(capture(lines)))
  })

  it.live("the authentication token appears in no log line and no error, even when the agent refuses it", () => {
    const lines: Array<Captured> = []
    return Effect.gen(function*() {
      const http = yield* HttpFakeAgent.HttpFakeAgent
      yield* http.model.launch(task("t1"))
      const env = yield* http.environment()
      const token = env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"]!
      const run = (environment: Record<string, string>) =>
        ExecutorDriver.run(Executor.make({
          launchTask: (launched) =>
            Effect.gen(function*() {
              const driver = yield* ExecutorDriver.ExecutorDriver
              yield* driver.sendStatusUpdate({ taskId: launched.taskId!, state: Mesos.TaskState.TASK_FINISHED })
            })
        })).pipe(
          Effect.provide(HttpAgentClient.layer.pipe(Layer.provideMerge(ExecutorConfig.layer))),
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: environment }))
        )
      const running = yield* Effect.forkChild(run(env))
      yield* http.model.awaitUpdate((update) => update.status.state === Mesos.TaskState.TASK_FINISHED)
      yield* http.model.shutdownExecutor()
      yield* Fiber.join(running)
      const wrong = "wrong-token-0123456789"
      const refused = yield* Effect.flip(run({ ...env, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: wrong }))
      assert.isAbove(lines.length, 0)
      const logged = JSON.stringify(lines)
      for (const secret of [token, wrong]) {
        assert.notInclude(logged, secret)
        assert.notInclude(String(refused), secret)
        assert.notInclude(JSON.stringify(refused), secret)
      }
    }).pipe(Effect.provide(HttpFakeAgent.layer({ authentication: true })), Effect.provide(capture(lines)))
  })
})
