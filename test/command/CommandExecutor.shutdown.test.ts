import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber } from "effect"
import { Event_Type } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { TaskState } from "../../src/gen/mesos/v1/mesos_pb.js"
import { awaitState, awaitSubscribed, isAlive, readPid, seconds, start, statesOf } from "./harness.js"

// A task with a background child in its process group, and one that ignores SIGTERM.
const withChild = (name: string) =>
  `echo $$ > ${name}.pid; sleep 30 & echo $! > ${name}-child.pid; wait`
const stubborn = (name: string) => `trap '' TERM; echo $$ > ${name}.pid; exec sleep 30`

const launchTwo = (agent: Parameters<typeof statesOf>[0], sandbox: string) =>
  Effect.gen(function*() {
    yield* agent.launch({ taskId: { value: "family" }, command: { value: withChild("family") } })
    yield* agent.launch({
      taskId: { value: "stubborn" },
      command: { value: stubborn("stubborn") },
      killPolicy: { gracePeriod: seconds(20) }
    })
    yield* awaitState(agent, "family", TaskState.TASK_RUNNING)
    yield* awaitState(agent, "stubborn", TaskState.TASK_RUNNING)
    return [
      yield* readPid(sandbox, "family.pid"),
      yield* readPid(sandbox, "family-child.pid"),
      yield* readPid(sandbox, "stubborn.pid")
    ]
  })

describe("CommandExecutor: shutdown", () => {
  it.live("kills every task on SHUTDOWN within the grace period, waits for the ACKs, then ends", () =>
    Effect.gen(function*() {
      // 3 s to shut down: tasks get 1 s from SIGTERM to SIGKILL, whatever their kill policy says.
      const { agent, executor, sandbox } = yield* start({
        shutdownGracePeriod: Duration.seconds(3),
        agent: { executorShutdownGracePeriod: "3 seconds" }
      })
      const pids = yield* launchTwo(agent, sandbox)
      assert.isTrue(pids.every(isAlive))

      const shutdownAt = Date.now()
      yield* agent.shutdownExecutor()
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
      const elapsed = Date.now() - shutdownAt
      assert.isAtLeast(elapsed, 950, "the stubborn task had its (bounded) grace period")
      assert.isBelow(elapsed, 3000, "all within the 3 s shutdown grace period")

      for (const taskId of ["family", "stubborn"]) {
        assert.deepStrictEqual(yield* statesOf(agent, taskId), [
          "TASK_STARTING",
          "TASK_RUNNING",
          "TASK_KILLING",
          "TASK_KILLED"
        ])
      }
      const state = yield* agent.state
      const acknowledged = state.events.filter((sent) => sent.event.type === Event_Type.ACKNOWLEDGED).length
      assert.strictEqual(acknowledged, 8, "every update was acknowledged before the driver ended")
      assert.strictEqual(state.destroyedContainers.length, 0, "the executor was gone before the agent's timer")
      assert.deepStrictEqual(pids.filter(isAlive), [])
    }))

  it.live("kills every task when the agent is lost, and ends with the driver's error", () =>
    Effect.gen(function*() {
      const { agent, executor, sandbox } = yield* start({ checkpoint: false, shutdownGracePeriod: Duration.seconds(2) })
      const pids = yield* launchTwo(agent, sandbox)

      yield* agent.dropStream()
      const exit = yield* Fiber.await(executor)
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /Disconnected/)
      assert.deepStrictEqual(pids.filter(isAlive), [], "no task process outlives the executor")
    }))

  it.live("kills every task process when the executor is interrupted", () =>
    Effect.gen(function*() {
      const { agent, executor, sandbox } = yield* start()
      const pids = yield* launchTwo(agent, sandbox)
      yield* Fiber.interrupt(executor)
      assert.deepStrictEqual(pids.filter(isAlive), [])
    }))

  it.live("shuts down at once when no task runs", () =>
    Effect.gen(function*() {
      const { agent, executor } = yield* start()
      yield* awaitSubscribed(agent)
      yield* agent.shutdownExecutor()
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
    }))
})
