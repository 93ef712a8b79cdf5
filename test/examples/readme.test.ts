// The test shown in the README's "Testing an executor", kept here so that the README stays true.
import { assert, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { ExecutorConfig, ExecutorDriver, Mesos } from "effect-mesos-executor"
import { AgentModel, FakeAgent } from "effect-mesos-executor/testing"
import { sleepExecutor } from "../../examples/sleep-executor.js"

it.effect("finishes after the sleep, or is killed", () =>
  Effect.gen(function*() {
    const agent = yield* AgentModel.AgentModel
    const task = (id: string, seconds: string) => ({
      name: id,
      taskId: { value: id },
      agentId: { value: "fake-agent-S0" },
      data: new TextEncoder().encode(seconds)
    })
    yield* agent.launch(task("nap", "120"))
    yield* agent.launch(task("killed", "3600"))
    const running = yield* Effect.forkChild(ExecutorDriver.run(sleepExecutor))
    yield* TestClock.adjust("1 minute")
    yield* agent.kill("killed")
    yield* TestClock.adjust("1 minute")
    const finished = yield* agent.awaitUpdate((u) => u.taskId === "nap" && u.status.state === Mesos.TaskState.TASK_FINISHED)
    assert.strictEqual(finished.at, 120_000)
    yield* agent.shutdownExecutor()
    yield* TestClock.adjust("1 second")
    assert.strictEqual(yield* Fiber.join(running), "Stopped")
  }).pipe(Effect.provide(Layer.merge(
    FakeAgent.layer(),
    ExecutorConfig.layerFrom(ExecutorConfig.make({
      frameworkId: "fake-framework-0000",
      executorId: "fake-executor",
      agent: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port: 5051 })
    }))
  ))))
