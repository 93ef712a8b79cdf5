import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer } from "effect"
import { Executor, ExecutorConfig, ExecutorDriver, HttpAgentClient, Mesos } from "effect-mesos-executor"
import { HttpFakeAgent } from "effect-mesos-executor/testing"

const { TaskState } = Mesos

const task = (id: string) => ({ name: id, taskId: { value: id }, agentId: { value: "fake-agent-S0" } })

/** Reports TASK_RUNNING then TASK_FINISHED for each task. */
const finisher = Executor.make({
  launchTask: (launched) =>
    Effect.gen(function*() {
      const driver = yield* ExecutorDriver.ExecutorDriver
      yield* driver.sendStatusUpdate({ taskId: launched.taskId!, state: TaskState.TASK_RUNNING })
      yield* driver.sendStatusUpdate({ taskId: launched.taskId!, state: TaskState.TASK_FINISHED })
    })
})

/** The driver over real HTTP, configured from the environment the fake agent gives its executor. */
const runOverHttp = (env: Record<string, string>, contentType?: "application/json") =>
  ExecutorDriver.run(finisher).pipe(
    Effect.provide(
      HttpAgentClient.layer.pipe(
        Layer.provideMerge(
          contentType === undefined
            ? ExecutorConfig.layer
            : Layer.effect(
              ExecutorConfig.ExecutorConfig,
              Effect.map(ExecutorConfig.load, (config) => ExecutorConfig.make({ ...config, contentType }))
            )
        )
      )
    ),
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
  )

const finished = (agent: HttpFakeAgent.HttpFakeAgentShape, taskId: string) =>
  agent.model.awaitUpdate((update) => update.taskId === taskId && update.status.state === TaskState.TASK_FINISHED)

describe("ExecutorDriver over HTTP (loopback fake agent)", () => {
  it.live("with executor authentication: the token from the environment goes on every request", () =>
    Effect.gen(function*() {
      const agent = yield* HttpFakeAgent.HttpFakeAgent
      yield* agent.model.launch(task("t1"))
      const env = yield* agent.environment()
      assert.isDefined(env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"])
      const running = yield* Effect.forkChild(runOverHttp(env))
      yield* finished(agent, "t1")
      yield* agent.model.shutdownExecutor()
      assert.strictEqual(yield* Fiber.join(running), "Stopped")
      const statuses = (yield* agent.model.state).calls.map((call) => call.status)
      assert.isTrue(statuses.every((status) => status === 200 || status === 202), `statuses ${statuses}`)
    }).pipe(Effect.provide(HttpFakeAgent.layer({ authentication: true }))))

  it.live("a wrong token is refused (401) and the driver ends with SubscribeRejected", () =>
    Effect.gen(function*() {
      const agent = yield* HttpFakeAgent.HttpFakeAgent
      const env = { ...(yield* agent.environment()), MESOS_EXECUTOR_AUTHENTICATION_TOKEN: "not-the-token" }
      const error = yield* Effect.flip(runOverHttp(env))
      assert.strictEqual(error._tag, "ExecutorDriverError")
      assert.strictEqual((error as { reason: string }).reason, "SubscribeRejected")
      assert.notInclude(String(error), "not-the-token")
      assert.strictEqual((yield* agent.model.state).calls[0]?.status, 401)
    }).pipe(Effect.provide(HttpFakeAgent.layer({ authentication: true }))))

  it.live("in JSON", () =>
    Effect.gen(function*() {
      const agent = yield* HttpFakeAgent.HttpFakeAgent
      yield* agent.model.launch(task("t1"))
      const running = yield* Effect.forkChild(runOverHttp(yield* agent.environment(), "application/json"))
      yield* finished(agent, "t1")
      yield* agent.model.shutdownExecutor()
      assert.strictEqual(yield* Fiber.join(running), "Stopped")
      const calls = (yield* agent.model.state).calls
      assert.isTrue(calls.every((call) => call.contentType === "application/json"))
    }).pipe(Effect.provide(HttpFakeAgent.layer())))

  it.live("survives an agent restart with checkpointing: refused connections, 503s, then resends what is unacknowledged", () =>
    Effect.gen(function*() {
      const agent = yield* HttpFakeAgent.HttpFakeAgent
      yield* agent.model.launch(task("before"))
      const running = yield* Effect.forkChild(runOverHttp(yield* agent.environment()))
      yield* finished(agent, "before")
      yield* agent.model.setFaults({ withholdAcks: true })
      yield* agent.model.launch(task("during"))
      yield* agent.model.awaitUpdate((update) => update.taskId === "during" && update.status.state === TaskState.TASK_FINISHED)
      yield* agent.model.setFaults({ withholdAcks: false })
      // The re-registration window equals MESOS_SUBSCRIPTION_BACKOFF_MAX, as on a real agent, so some attempt lands in it.
      yield* agent.model.restart({ downFor: "300 millis", unavailableFor: "100 millis" })
      yield* agent.model.awaitState((state) => state.phase === "Running" && state.subscriptions.length >= 2 ? true : undefined)
      const state = yield* agent.model.state
      const resubscribe = state.calls.filter((call) => call.call?.type === 1 && call.status === 200).at(-1)
      const resent = resubscribe?.call?.subscribe?.unacknowledgedUpdates.map((update) => update.status?.taskId?.value)
      assert.deepStrictEqual(resent, ["during", "during"])
      yield* agent.model.shutdownExecutor()
      assert.strictEqual(yield* Fiber.join(running), "Stopped")
    }).pipe(Effect.provide(HttpFakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))
})
