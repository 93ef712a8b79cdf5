import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ChildProcess } from "effect/process"
import * as TaskExit from "../../src/command/TaskExit.js"

const exitOf = (script: string) =>
  Effect.scoped(Effect.flatMap(ChildProcess.make("/bin/sh", ["-c", script], { stdin: "ignore" }), TaskExit.await))

describe("TaskExit", () => {
  it("words an exit as Mesos's WSTRINGIFY does", () => {
    const { Exited, Signaled } = TaskExit.TaskExit
    assert.strictEqual(TaskExit.describe(Exited({ code: 0 })), "exited with status 0")
    assert.strictEqual(TaskExit.describe(Exited({ code: 137 })), "exited with status 137")
    assert.strictEqual(TaskExit.describe(Signaled({ signal: "SIGTERM" })), "terminated with signal Terminated")
    assert.strictEqual(TaskExit.describe(Signaled({ signal: "SIGKILL" })), "terminated with signal Killed")
    assert.strictEqual(TaskExit.describe(Signaled({ signal: "SIGRTMIN" })), "terminated with signal SIGRTMIN")
  })

  it.live("tells an exit status from a death by signal", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* exitOf("exit 0"), TaskExit.TaskExit.Exited({ code: 0 }))
      assert.deepStrictEqual(yield* exitOf("exit 42"), TaskExit.TaskExit.Exited({ code: 42 }))
      assert.deepStrictEqual(yield* exitOf("kill -TERM $$"), TaskExit.TaskExit.Signaled({ signal: "SIGTERM" }))
      assert.deepStrictEqual(yield* exitOf("kill -ABRT $$"), TaskExit.TaskExit.Signaled({ signal: "SIGABRT" }))
      assert.isTrue(TaskExit.isSuccess(yield* exitOf("true")))
      assert.isFalse(TaskExit.isSuccess(yield* exitOf("false")))
    }).pipe(Effect.provide(NodeServices.layer)))
})
