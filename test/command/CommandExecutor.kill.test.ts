import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { FrameworkInfo_Capability_Type, TaskState, TaskStatus_Reason } from "../../src/gen/mesos/v1/mesos_pb.js"
import { awaitState, awaitSubscribed, isAlive, readPid, seconds, start, statesOf } from "./harness.js"

// A task that ignores SIGTERM (the exec'd `sleep` inherits the ignored signal): only SIGKILL ends it. It
// writes its pid once the trap is set: kill it only after that.
const stubborn = "trap '' TERM; echo $$ > pid; exec sleep 30"

describe("CommandExecutor: killing", () => {
  it.live("sends TASK_KILLING, SIGTERMs the task and reports TASK_KILLED", () =>
    Effect.gen(function*() {
      const { agent, executor, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "polite" },
        command: { value: "echo $$ > pid; exec sleep 30" },
        killPolicy: { gracePeriod: seconds(5) }
      })
      yield* awaitState(agent, "polite", TaskState.TASK_RUNNING)
      const pid = yield* readPid(sandbox, "pid")
      const killedAt = Date.now()
      yield* agent.kill("polite")
      const killed = yield* awaitState(agent, "polite", TaskState.TASK_KILLED)
      assert.isBelow(Date.now() - killedAt, 2000, "SIGTERM ended it well before the grace period")
      assert.strictEqual(killed.status.message, "Command terminated with signal Terminated")
      assert.deepStrictEqual(yield* statesOf(agent, "polite"), [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_KILLED"
      ])
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
      assert.isFalse(isAlive(pid))
    }))

  it.live("SIGKILLs a task that ignores SIGTERM once its kill policy's grace period is over", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "stubborn" },
        command: { value: stubborn },
        killPolicy: { gracePeriod: seconds(0.6) }
      })
      yield* awaitState(agent, "stubborn", TaskState.TASK_RUNNING)
      const pid = yield* readPid(sandbox, "pid")
      yield* agent.kill("stubborn")
      const killing = yield* awaitState(agent, "stubborn", TaskState.TASK_KILLING)
      yield* Effect.sleep("300 millis")
      assert.isTrue(isAlive(pid), "SIGTERM alone does not end it")
      const killed = yield* awaitState(agent, "stubborn", TaskState.TASK_KILLED)
      const elapsed = killed.at - killing.at
      assert.isAtLeast(elapsed, 550)
      assert.isBelow(elapsed, 1500)
      assert.strictEqual(killed.status.message, "Command terminated with signal Killed")
      assert.isFalse(isAlive(pid))
    }))

  it.live("lets the KILL's kill policy override the task's", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "override" },
        command: { value: stubborn },
        killPolicy: { gracePeriod: seconds(20) }
      })
      yield* awaitState(agent, "override", TaskState.TASK_RUNNING)
      yield* readPid(sandbox, "pid")
      yield* agent.kill("override", { gracePeriod: seconds(0.3) })
      const killing = yield* awaitState(agent, "override", TaskState.TASK_KILLING)
      const killed = yield* awaitState(agent, "override", TaskState.TASK_KILLED)
      assert.isAtLeast(killed.at - killing.at, 250)
      assert.isBelow(killed.at - killing.at, 1200)
      assert.strictEqual(killed.status.message, "Command terminated with signal Killed")
    }))

  it.live("lets a repeated KILL shorten the grace period but never extend it", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({ taskId: { value: "repeated" }, command: { value: stubborn } })
      yield* awaitState(agent, "repeated", TaskState.TASK_RUNNING)
      yield* readPid(sandbox, "pid")
      yield* agent.kill("repeated", { gracePeriod: seconds(5) })
      const killing = yield* awaitState(agent, "repeated", TaskState.TASK_KILLING)
      yield* Effect.sleep("200 millis")
      yield* agent.kill("repeated", { gracePeriod: seconds(30) }) // no extension
      yield* agent.kill("repeated", { gracePeriod: seconds(0.7) }) // SIGKILL 0.7 s after the first KILL
      yield* agent.kill("repeated", { gracePeriod: seconds(10) }) // still no extension
      const killed = yield* awaitState(agent, "repeated", TaskState.TASK_KILLED)
      const elapsed = killed.at - killing.at
      assert.isAtLeast(elapsed, 650, "the grace counts from the first KILL")
      assert.isBelow(elapsed, 1500)
      assert.deepStrictEqual(yield* statesOf(agent, "repeated"), [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_KILLED"
      ], "one TASK_KILLING, however many KILLs")
    }))

  it.live("sends SIGKILL at once when a repeated KILL's grace period is already over", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({ taskId: { value: "overdue" }, command: { value: stubborn } })
      yield* awaitState(agent, "overdue", TaskState.TASK_RUNNING)
      yield* readPid(sandbox, "pid")
      yield* agent.kill("overdue", { gracePeriod: seconds(10) })
      const killing = yield* awaitState(agent, "overdue", TaskState.TASK_KILLING)
      yield* Effect.sleep("400 millis")
      yield* agent.kill("overdue", { gracePeriod: seconds(0.1) })
      const killed = yield* awaitState(agent, "overdue", TaskState.TASK_KILLED)
      assert.isAtLeast(killed.at - killing.at, 350)
      assert.isBelow(killed.at - killing.at, 1200)
      assert.strictEqual(killed.status.message, "Command terminated with signal Killed")
    }))

  it.live("sends no TASK_KILLING to a framework without the TASK_KILLING_STATE capability", () =>
    Effect.gen(function*() {
      const { agent } = yield* start({
        agent: { frameworks: [{ capabilities: [FrameworkInfo_Capability_Type.PARTITION_AWARE] }] }
      })
      yield* agent.launch({ taskId: { value: "legacy" }, command: { value: "exec sleep 30" } })
      yield* awaitState(agent, "legacy", TaskState.TASK_RUNNING)
      yield* agent.kill("legacy")
      yield* awaitState(agent, "legacy", TaskState.TASK_KILLED)
      assert.deepStrictEqual(yield* statesOf(agent, "legacy"), ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"])
    }))

  it.live("fails a task that outlives its max_completion_time, killing it without grace or TASK_KILLING", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "slow" },
        command: { value: stubborn },
        killPolicy: { gracePeriod: seconds(20) },
        maxCompletionTime: seconds(0.4)
      })
      const running = yield* awaitState(agent, "slow", TaskState.TASK_RUNNING)
      const pid = yield* readPid(sandbox, "pid")
      const failed = yield* awaitState(agent, "slow", TaskState.TASK_FAILED)
      assert.isAtLeast(failed.at - running.at, 350)
      assert.isBelow(failed.at - running.at, 1500)
      assert.strictEqual(failed.status.reason, TaskStatus_Reason.MAX_COMPLETION_TIME_REACHED)
      assert.strictEqual(failed.status.message, "Command terminated with signal Killed")
      assert.deepStrictEqual(yield* statesOf(agent, "slow"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"])
      assert.isFalse(isAlive(pid))
    }))

  it.live("lets a task that ends before its max_completion_time finish normally", () =>
    Effect.gen(function*() {
      const { agent } = yield* start()
      yield* agent.launch({
        taskId: { value: "quick" },
        command: { value: "sleep 0.1" },
        maxCompletionTime: seconds(5)
      })
      const finished = yield* awaitState(agent, "quick", TaskState.TASK_FINISHED)
      assert.strictEqual(finished.status.reason, TaskStatus_Reason.COMMAND_EXECUTOR_FAILED, "no reason set")
    }))

  it.live("handles a KILL that comes right after the LAUNCH", () =>
    Effect.gen(function*() {
      const { agent, executor } = yield* start()
      yield* awaitSubscribed(agent)
      yield* agent.launch({ taskId: { value: "early" }, command: { value: "exec sleep 30" } })
      yield* agent.kill("early")
      yield* awaitState(agent, "early", TaskState.TASK_KILLED)
      const states = yield* statesOf(agent, "early")
      assert.deepStrictEqual(states.filter((state) => state !== "TASK_RUNNING"), [
        "TASK_STARTING",
        "TASK_KILLING",
        "TASK_KILLED"
      ])
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
    }))

  it.live("ignores a KILL for a task it does not run", () =>
    Effect.gen(function*() {
      const { agent } = yield* start()
      yield* agent.launch({ taskId: { value: "done" }, command: { value: "exit 0" } })
      yield* agent.launch({ taskId: { value: "running" }, command: { value: "exec sleep 30" } })
      yield* awaitState(agent, "done", TaskState.TASK_FINISHED)
      yield* awaitState(agent, "running", TaskState.TASK_RUNNING)
      yield* agent.kill("done")
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(yield* statesOf(agent, "done"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"])
      assert.deepStrictEqual(yield* statesOf(agent, "running"), ["TASK_STARTING", "TASK_RUNNING"])
    }))
})
