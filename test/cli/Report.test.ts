import { create } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import * as Report from "../../src/cli/Report.js"
import * as TasksFile from "../../src/cli/TasksFile.js"
import { Call_Type, CallSchema } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { TaskState, TaskStatus_Source } from "../../src/gen/mesos/v1/mesos_pb.js"
import { AgentModel } from "../../src/testing/AgentModel.js"

const ids = { frameworkId: { value: "fake-framework-0000" }, executorId: { value: "fake-executor" } }

const tasksFile = Result.getOrThrow(TasksFile.parse("tasks.json", JSON.stringify({
  executors: [{
    executor: { executor_id: { value: "fake-executor" } },
    launches: [{ task: { task_id: { value: "t" } }, expect: "TASK_FINISHED" }]
  }]
})))

const running = (uuid: number) =>
  create(CallSchema, {
    ...ids,
    type: Call_Type.UPDATE,
    update: {
      status: {
        taskId: { value: "t" },
        state: TaskState.TASK_RUNNING,
        source: TaskStatus_Source.EXECUTOR,
        // A version 4 UUID.
        uuid: new Uint8Array([uuid, 1, 2, 3, 4, 5, 0x46, 7, 0x88, 9, 10, 11, 12, 13, 14, 15])
      }
    }
  })

describe("Report", () => {
  it.effect("names the updates whose ACK went to a stream the executor had already closed", () =>
    Effect.gen(function*() {
      const model = yield* AgentModel.make()
      yield* model.launch({ taskId: { value: "t" }, command: { value: "true" } })
      const subscribed = yield* model.handle({
        call: create(CallSchema, { ...ids, type: Call_Type.SUBSCRIBE, subscribe: {} })
      })
      assert.strictEqual(subscribed._tag, "Subscribed")
      yield* model.handle({ call: running(1) })
      // The executor goes away before the agent acknowledges its second update.
      if (subscribed._tag === "Subscribed") yield* subscribed.subscription.close
      yield* TestClock.adjust("1 millis")
      yield* model.handle({ call: running(2) })

      const report = Report.make({
        tasksFile,
        state: yield* model.state,
        executors: [{ executorId: "fake-executor", sandbox: "/sandbox", exit: { _tag: "Exited", code: 0 } }],
        timedOut: undefined,
        strict: false
      })
      assert.deepStrictEqual(report.problems.map((problem) => problem.text), [
        "UPDATE t TASK_RUNNING was never acknowledged: the executor closed its stream before the ACK"
      ])
      assert.deepStrictEqual(report.tasks.map((task) => [task.taskId, task.state, task.ok]), [["t", TaskState.TASK_RUNNING, false]])
      assert.isTrue(report.executors[0]!.ok)
      assert.isFalse(report.ok)
    }))

  it.effect("--strict fails a run whose only fault is a protocol mistake", () =>
    Effect.gen(function*() {
      const model = yield* AgentModel.make()
      yield* model.launch({ taskId: { value: "t" }, command: { value: "true" } })
      yield* model.handle({ call: create(CallSchema, { ...ids, type: Call_Type.SUBSCRIBE, subscribe: {} }) })
      const staging = running(3)
      staging.update!.status!.state = TaskState.TASK_STAGING
      yield* model.handle({ call: staging })
      const finished = running(4)
      finished.update!.status!.state = TaskState.TASK_FINISHED
      yield* model.handle({ call: finished })

      const report = (strict: boolean) =>
        Effect.map(model.state, (state) =>
          Report.make({
            tasksFile,
            state,
            executors: [{ executorId: "fake-executor", sandbox: "/sandbox", exit: { _tag: "Exited", code: 0 } }],
            timedOut: undefined,
            strict
          }))
      const lenient = yield* report(false)
      assert.isTrue(lenient.ok)
      assert.deepStrictEqual(lenient.problems.map((problem) => problem.text), [
        "→ UPDATE t TASK_STAGING rejected: 400 Failed to validate Executor::Call: Received TASK_STAGING from executor " +
        "fake-executor of framework fake-framework-0000 which is not allowed"
      ])
      assert.isFalse((yield* report(true)).ok)
    }))
})
