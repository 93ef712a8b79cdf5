import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { TaskState, TaskStatus_Reason } from "../../src/gen/mesos/v1/mesos_pb.js"
import { awaitState, awaitSubscribed, start, statesOf, updatesOf } from "./harness.js"

describe("CommandExecutor: launching", () => {
  it.live("waits for a first task, runs it to TASK_FINISHED, then stops once it is acknowledged", () =>
    Effect.gen(function*() {
      const { agent, executor } = yield* start()
      // Subscribed, with nothing to run: it waits.
      yield* awaitSubscribed(agent)
      yield* Effect.sleep("200 millis")
      assert.isUndefined(executor.pollUnsafe(), "an executor without a task yet keeps running")

      yield* agent.launch({ taskId: { value: "ok" }, command: { value: "exit 0" } })
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")

      assert.deepStrictEqual(yield* statesOf(agent, "ok"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"])
      const updates = yield* updatesOf(agent, "ok")
      assert.strictEqual(updates[2]?.status.message, "Command exited with status 0")
      assert.isTrue(updates.every((update) => update.outcome === "Forwarded"))
    }))

  it.live("reports a non-zero exit as TASK_FAILED naming the status", () =>
    Effect.gen(function*() {
      const { agent, executor } = yield* start()
      yield* agent.launch({ taskId: { value: "exit3" }, command: { value: "exit 3" } })
      const failed = yield* awaitState(agent, "exit3", TaskState.TASK_FAILED)
      assert.strictEqual(failed.status.message, "Command exited with status 3")
      assert.deepStrictEqual(yield* statesOf(agent, "exit3"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"])
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
    }))

  it.live("reports a death by signal as TASK_FAILED naming the signal as strsignal does", () =>
    Effect.gen(function*() {
      const { agent } = yield* start()
      yield* agent.launch({ taskId: { value: "segv" }, command: { value: "kill -SEGV $$" } })
      yield* agent.launch({ taskId: { value: "killed" }, command: { value: "kill -KILL $$" } })
      const segv = yield* awaitState(agent, "segv", TaskState.TASK_FAILED)
      const killed = yield* awaitState(agent, "killed", TaskState.TASK_FAILED)
      assert.strictEqual(segv.status.message, "Command terminated with signal Segmentation fault")
      assert.strictEqual(killed.status.message, "Command terminated with signal Killed")
    }))

  it.live("fails a task whose executable cannot be started, after TASK_STARTING", () =>
    Effect.gen(function*() {
      const { agent } = yield* start()
      yield* agent.launch({
        taskId: { value: "missing" },
        command: { shell: false, value: "/no/such/program", arguments: ["program"] }
      })
      const failed = yield* awaitState(agent, "missing", TaskState.TASK_FAILED)
      assert.deepStrictEqual(yield* statesOf(agent, "missing"), ["TASK_STARTING", "TASK_FAILED"])
      assert.strictEqual(failed.status.reason, TaskStatus_Reason.CONTAINER_LAUNCH_FAILED)
      assert.match(failed.status.message, /^Failed to launch the command: .*\/no\/such\/program/)
    }))

  it.live("fails a task without a command as invalid, without starting it", () =>
    Effect.gen(function*() {
      const { agent } = yield* start()
      yield* agent.launch({ taskId: { value: "nothing" } })
      yield* agent.launch({ taskId: { value: "empty" }, command: { shell: false, value: "" } })
      const nothing = yield* awaitState(agent, "nothing", TaskState.TASK_FAILED)
      const empty = yield* awaitState(agent, "empty", TaskState.TASK_FAILED)
      assert.strictEqual(nothing.status.reason, TaskStatus_Reason.TASK_INVALID)
      assert.match(nothing.status.message, /has no command/)
      assert.strictEqual(empty.status.message, "Executable of task 'empty' is not specified")
      assert.deepStrictEqual(yield* statesOf(agent, "nothing"), ["TASK_FAILED"])
    }))

  it.live("runs a non-shell command with arguments[0] as its argv[0], not as an argument", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "argv" },
        command: {
          shell: false,
          value: "/bin/sh",
          arguments: ["my-shell", "-c", "printf '%s|%s' \"$1\" \"$2\" > args.txt", "zero", "one", "two"]
        }
      })
      yield* awaitState(agent, "argv", TaskState.TASK_FINISHED)
      assert.strictEqual(Fs.readFileSync(Path.join(sandbox, "args.txt"), "utf8"), "one|two")
    }))

  it.live("gives the task the executor's environment without the agent's token, plus its own, in the sandbox", () =>
    Effect.gen(function*() {
      const previous = process.env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN
      process.env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = "secret-jwt"
      process.env.COMMAND_EXECUTOR_TEST_INHERITED = "inherited"
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (previous === undefined) delete process.env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN
          else process.env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = previous
          delete process.env.COMMAND_EXECUTOR_TEST_INHERITED
        })
      )
      const { agent, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "env" },
        resources: [{ name: "cpus", type: 0, scalar: { value: 0.1 }, allocationInfo: { role: "analytics" } }],
        command: {
          value: "env > task-env.txt; pwd > task-pwd.txt",
          environment: {
            variables: [
              { name: "GREETING", value: "hello world" },
              { name: "COMMAND_EXECUTOR_TEST_INHERITED", value: "overridden" },
              { name: "SECRET_THING", type: 2, secret: { type: 2, value: { data: new Uint8Array([1]) } } }
            ]
          }
        }
      })
      yield* awaitState(agent, "env", TaskState.TASK_FINISHED)
      const env = new Map(
        Fs.readFileSync(Path.join(sandbox, "task-env.txt"), "utf8").trim().split("\n").map((line) => {
          const at = line.indexOf("=")
          return [line.slice(0, at), line.slice(at + 1)] as const
        })
      )
      assert.isFalse(env.has("MESOS_EXECUTOR_AUTHENTICATION_TOKEN"), "the token never reaches a task")
      assert.isFalse(env.has("SECRET_THING"), "unresolved secrets are skipped")
      assert.strictEqual(env.get("GREETING"), "hello world")
      assert.strictEqual(env.get("COMMAND_EXECUTOR_TEST_INHERITED"), "overridden")
      assert.strictEqual(env.get("MESOS_ALLOCATION_ROLE"), "analytics")
      assert.strictEqual(env.get("PATH"), process.env.PATH)
      assert.strictEqual(Fs.readFileSync(Path.join(sandbox, "task-pwd.txt"), "utf8").trim(), Fs.realpathSync(sandbox))
    }))

  it.live("serves several tasks at once and stops only after the last one", () =>
    Effect.gen(function*() {
      const { agent, executor } = yield* start()
      yield* agent.launch({ taskId: { value: "short" }, command: { value: "exit 0" } })
      yield* agent.launch({ taskId: { value: "longer" }, command: { value: "sleep 0.5" } })
      yield* awaitState(agent, "short", TaskState.TASK_FINISHED)
      yield* Effect.sleep("100 millis")
      assert.isUndefined(executor.pollUnsafe(), "one task still runs")
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
      assert.deepStrictEqual(yield* statesOf(agent, "longer"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"])
    }))
})
