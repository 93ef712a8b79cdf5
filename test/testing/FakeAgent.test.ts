import { clearField, create } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Fiber, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CallSchema, Event_Type } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import {
  CheckInfo_Type,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  TaskStatusSchema
} from "../../src/gen/mesos/v1/mesos_pb.js"
import { AgentModel, type AgentState, findTask, historyMark } from "../../src/testing/AgentModel.js"
import * as FakeAgent from "../../src/testing/FakeAgent.js"
import { type AgentCallError, AgentClient, type AgentDisconnected } from "../../src/transport/AgentClient.js"
import type { AgentEvent } from "../../src/wire/AgentEvent.js"
import * as calls from "./calls.js"

/** Subscribes through the client; the events arrive in a queue that fails with the disconnection. */
const subscribe = (call = calls.subscribe()) =>
  Effect.gen(function*() {
    const client = yield* AgentClient
    const events = yield* client.subscribe(call)
    return yield* Stream.toQueue(events, { capacity: "unbounded" })
  })

type Events = Queue.Dequeue<AgentEvent, AgentDisconnected | Cause.Done>

const next = (events: Events) => Queue.take(events)

/** How the subscription ended, once it has. */
const disconnection = (events: Events) =>
  Effect.flip(Effect.forever(Queue.take(events))).pipe(
    Effect.map((error) => (Cause.isDone(error) ? "completed" : error.reason))
  )

const send = (call = calls.heartbeat()) => Effect.flatMap(AgentClient, (client) => client.send(call))

/** The error the client gives for `call`. */
const failure = (call: Parameters<typeof send>[0]) => Effect.flip(send(call)) as Effect.Effect<AgentCallError>

const subscribeFailure = (call = calls.subscribe()) =>
  Effect.flip(Effect.scoped(Effect.flatMap(AgentClient, (client) => client.subscribe(call)))) as Effect.Effect<
    AgentCallError
  >

const state = Effect.flatMap(AgentModel, (agent) => agent.state)

const eventTypes = (state: AgentState) => state.events.map((sent) => Event_Type[sent.event.type])

const taskState = (state: AgentState, taskId: string) => findTask(state, taskId)?.state

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const agent = AgentModel

/** Two delivered tasks, only one of which the executor has reported (the other's LAUNCH as if lost). */
const oneTaskReportedOneNot = Effect.gen(function*() {
  const model = yield* agent
  yield* model.launch({ taskId: { value: "reported" } })
  yield* model.launch({ taskId: { value: "lost-in-transit" } })
  const events = yield* subscribe()
  for (let i = 0; i < 3; i++) yield* next(events)
  yield* send(calls.update("reported", TaskState.TASK_RUNNING))
  return model
})

