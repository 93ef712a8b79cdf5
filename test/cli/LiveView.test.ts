import { create } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Result, Terminal } from "effect"
import { TestClock } from "effect/testing"
import { type Event, Event_Type, EventSchema } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { TaskState, TaskStatus_Source, TaskStatusSchema } from "../../src/gen/mesos/v1/mesos_pb.js"
import type { Activity } from "../../src/cli/Activity.js"
import { Display } from "../../src/cli/Display.js"
import * as LiveView from "../../src/cli/LiveView.js"
import type { Report } from "../../src/cli/Report.js"
import * as TasksFile from "../../src/cli/TasksFile.js"

const tasksFile = Result.getOrThrow(TasksFile.parse("tasks.json", JSON.stringify({
  executors: [{
    executor: { executor_id: { value: "live" } },
    launches: [
      { task: { task_id: { value: "first" } }, expect: "TASK_FINISHED" },
      { task: { task_id: { value: "second" } }, expect: "TASK_FINISHED" }
    ]
  }]
})))

const update = (taskId: string, state: TaskState, message = ""): Activity => ({
  _tag: "UpdateHandled",
  at: 0,
  update: {
    at: 0,
    origin: "Executor",
    frameworkId: "framework",
    executorId: "live",
    taskId,
    outcome: "Forwarded",
    status: create(TaskStatusSchema, { taskId: { value: taskId }, state, message, source: TaskStatus_Source.EXECUTOR })
  }
})

const sent = (event: Event): Activity => ({
  _tag: "EventSent",
  at: 0,
  event: { at: 0, subscription: 1, frameworkId: "framework", executorId: "live", event }
})

/** The live view on a terminal 60 columns wide that records what is written to it. */
const liveView = Effect.gen(function*() {
  const written: Array<string> = []
  const terminal = Terminal.make({
    columns: Effect.succeed(60),
    rows: Effect.succeed(24),
    size: Effect.die("unused"),
    readInput: Effect.die("unused"),
    readLine: Effect.die("unused"),
    display: (text) => Effect.sync(() => void written.push(text))
  })
  const context = yield* Layer.build(LiveView.layer(tasksFile).pipe(Layer.provide(Layer.succeed(Terminal.Terminal, terminal))))
  return { display: Context.get(context, Display), written }
})

// ANSI escapes, to read what a frame shows.
const plainText = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")

describe("LiveView", () => {
  it.effect("redraws the task table in place, at most once per 100 ms however much happens", () =>
    Effect.gen(function*() {
      const { display, written } = yield* liveView
      yield* display.show({ _tag: "AgentStarted", at: 0, url: "http://127.0.0.1:5051", workDir: "/work" })
      yield* display.show(sent(create(EventSchema, { type: Event_Type.SUBSCRIBED })))
      for (let round = 0; round < 50; round++) {
        yield* display.show(update("first", TaskState.TASK_STARTING))
        yield* display.show(update("first", TaskState.TASK_RUNNING, `round ${round}`))
      }
      assert.strictEqual(written.length, 0)
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(written.length, 1)
      const frame = plainText(written[0]!)
      assert.include(frame, "agent listening on http://127.0.0.1:5051")
      assert.include(frame, "tasks: 1 running · 1 queued")
      assert.include(frame, "executor live: subscribed")
      assert.match(frame, /^ {2}first {3}TASK_RUNNING {12}round 49$/m)
      assert.match(frame, /^ {2}second {2}\(queued\)$/m)

      // Nothing new: no redraw until the clock in the first line moves.
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(written.length, 1)
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(written.length, 2)
      // A redraw goes back over the table it replaces (5 lines), then draws the new one.
      assert.strictEqual(written[1]!.slice(0, 8), "\x1b[5F\x1b[0J")

      yield* display.show(update("first", TaskState.TASK_FINISHED, "Command exited with status 0 and a long message"))
      yield* TestClock.adjust("100 millis")
      // Lines are cut to the terminal's width rather than wrapped, which would break the redraw.
      const lines = plainText(written[2]!).split("\n")
      assert.isTrue(lines.every((line) => line.length < 60))
      assert.include(lines.find((line) => line.includes("first")), "…")
    }))

  it.effect("shows the summary below the final table, with the cursor back", () =>
    Effect.gen(function*() {
      const { display, written } = yield* liveView
      yield* display.show({ _tag: "AgentStarted", at: 0, url: "http://127.0.0.1:5051", workDir: "/work" })
      const report: Report = {
        tasks: tasksFile.executors[0]!.launches.map((launch) => ({
          executorId: "live",
          taskId: launch.expectations[0]!.taskId,
          state: TaskState.TASK_FINISHED,
          reason: undefined,
          message: undefined,
          healthy: false,
          expected: launch.expectations[0]!,
          ok: true
        })),
        executors: [{
          executorId: "live",
          sandbox: "/work/live",
          subscribed: true,
          exit: { _tag: "Exited", code: 0 },
          expectedExitCode: 0,
          ok: true
        }],
        problems: [],
        timedOut: undefined,
        ok: true
      }
      yield* display.finish(report)
      const output = written.join("")
      assert.include(output, "\x1b[?25h")
      assert.include(plainText(output), "PASSED: 2 of 2 task(s) ended as expected; 1 of 1 executor(s) exited as expected")
      // Nothing is drawn after the summary.
      const count = written.length
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(written.length, count)
    }))
})
