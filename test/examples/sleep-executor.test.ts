import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { ExecutorConfig, ExecutorDriver, Mesos } from "effect-mesos-executor"
import { AgentModel, FakeAgent, HttpFakeAgent } from "effect-mesos-executor/testing"
import { main, sleepExecutor } from "../../examples/sleep-executor.js"
import { statesByTask } from "../support/agent.js"

const { TaskState } = Mesos

const sleeper = (id: string, seconds: string) => ({
  name: id,
  taskId: { value: id },
  agentId: { value: "fake-agent-S0" },
  data: new TextEncoder().encode(seconds)
})

describe("examples/sleep-executor", () => {
  it.effect("in virtual time against the in-memory fake agent: finishes after the sleep, or is killed", () =>
    Effect.gen(function*() {
      const agent = yield* AgentModel.AgentModel
      yield* agent.launch(sleeper("nap", "120"))
      yield* agent.launch(sleeper("killed", "3600"))
      const running = yield* Effect.forkChild(ExecutorDriver.run(sleepExecutor))
      yield* TestClock.adjust("1 minute")
      yield* agent.kill("killed")
      yield* TestClock.adjust("59 seconds")
      assert.deepStrictEqual(yield* statesByTask, { nap: ["TASK_RUNNING"], killed: ["TASK_RUNNING", "TASK_KILLED"] })
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual((yield* statesByTask).nap, ["TASK_RUNNING", "TASK_FINISHED"])
      yield* agent.shutdownExecutor()
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(running), "Stopped")
    }).pipe(
      Effect.provide(
        Layer.merge(
          FakeAgent.layer(),
          ExecutorConfig.layerFrom(
            ExecutorConfig.make({
              frameworkId: "fake-framework-0000",
              executorId: "fake-executor",
              agent: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port: 5051 })
            })
          )
        )
      )
    ))

  it.live("as shipped, over real HTTP against the loopback fake agent, configured by the agent's environment", () =>
    Effect.gen(function*() {
      const http = yield* HttpFakeAgent.HttpFakeAgent
      const agent = http.model
      yield* agent.launch(sleeper("quick", "0.2"))
      yield* agent.launch(sleeper("killed", "3600"))
      const env = yield* http.environment()
      const running = yield* Effect.forkChild(
        main.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))
      )
      yield* agent.awaitUpdate((update) => update.taskId === "quick" && update.status.state === TaskState.TASK_FINISHED)
      yield* agent.kill("killed")
      yield* agent.awaitUpdate((update) => update.taskId === "killed" && update.status.state === TaskState.TASK_KILLED)
      assert.deepStrictEqual(yield* statesByTask, {
        quick: ["TASK_RUNNING", "TASK_FINISHED"],
        killed: ["TASK_RUNNING", "TASK_KILLED"]
      })
      yield* agent.shutdownExecutor()
      assert.strictEqual(yield* Fiber.join(running), "Stopped")
      const calls = (yield* agent.state).calls
      assert.isTrue(calls.every((call) => call.contentType === "application/x-protobuf"))
    }).pipe(Effect.provide(HttpFakeAgent.layer())))
})