describe("FakeAgent", () => {
  it.effect("answers SUBSCRIBE with SUBSCRIBED, then the LAUNCH of the task queued for the executor", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" }, command: { value: "true" } })
      const events = yield* subscribe()

      const subscribed = yield* next(events)
      assert(subscribed._tag === "Subscribed")
      assert.strictEqual(subscribed.executorInfo.executorId?.value, calls.executorId)
      assert.strictEqual(subscribed.frameworkInfo.id?.value, calls.frameworkId)
      assert.strictEqual(subscribed.agentInfo.id?.value, "fake-agent-S0")
      assert.strictEqual(subscribed.agentInfo.hostname, "127.0.0.1")
      assert.strictEqual(subscribed.containerId?.value, "fake-container-0")

      const launch = yield* next(events)
      assert(launch._tag === "Launch")
      assert.strictEqual(launch.task.taskId?.value, "task-1")
      // Filled in as the master does: a name, and this agent's id.
      assert.strictEqual(launch.task.name, "task-1")
      assert.strictEqual(launch.task.agentId?.value, "fake-agent-S0")
      assert.strictEqual(launch.task.command?.value, "true")
      assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_STAGING)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("delivers tasks launched after SUBSCRIBE at once, groups as LAUNCH_GROUP", () =>
    Effect.gen(function*() {
      const model = yield* agent
      const events = yield* subscribe()
      yield* next(events)
      yield* model.launch({ taskId: { value: "task-1" } })
      yield* model.launchGroup({ tasks: [{ taskId: { value: "a" } }, { taskId: { value: "b" } }] })
      assert.strictEqual((yield* next(events))._tag, "Launch")
      const group = yield* next(events)
      assert(group._tag === "LaunchGroup")
      assert.deepStrictEqual(group.taskGroup.tasks.map((task) => task.taskId?.value), ["a", "b"])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("acknowledges an UPDATE on the stream with the update's uuid, and forwards it", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)

      const update = calls.update("task-1", TaskState.TASK_RUNNING)
      yield* send(update)
      const ack = yield* next(events)
      assert(ack._tag === "Acknowledged")
      assert.strictEqual(ack.taskId.value, "task-1")
      assert.strictEqual(hex(ack.uuid), hex(update.update!.status!.uuid))

      const [forwarded] = (yield* state).updates
      assert.strictEqual(forwarded?.outcome, "Forwarded")
      // The agent fills in its id before forwarding.
      assert.strictEqual(forwarded?.status.agentId?.value, "fake-agent-S0")
      assert.strictEqual(forwarded?.status.source, TaskStatus_Source.EXECUTOR)
      assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_RUNNING)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("keeps one history that grows in place: a mark of an earlier state tells what came after", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)
      const before = yield* state
      const seen = historyMark(before)

      yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
      assert.strictEqual((yield* next(events))._tag, "Acknowledged")
      const after = yield* state
      assert.strictEqual(after.updates, before.updates)
      assert.deepStrictEqual(
        after.updates.slice(seen.updates).map((update) => [update.taskId, update.status.state, update.outcome]),
        [["task-1", TaskState.TASK_RUNNING, "Forwarded"]]
      )
      assert.deepStrictEqual(eventTypes(after).slice(seen.events), ["ACKNOWLEDGED"])
      assert.deepStrictEqual(after.calls.slice(seen.calls).map((call) => call.status), [202])
      // The rest of a state stays as it was.
      assert.strictEqual(taskState(before, "task-1"), TaskState.TASK_STAGING)
      assert.strictEqual(taskState(after, "task-1"), TaskState.TASK_RUNNING)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("acknowledges a duplicate uuid again but records the update once", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)

      const update = calls.update("task-1", TaskState.TASK_RUNNING)
      yield* send(update)
      yield* send(update)
      const first = yield* next(events)
      const second = yield* next(events)
      assert(first._tag === "Acknowledged" && second._tag === "Acknowledged")
      assert.strictEqual(hex(second.uuid), hex(first.uuid))
      assert.deepStrictEqual((yield* state).updates.map((handled) => handled.outcome), ["Forwarded", "Duplicate"])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("drops, but acknowledges, a second terminal update and updates for a terminated task", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)

      yield* send(calls.update("task-1", TaskState.TASK_FINISHED))
      yield* send(calls.update("task-1", TaskState.TASK_FAILED))
      yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* next(events))._tag, "Acknowledged")
      const after = yield* state
      assert.deepStrictEqual(after.updates.map((handled) => handled.outcome), [
        "Forwarded",
        "Inconsistent",
        "Inconsistent"
      ])
      assert.strictEqual(taskState(after, "task-1"), TaskState.TASK_FINISHED)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("never acknowledges an update for an unknown task or another agent's id, yet answers 202", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)

      yield* send(calls.update("no-such-task", TaskState.TASK_RUNNING))
      yield* send(calls.update("task-1", TaskState.TASK_RUNNING, { agentId: { value: "other-agent-S9" } }))
      yield* TestClock.adjust("1 minute")
      const after = yield* state
      assert.deepStrictEqual(after.updates.map((handled) => handled.outcome), ["UnknownTask", "AgentIdMismatch"])
      assert.notInclude(eventTypes(after), "ACKNOWLEDGED")
      assert.strictEqual(taskState(after, "task-1"), TaskState.TASK_STAGING)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("rejects calls that fail validation with the agent's 400 and message", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      yield* subscribe()
      const textUuid = new TextEncoder().encode("9fc098d1-8d5a-48f5-8a47-d29e65dee7d5")
      const versionZero = new Uint8Array(16)
      const cases = [
        [{ uuid: new Uint8Array([1, 2, 3, 4, 5]) }, "Not a valid UUID"],
        [{ uuid: textUuid }, "Not a valid UUID"],
        [{ uuid: versionZero }, "Not a valid UUID"],
        [
          { source: TaskStatus_Source.MASTER },
          "Received Call from executor fake-executor of framework fake-framework-0000 with invalid source, " +
          "expecting 'SOURCE_EXECUTOR'"
        ],
        [
          { state: TaskState.TASK_STAGING },
          "Received TASK_STAGING from executor fake-executor of framework fake-framework-0000 which is not allowed"
        ],
        [
          { executorId: { value: "someone-else" } },
          "ExecutorID in Call: fake-executor does not match ExecutorID in TaskStatus: someone-else"
        ],
        [{ checkStatus: { type: CheckInfo_Type.COMMAND } }, "Expecting 'command' to be set for COMMAND check's status"],
        [{ checkStatus: {} }, "CheckStatusInfo must specify 'type'"]
      ] as const
      for (const [status, message] of cases) {
        const error = yield* failure(calls.update("task-1", TaskState.TASK_RUNNING, status))
        assert.strictEqual(error.reason, "Rejected")
        assert.strictEqual(error.status, 400)
        assert.strictEqual(error.detail, `Failed to validate Executor::Call: ${message}`)
      }
      const withoutUuid = calls.update("task-1", TaskState.TASK_RUNNING)
      clearField(withoutUuid.update!.status!, TaskStatusSchema.field.uuid)
      assert.strictEqual(
        (yield* failure(withoutUuid)).detail,
        "Failed to validate Executor::Call: Expecting 'uuid' to be present"
      )
      const untyped = create(CallSchema, {
        executorId: { value: calls.executorId },
        frameworkId: { value: calls.frameworkId }
      })
      assert.strictEqual(
        (yield* failure(untyped)).detail,
        "Failed to validate Executor::Call: Expecting 'type' to be present"
      )
      const subscribeWithout = create(CallSchema, { ...calls.subscribe(), subscribe: undefined })
      assert.strictEqual(
        (yield* subscribeFailure(subscribeWithout)).detail,
        "Failed to validate Executor::Call: Expecting 'subscribe' to be present"
      )
      assert.strictEqual((yield* state).updates.length, 0)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("rejects a call missing a required field as the agent's parser does", () =>
    Effect.gen(function*() {
      const update = calls.update("task-1", TaskState.TASK_RUNNING)
      update.update!.status!.taskId = undefined
      const error = yield* failure(update)
      assert.strictEqual(error.reason, "Rejected")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.detail, "Failed to parse body into Call protobuf")
      assert.strictEqual((yield* state).calls[0]?.status, 400)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("with a codec, a call missing a required field fails to encode and is never sent", () =>
    Effect.gen(function*() {
      const update = calls.update("task-1", TaskState.TASK_RUNNING)
      update.update!.status!.taskId = undefined
      const error = yield* failure(update)
      assert.strictEqual(error.reason, "Encode")
      assert.include(error.detail, "update.status.task_id")
      assert.strictEqual((yield* state).calls.length, 0)
    }).pipe(Effect.provide(FakeAgent.layer({ contentType: "application/json" }))))

  it.effect("answers 403 to calls from an executor that has not subscribed, 501 to UNKNOWN once it has", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      for (const call of [calls.update("task-1", TaskState.TASK_RUNNING), calls.message("hi"), calls.unknown()]) {
        const error = yield* failure(call)
        assert.strictEqual(error.status, 403)
        assert.strictEqual(error.detail, "Executor is not subscribed")
      }
      yield* subscribe()
      const error = yield* failure(calls.unknown())
      assert.strictEqual(error.status, 501)
      assert.strictEqual(error.detail, "501 Not Implemented.")
      yield* send(calls.message("hi"))
      assert.strictEqual(new TextDecoder().decode((yield* state).messages[0]?.data), "hi")
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("looks the framework up before the executor, and takes HEARTBEAT with any ids", () =>
    Effect.gen(function*() {
      yield* send(calls.heartbeat())
      const unknownFramework = yield* failure(calls.message("hi", { frameworkId: "no-such-framework" }))
      assert.strictEqual(unknownFramework.detail, "Framework cannot be found")
      const unknownExecutor = yield* failure(calls.message("hi", { executorId: "no-such-executor" }))
      assert.strictEqual(unknownExecutor.detail, "Executor cannot be found")
      assert.deepStrictEqual((yield* state).calls.map((call) => call.status), [202, 400, 400])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("sends a HEARTBEAT event 30 minutes after SUBSCRIBE, and every 30 minutes", () =>
    Effect.gen(function*() {
      const model = yield* agent
      const events = yield* subscribe()
      yield* next(events)
      yield* TestClock.adjust("29 minutes")
      yield* TestClock.adjust("59 seconds")
      assert.deepStrictEqual(eventTypes(yield* state), ["SUBSCRIBED"])
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* next(events))._tag, "Heartbeat")
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual((yield* next(events))._tag, "Heartbeat")
      const heartbeats = (yield* model.state).events.filter((sent) => sent.event.type === Event_Type.HEARTBEAT)
      assert.deepStrictEqual(heartbeats.map((sent) => sent.at), [30 * 60_000, 60 * 60_000])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("ends the first stream when the executor subscribes again", () =>
    Effect.gen(function*() {
      const first = yield* subscribe()
      yield* next(first)
      const second = yield* subscribe()
      assert.strictEqual(yield* disconnection(first), "EndOfStream")
      assert.strictEqual((yield* next(second))._tag, "Subscribed")
      const after = yield* state
      assert.deepStrictEqual(after.subscriptions.map((subscription) => subscription.ended?.reason), [
        "Resubscribed",
        undefined
      ])
      // The heartbeater moved to the new stream.
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual((yield* next(second))._tag, "Heartbeat")
      const heartbeat = (yield* state).events.at(-1)
      assert.strictEqual(heartbeat?.subscription, 2)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("sends SHUTDOWN, keeps the stream open, and destroys the container after the grace period", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)
      yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
      yield* next(events)

      yield* model.shutdownExecutor()
      assert.strictEqual((yield* next(events))._tag, "Shutdown")
      // Still subscribed: updates are accepted and acknowledged during the grace period.
      yield* send(calls.update("task-1", TaskState.TASK_KILLING))
      assert.strictEqual((yield* next(events))._tag, "Acknowledged")
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual((yield* state).destroyedContainers.length, 0)
      yield* TestClock.adjust("1 milli")

      const destroyed = yield* model.awaitContainerDestroyed()
      assert.strictEqual(destroyed.reason, "ShutdownGracePeriodElapsed")
      assert.strictEqual(destroyed.at, 5000)
      assert.strictEqual(destroyed.containerId, "fake-container-0")
      assert.strictEqual(yield* disconnection(events), "EndOfStream")
      const failed = yield* model.awaitUpdate((update) => update.origin === "Agent")
      assert.strictEqual(failed.status.state, TaskState.TASK_FAILED)
      assert.strictEqual(failed.status.reason, TaskStatus_Reason.EXECUTOR_TERMINATED)
      assert.strictEqual(failed.status.source, TaskStatus_Source.AGENT)
      assert.strictEqual(failed.status.message, "Executor terminated")
      assert.strictEqual((yield* subscribeFailure()).detail, "Framework cannot be found")
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("uses the executor's own shutdown grace period when it has one", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* subscribe()
      yield* model.shutdownExecutor()
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual((yield* model.awaitContainerDestroyed()).at, 3000)
    }).pipe(Effect.provide(FakeAgent.layer({ executors: [{ shutdownGracePeriod: "3 seconds" }] }))))

  it.effect("kills a delivered task with KILL, carrying the kill policy only when the scheduler gave one", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      yield* model.launch({ taskId: { value: "task-2" } })
      const events = yield* subscribe()
      for (let i = 0; i < 3; i++) yield* next(events)
      yield* model.kill("task-1")
      yield* model.kill("task-2", { gracePeriod: { nanoseconds: 1_500_000_000n } })
      const plain = yield* next(events)
      const withPolicy = yield* next(events)
      assert(plain._tag === "Kill" && withPolicy._tag === "Kill")
      assert.strictEqual(plain.taskId.value, "task-1")
      assert.isUndefined(plain.killPolicy)
      assert.strictEqual(withPolicy.killPolicy?.gracePeriod?.nanoseconds, 1_500_000_000n)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("kills a queued task itself, and shuts down an executor whose every task was killed", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      yield* model.kill("task-1")
      const killed = yield* model.awaitUpdate((update) => update.taskId === "task-1")
      assert.strictEqual(killed.origin, "Agent")
      assert.strictEqual(killed.status.state, TaskState.TASK_KILLED)
      assert.strictEqual(killed.status.reason, TaskStatus_Reason.TASK_KILLED_DURING_LAUNCH)
      assert.strictEqual(killed.status.message, "Killed before delivery to the executor")

      const events = yield* subscribe()
      assert.strictEqual((yield* next(events))._tag, "Shutdown")
      assert.deepStrictEqual(eventTypes(yield* state), ["SHUTDOWN"])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("kills every task of a queued group when one of them is killed", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launchGroup({ tasks: [{ taskId: { value: "a" } }, { taskId: { value: "b" } }] })
      yield* model.kill("b")
      const after = yield* state
      assert.deepStrictEqual(after.updates.map((update) => [update.taskId, TaskState[update.status.state]]), [
        ["a", "TASK_KILLED"],
        ["b", "TASK_KILLED"]
      ])
      assert.strictEqual(
        after.updates[0]?.status.message,
        "A task within the task group was killed before delivery to the executor"
      )
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("passes framework messages to a subscribed executor only", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.frameworkMessage(new TextEncoder().encode("dropped"))
      const events = yield* subscribe()
      yield* next(events)
      yield* model.frameworkMessage(new TextEncoder().encode("hello"))
      const message = yield* next(events)
      assert(message._tag === "Message")
      assert.strictEqual(new TextDecoder().decode(message.data), "hello")
      assert.deepStrictEqual(eventTypes(yield* state), ["SUBSCRIBED", "MESSAGE"])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("once the framework is removed, answers updates 202 but never acknowledges them", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)
      yield* model.shutdownFramework()
      assert.strictEqual((yield* next(events))._tag, "Shutdown")
      yield* send(calls.update("task-1", TaskState.TASK_KILLED))
      assert.deepStrictEqual((yield* state).updates.map((update) => update.outcome), ["FrameworkTerminating"])

      // A SUBSCRIBE while terminating gets one SHUTDOWN and the end of the stream.
      const again = yield* subscribe()
      assert.strictEqual((yield* next(again))._tag, "Shutdown")
      assert.strictEqual(yield* disconnection(again), "EndOfStream")
      assert.notInclude(eventTypes(yield* state), "ACKNOWLEDGED")
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("faults: withheld, delayed and duplicated acknowledgements", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)

      yield* model.setFaults({ withholdAcks: true })
      yield* send(calls.update("task-1", TaskState.TASK_STARTING))
      yield* model.setFaults({ withholdAcks: false, ackDelay: "20 millis", duplicateAcks: true })
      const running = calls.update("task-1", TaskState.TASK_RUNNING)
      yield* send(running)
      yield* TestClock.adjust("19 millis")
      assert.deepStrictEqual(eventTypes(yield* state), ["SUBSCRIBED", "LAUNCH"])
      yield* TestClock.adjust("1 milli")
      const first = yield* next(events)
      const second = yield* next(events)
      assert(first._tag === "Acknowledged" && second._tag === "Acknowledged")
      assert.strictEqual(hex(first.uuid), hex(running.update!.status!.uuid))
      assert.strictEqual(hex(second.uuid), hex(running.update!.status!.uuid))
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("writes a delayed ACK to the stream that is current when it goes out", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const first = yield* subscribe()
      yield* next(first)
      yield* next(first)
      yield* model.setFaults({ ackDelay: "10 millis" })
      yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
      const second = yield* subscribe(calls.subscribe({
        unacknowledgedTasks: [calls.unacknowledgedTask("task-1")]
      }))
      assert.strictEqual((yield* next(second))._tag, "Subscribed")
      yield* TestClock.adjust("10 millis")
      assert.strictEqual((yield* next(second))._tag, "Acknowledged")
      assert.strictEqual(yield* disconnection(first), "EndOfStream")
      assert.strictEqual((yield* state).events.at(-1)?.subscription, 2)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("keeps a copy of what it receives: the executor's call is left as it was sent", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      yield* subscribe()
      const update = calls.update("task-1", TaskState.TASK_RUNNING)
      yield* send(update)
      assert.isUndefined(update.update!.status!.agentId)
      assert.strictEqual((yield* state).updates[0]?.status.agentId?.value, "fake-agent-S0")
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("answers 503 to everything while made unavailable", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.makeUnavailable("1 second")
      const error = yield* failure(calls.heartbeat())
      assert.deepStrictEqual([error.reason, error.status], ["Unavailable", 503])
      yield* TestClock.adjust("1 second")
      yield* send(calls.heartbeat())
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("answers a SUBSCRIBE from an executor being shut down with SHUTDOWN and the end of the stream", () =>
    Effect.gen(function*() {
      const model = yield* agent
      const first = yield* subscribe()
      yield* next(first)
      yield* model.shutdownExecutor()
      assert.strictEqual((yield* next(first))._tag, "Shutdown")
      const second = yield* subscribe()
      assert.strictEqual((yield* next(second))._tag, "Shutdown")
      assert.strictEqual(yield* disconnection(second), "EndOfStream")
      // The first stream stays the executor's.
      assert.deepStrictEqual((yield* state).subscriptions.map((subscription) => subscription.ended?.reason), [
        undefined,
        "ShutdownOnSubscribe"
      ])
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("a dropped stream breaks for the executor while the agent keeps writing to it", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      const events = yield* subscribe()
      yield* next(events)
      yield* next(events)
      yield* model.dropStream()
      assert.strictEqual(yield* disconnection(events), "ConnectionLost")
      // The agent does not notice: the ACK goes to the dead stream and is lost.
      yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
      assert.deepStrictEqual(eventTypes(yield* state), ["SUBSCRIBED", "LAUNCH", "ACKNOWLEDGED"])
      // The executor re-subscribes listing the task, which the agent keeps.
      const again = yield* subscribe(calls.subscribe({ unacknowledgedTasks: [calls.unacknowledgedTask("task-1")] }))
      assert.strictEqual((yield* next(again))._tag, "Subscribed")
      assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_RUNNING)
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("fails the tasks of an executor that does not subscribe within the registration timeout", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "task-1" } })
      yield* TestClock.adjust("1 minute")
      const destroyed = yield* model.awaitContainerDestroyed()
      assert.strictEqual(destroyed.reason, "RegistrationTimeout")
      const failed = yield* model.awaitUpdate((update) => update.taskId === "task-1")
      assert.strictEqual(failed.status.state, TaskState.TASK_FAILED)
      assert.strictEqual(failed.status.reason, TaskStatus_Reason.EXECUTOR_REGISTRATION_TIMEOUT)
      assert.strictEqual(failed.status.message, "Executor did not register within 1mins")
    }).pipe(Effect.provide(FakeAgent.layer())))

  it.effect("fails the live tasks of an executor whose process exited", () =>
    Effect.gen(function*() {
      const model = yield* agent
      yield* model.launch({ taskId: { value: "done" } })
      yield* model.launch({ taskId: { value: "running" } })
      const events = yield* subscribe()
      for (let i = 0; i < 3; i++) yield* next(events)
      yield* send(calls.update("done", TaskState.TASK_FINISHED))
      yield* send(calls.update("running", TaskState.TASK_RUNNING))
      yield* model.executorExited()
      const after = yield* state
      const agentUpdates = after.updates.filter((update) => update.origin === "Agent")
      assert.deepStrictEqual(agentUpdates.map((update) => [update.taskId, TaskState[update.status.state]]), [
        ["running", "TASK_FAILED"]
      ])
      assert.strictEqual(agentUpdates[0]?.status.reason, TaskStatus_Reason.EXECUTOR_TERMINATED)
      assert.strictEqual(after.executors[0]?.status, "Terminated")
    }).pipe(Effect.provide(FakeAgent.layer())))

  describe("executor authentication", () => {
    const options = { authentication: true, executors: [{}, { executorId: "other" }] }

    it.effect("401 without a valid token, 403 with another executor's", () =>
      Effect.gen(function*() {
        const model = yield* agent
        const [, other] = (yield* model.state).executors
        const noToken = yield* model.handle({ call: calls.subscribe() })
        assert(noToken._tag === "Rejected")
        assert.strictEqual(noToken.status, 401)
        assert.deepStrictEqual(noToken.headers, { "WWW-Authenticate": "Bearer realm=\"mesos-agent-executor\"" })
        const badToken = yield* model.handle({ call: calls.subscribe(), authorization: "Bearer forged" })
        assert(badToken._tag === "Rejected")
        assert.strictEqual(badToken.status, 401)
        assert.include(badToken.headers?.["WWW-Authenticate"], "error=\"invalid_token\"")

        const stolen = yield* model.handle({ call: calls.subscribe(), authorization: `Bearer ${other!.token}` })
        assert(stolen._tag === "Rejected")
        assert.strictEqual(stolen.status, 403)
        assert.include(stolen.body, "does not contain an 'eid' claim with the executor ID fake-executor")
      }).pipe(Effect.provide(FakeAgent.layer(options))))

    it.effect("the client presents the executor's own token", () =>
      Effect.gen(function*() {
        const events = yield* subscribe()
        assert.strictEqual((yield* next(events))._tag, "Subscribed")
      }).pipe(Effect.provide(FakeAgent.layer(options))))
  })

  describe("agent restart", () => {
    const checkpointing = { frameworks: [{ checkpoint: true }] }

    it.effect("a step taken by the reader of a stream the restart broke comes after the restart", () =>
      Effect.gen(function*() {
        const model = yield* agent
        const response = yield* model.handle({ call: calls.subscribe() })
        assert(response._tag === "Subscribed")
        // Its stream breaking resumes the reader at once, in the middle of the restart's step.
        const reader = yield* Effect.forkChild(
          Stream.runDrain(response.subscription.events).pipe(
            Effect.ignore,
            Effect.andThen(model.setFaults({ withholdAcks: true }))
          )
        )
        yield* Effect.yieldNow
        yield* model.restart()
        yield* Fiber.join(reader)
        const after = yield* state
        assert.deepStrictEqual([after.phase, after.restarts, after.faults.withholdAcks], ["Down", 1, true])
        assert.deepStrictEqual(after.subscriptions.map((subscription) => subscription.ended?.reason), ["AgentExited"])
      }).pipe(Effect.provide(FakeAgent.layer(checkpointing))))

    it.effect("refuses connections, answers 404, then 503, then takes SUBSCRIBE while UPDATE gets 503", () =>
      Effect.gen(function*() {
        const model = yield* agent
        yield* model.launch({ taskId: { value: "task-1" } })
        const events = yield* subscribe()
        yield* next(events)
        yield* next(events)
        yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
        yield* next(events)

        yield* model.restart({ downFor: "1 second", notFoundFor: "100 millis", unavailableFor: "50 millis" })
        assert.strictEqual(yield* disconnection(events), "ConnectionLost")
        assert.strictEqual((yield* failure(calls.heartbeat())).reason, "Unreachable")
        yield* TestClock.adjust("1 second")
        const notFound = yield* failure(calls.heartbeat())
        assert.deepStrictEqual(
          [notFound.reason, notFound.status, notFound.detail],
          ["Unavailable", 404, "404 Not Found."]
        )
        yield* TestClock.adjust("100 millis")
        const recovering = yield* failure(calls.heartbeat())
        assert.deepStrictEqual(
          [recovering.reason, recovering.status, recovering.detail],
          ["Unavailable", 503, "Agent has not finished recovery"]
        )
        assert.strictEqual((yield* subscribeFailure()).status, 503)
        yield* TestClock.adjust("50 millis")

        // The re-registration window: HEARTBEAT and SUBSCRIBE work, UPDATE and MESSAGE get 503.
        yield* send(calls.heartbeat())
        const finished = calls.update("task-1", TaskState.TASK_FINISHED)
        assert.strictEqual((yield* failure(finished)).status, 503)
        const again = yield* subscribe(calls.subscribe({
          unacknowledgedTasks: [calls.unacknowledgedTask("task-1")]
        }))
        assert.strictEqual((yield* next(again))._tag, "Subscribed")
        assert.strictEqual((yield* failure(finished)).status, 503)
        assert.strictEqual((yield* failure(calls.message("hi"))).status, 503)

        yield* TestClock.adjust("2 seconds")
        yield* send(finished)
        assert.strictEqual((yield* next(again))._tag, "Acknowledged")
        assert.strictEqual((yield* state).phase, "Running")
        assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_FINISHED)
      }).pipe(Effect.provide(FakeAgent.layer(checkpointing))))

    it.effect("acknowledges updates resent inside the re-SUBSCRIBE after SUBSCRIBED, even while recovering", () =>
      Effect.gen(function*() {
        const model = yield* agent
        yield* model.launch({ taskId: { value: "task-1" } })
        const events = yield* subscribe()
        yield* next(events)
        yield* next(events)
        yield* model.restart({ downFor: "1 second" })
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual((yield* state).phase, "Recovering")

        const unacknowledged = calls.update("task-1", TaskState.TASK_RUNNING).update!
        const again = yield* subscribe(calls.subscribe({ unacknowledgedUpdates: [unacknowledged] }))
        assert.strictEqual((yield* next(again))._tag, "Subscribed")
        const ack = yield* next(again)
        assert(ack._tag === "Acknowledged")
        assert.strictEqual(hex(ack.uuid), hex(unacknowledged.status!.uuid))
        assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_RUNNING)
      }).pipe(Effect.provide(FakeAgent.layer(checkpointing))))

    it.effect("drops (or loses) a STAGING task the re-subscribing executor does not list", () =>
      Effect.gen(function*() {
        const model = yield* oneTaskReportedOneNot
        yield* model.restart()
        yield* TestClock.adjust("2 seconds")

        const again = yield* subscribe(calls.subscribe())
        assert.strictEqual((yield* next(again))._tag, "Subscribed")
        const dropped = yield* model.awaitUpdate((update) => update.taskId === "lost-in-transit")
        assert.strictEqual(dropped.origin, "Agent")
        assert.strictEqual(dropped.status.state, TaskState.TASK_DROPPED)
        assert.strictEqual(dropped.status.reason, TaskStatus_Reason.AGENT_RESTARTED)
        assert.strictEqual(dropped.status.message, "Task launched during agent restart")
        assert.strictEqual(taskState(yield* state, "reported"), TaskState.TASK_RUNNING)
      }).pipe(Effect.provide(FakeAgent.layer(checkpointing))))

    it.effect("reports TASK_LOST instead for a framework that is not partition-aware", () =>
      Effect.gen(function*() {
        const model = yield* oneTaskReportedOneNot
        yield* subscribe()
        const lost = yield* model.awaitUpdate((update) => update.taskId === "lost-in-transit")
        assert.strictEqual(lost.status.state, TaskState.TASK_LOST)
        assert.strictEqual(lost.status.reason, TaskStatus_Reason.AGENT_RESTARTED)
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ capabilities: [] }] }))))

    it.effect("answers SHUTDOWN instead of SUBSCRIBED when the only delivered task was dropped", () =>
      Effect.gen(function*() {
        const model = yield* agent
        yield* model.launch({ taskId: { value: "task-1" } })
        const events = yield* subscribe()
        yield* next(events)
        yield* next(events)
        const again = yield* subscribe()
        assert.strictEqual((yield* next(again))._tag, "Shutdown")
        assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_DROPPED)
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("destroys executors that miss the re-registration window; their tasks are gone", () =>
      Effect.gen(function*() {
        const model = yield* agent
        yield* model.launch({ taskId: { value: "task-1" } })
        yield* model.launch({ taskId: { value: "task-2" } }, { executorId: "laggard" })
        const events = yield* subscribe()
        yield* subscribe(calls.subscribe({}, { executorId: "laggard" }))
        yield* send(calls.update("task-1", TaskState.TASK_RUNNING))
        yield* send(calls.update("task-2", TaskState.TASK_RUNNING, {}, { executorId: "laggard" }))
        yield* model.restart({ downFor: "1 second", unavailableFor: "50 millis" })
        assert.strictEqual(yield* disconnection(events), "ConnectionLost")
        yield* TestClock.adjust("1050 millis")
        yield* subscribe()

        yield* TestClock.adjust("2 seconds")
        const destroyed = yield* model.awaitContainerDestroyed({ executorId: "laggard" })
        assert.strictEqual(destroyed.reason, "ReregistrationTimeout")
        const gone = yield* model.awaitUpdate((update) => update.taskId === "task-2" && update.origin === "Agent")
        assert.strictEqual(gone.status.state, TaskState.TASK_GONE)
        assert.strictEqual(gone.status.reason, TaskStatus_Reason.EXECUTOR_REREGISTRATION_TIMEOUT)
        assert.strictEqual(gone.status.message, "Executor did not reregister within 2secs")
        assert.strictEqual(
          (yield* subscribeFailure(calls.subscribe({}, { executorId: "laggard" }))).detail,
          "Executor cannot be found"
        )
        assert.strictEqual(taskState(yield* state, "task-1"), TaskState.TASK_RUNNING)
      }).pipe(Effect.provide(FakeAgent.layer({ ...checkpointing, executors: [{}, { executorId: "laggard" }] }))))

    it.effect("forgets a framework that does not checkpoint", () =>
      Effect.gen(function*() {
        const model = yield* agent
        yield* subscribe()
        yield* model.restart({ downFor: "1 second" })
        yield* TestClock.adjust("1 second")
        yield* TestClock.adjust("50 millis")
        assert.strictEqual((yield* state).phase, "Running")
        const error = yield* subscribeFailure()
        assert.deepStrictEqual([error.status, error.detail], [400, "Framework cannot be found"])
        assert.strictEqual((yield* model.awaitContainerDestroyed()).reason, "Orphaned")
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe.each(["application/json", "application/x-protobuf"] as const)("through the %s codec", (contentType) => {
    it.effect("subscribes, launches and acknowledges", () =>
      Effect.gen(function*() {
        const model = yield* agent
        yield* model.launch({ taskId: { value: "task-1" }, command: { value: "exit 0" } })
        const events = yield* subscribe()
        const subscribed = yield* next(events)
        assert(subscribed._tag === "Subscribed")
        assert.strictEqual(subscribed.agentInfo.port, 5051)
        const launch = yield* next(events)
        assert(launch._tag === "Launch")
        assert.strictEqual(launch.task.command?.value, "exit 0")
        const update = calls.update("task-1", TaskState.TASK_FINISHED)
        yield* send(update)
        const ack = yield* next(events)
        assert(ack._tag === "Acknowledged")
        assert.strictEqual(hex(ack.uuid), hex(update.update!.status!.uuid))
        assert.strictEqual((yield* state).calls.at(-1)?.contentType, contentType)
      }).pipe(Effect.provide(FakeAgent.layer({ contentType }))))
  })

  it.effect("a SUBSCRIBE sent as an ordinary call is refused like the HTTP client refuses a 200", () =>
    Effect.gen(function*() {
      const error = yield* failure(calls.subscribe())
      assert.deepStrictEqual([error.reason, error.status], ["Rejected", 200])
      const subscribeError = yield* subscribeFailure(calls.heartbeat())
      assert.deepStrictEqual([subscribeError.reason, subscribeError.status], ["Rejected", 202])
    }).pipe(Effect.provide(FakeAgent.layer())))
})
