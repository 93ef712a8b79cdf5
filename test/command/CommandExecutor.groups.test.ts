import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { TaskState } from "../../src/gen/mesos/v1/mesos_pb.js"
import { awaitState, isAlive, readPid, seconds, start, statesOf } from "./harness.js"

describe("CommandExecutor: task groups", () => {
  it.live("runs every task of a group and kills the rest when one fails", () =>
    Effect.gen(function*() {
      const { agent, executor, sandbox } = yield* start()
      yield* agent.launch({ taskId: { value: "alone" }, command: { value: "exec sleep 30" } })
      yield* agent.launchGroup({
        tasks: [
          { taskId: { value: "failing" }, command: { value: "while [ ! -f go ]; do sleep 0.02; done; exit 1" } },
          { taskId: { value: "cooperative" }, command: { value: "echo $$ > cooperative.pid; exec sleep 30" } },
          {
            taskId: { value: "stubborn" },
            command: { value: "trap '' TERM; echo $$ > stubborn.pid; exec sleep 30" },
            killPolicy: { gracePeriod: seconds(0.4) }
          }
        ]
      })
      for (const taskId of ["failing", "cooperative", "stubborn"]) {
        yield* awaitState(agent, taskId, TaskState.TASK_RUNNING)
      }
      const pids = [yield* readPid(sandbox, "cooperative.pid"), yield* readPid(sandbox, "stubborn.pid")]
      yield* Effect.sync(() => Fs.writeFileSync(Path.join(sandbox, "go"), ""))

      const failed = yield* awaitState(agent, "failing", TaskState.TASK_FAILED)
      assert.strictEqual(failed.status.message, "Command exited with status 1")
      const cooperative = yield* awaitState(agent, "cooperative", TaskState.TASK_KILLED)
      const stubborn = yield* awaitState(agent, "stubborn", TaskState.TASK_KILLED)
      assert.strictEqual(cooperative.status.message, "Command terminated with signal Terminated")
      assert.strictEqual(stubborn.status.message, "Command terminated with signal Killed")
      assert.isAtLeast(stubborn.at - failed.at, 350, "the group kill keeps the task's own grace period")
      assert.deepStrictEqual(yield* statesOf(agent, "cooperative"), [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_KILLED"
      ])
      assert.isFalse(pids.some(isAlive))

      // A task outside the group is not touched; the executor keeps running for it.
      assert.deepStrictEqual(yield* statesOf(agent, "alone"), ["TASK_STARTING", "TASK_RUNNING"])
      assert.isUndefined(executor.pollUnsafe())
      yield* agent.kill("alone")
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
    }))

  it.live("leaves the group running when one of its tasks finishes, and kills it when one is killed", () =>
    Effect.gen(function*() {
      const { agent, executor } = yield* start()
      yield* agent.launchGroup({
        tasks: [
          { taskId: { value: "finishing" }, command: { value: "exit 0" } },
          { taskId: { value: "killed" }, command: { value: "exec sleep 30" } },
          { taskId: { value: "sibling" }, command: { value: "exec sleep 30" } }
        ]
      })
      yield* awaitState(agent, "finishing", TaskState.TASK_FINISHED)
      yield* awaitState(agent, "sibling", TaskState.TASK_RUNNING)
      yield* Effect.sleep("200 millis")
      assert.deepStrictEqual(yield* statesOf(agent, "sibling"), ["TASK_STARTING", "TASK_RUNNING"])

      yield* agent.kill("killed")
      yield* awaitState(agent, "killed", TaskState.TASK_KILLED)
      yield* awaitState(agent, "sibling", TaskState.TASK_KILLED)
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
    }))
})
