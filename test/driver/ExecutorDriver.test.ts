import { assert, describe, it } from "@effect/vitest"
import { create } from "@bufbuild/protobuf"
import { Clock, Duration, Effect, Exit, Fiber, Metric, Schedule, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  AgentClient,
  AgentEvent,
  Executor,
  ExecutorConfig,
  ExecutorDriver,
  ExecutorDriverError,
  Mesos,
  MesosExecutor
} from "effect-mesos-executor"
import { AgentModel, FakeAgent } from "effect-mesos-executor/testing"

const frameworkId = "fake-framework-0000"
const executorId = "fake-executor"

const settings = (overrides: Partial<ConstructorParameters<typeof ExecutorConfig.ExecutorSettings>[0]> = {}) =>
  ExecutorConfig.make({
    frameworkId,
    executorId,
    agent: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port: 5051 }),
    ...overrides
  })

const task = (id: string) => ({ name: id, taskId: { value: id }, agentId: { value: "fake-agent-S0" } })

const { TaskState } = Mesos

/** Lets every fiber run until nothing is left to do at the current time (each round wakes the next). */
const settle = Effect.repeat(TestClock.adjust(0), { times: 4 })

/** Starts a driver for `executor` in the test's scope; returns it and the fiber running it. */
const start = <E, R>(
  executor: Executor.Executor<E, R>,
  config = settings(),
  options?: ExecutorDriver.DriverOptions
) =>
  Effect.gen(function*() {
    const driver = yield* ExecutorDriver.makeWithConfig(executor, config, options)
    const running = yield* Effect.forkChild(driver.run)
    yield* settle
    return { driver, running }
  })

const subscribes = Effect.gen(function*() {
  const agent = yield* AgentModel.AgentModel
  const state = yield* agent.state
  return state.calls.flatMap((received) =>
    received.call !== undefined && received.call.type === MesosExecutor.Call_Type.SUBSCRIBE ? [received] : []
  )
})

const updateCalls = Effect.gen(function*() {
  const agent = yield* AgentModel.AgentModel
  const state = yield* agent.state
  return state.calls.flatMap((received) =>
    received.call !== undefined && received.call.type === MesosExecutor.Call_Type.UPDATE ? [received] : []
  )
})

/** An executor that reports TASK_RUNNING for each launched task and records what it is told. */
const recordingExecutor = (log: Array<string>) =>
  Executor.make({
    registered: (registration) => Effect.sync(() => log.push(`registered ${registration.agentInfo.id?.value}`)),
    reregistered: () => Effect.sync(() => log.push("reregistered")),
    disconnected: Effect.sync(() => log.push("disconnected")),
    launchTask: (launched) =>
      Effect.gen(function*() {
        log.push(`launch ${launched.taskId?.value}`)
        const driver = yield* ExecutorDriver.ExecutorDriver
        yield* driver.sendStatusUpdate({ taskId: launched.taskId!, state: TaskState.TASK_RUNNING })
      }),
    killTask: (taskId, policy) =>
      Effect.sync(() => log.push(`kill ${taskId.value} ${policy?.gracePeriod?.nanoseconds ?? "-"}`)),
    frameworkMessage: (data) => Effect.sync(() => log.push(`message ${new TextDecoder().decode(data)}`)),
    shutdown: Effect.sync(() => log.push("shutdown")),
    error: (message) => Effect.sync(() => log.push(`error ${message}`))
  })

describe("ExecutorDriver", () => {
  describe("subscribing", () => {
    it.effect("sends an empty subscribe first, runs registered, then launchTask for queued tasks", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.launch(task("t1"))
        const log: Array<string> = []
        yield* start(recordingExecutor(log))
        const [first] = yield* subscribes
        assert.strictEqual(first?.status, 200)
        assert.deepStrictEqual(first?.call?.subscribe?.unacknowledgedTasks, [])
        assert.deepStrictEqual(first?.call?.subscribe?.unacknowledgedUpdates, [])
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "launch t1"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("encodes calls in the configured content type (JSON)", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        yield* start(recordingExecutor(log), settings({ contentType: "application/json" }))
        const [first] = yield* subscribes
        assert.strictEqual(first?.contentType, "application/json")
        assert.deepStrictEqual(log, ["registered fake-agent-S0"])
      }).pipe(Effect.provide(FakeAgent.layer({ contentType: "application/json" }))))

    it.effect("retries SUBSCRIBE while the agent answers 503, then registers", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.makeUnavailable("5 seconds")
        const log: Array<string> = []
        yield* start(recordingExecutor(log))
        assert.deepStrictEqual(log, [])
        yield* TestClock.adjust("10 seconds")
        const calls = yield* subscribes
        assert.isAbove(calls.length, 1)
        assert.strictEqual(calls.at(-1)?.status, 200)
        assert.isTrue(calls.slice(0, -1).every((call) => call.status === 503))
        assert.deepStrictEqual(log, ["registered fake-agent-S0"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("an agent unreachable from the start: retried for the registration timeout (1 minute), then RegistrationTimeout", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.restart({ downFor: "1 hour" })
        const log: Array<string> = []
        const { running } = yield* start(recordingExecutor(log))
        yield* TestClock.adjust("59 seconds")
        assert.isUndefined(running.pollUnsafe())
        yield* TestClock.adjust("2 seconds")
        const error = yield* Effect.flip(Fiber.join(running))
        assert.strictEqual((error as ExecutorDriverError.ExecutorDriverError).reason, "RegistrationTimeout")
        assert.deepStrictEqual(log, ["shutdown"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("a SUBSCRIBE the agent refuses for good runs error and shutdown, and ends with SubscribeRejected", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const { running } = yield* start(recordingExecutor(log), settings({ frameworkId: "no-such-framework" }))
        const exit = yield* Fiber.await(running)
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(Fiber.join(running))
        assert.instanceOf(error, ExecutorDriverError.ExecutorDriverError)
        assert.strictEqual((error as ExecutorDriverError.ExecutorDriverError).reason, "SubscribeRejected")
        assert.match(log[0] ?? "", /^error .*Framework cannot be found/)
        assert.deepStrictEqual(log.slice(1), ["shutdown"])
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("status updates", () => {
    it.effect("fills uuid (v4), source, executor_id and timestamp, and completes on the ACK", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.launch(task("t1"))
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }))
        yield* TestClock.adjust("12 seconds")
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        yield* receipt.acknowledged
        const [call] = yield* updateCalls
        const status = call?.call?.update?.status
        assert.strictEqual(call?.status, 202)
        assert.strictEqual(status?.uuid.length, 16)
        assert.strictEqual((status!.uuid[6]! & 0xf0) >> 4, 4)
        assert.strictEqual((status!.uuid[8]! & 0xc0) >> 6, 2)
        assert.deepStrictEqual(status?.uuid, receipt.uuid)
        assert.strictEqual(status?.source, Mesos.TaskStatus_Source.EXECUTOR)
        assert.strictEqual(status?.executorId?.value, executorId)
        assert.strictEqual(status?.timestamp, 12)
        const acked = yield* agent.awaitEvent((sent) => sent.event.type === MesosExecutor.Event_Type.ACKNOWLEDGED)
        assert.deepStrictEqual(acked.event.acknowledged?.uuid, receipt.uuid)
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("rejects TASK_STAGING, a missing task id and another executor's id with a typed error, sending nothing", () =>
      Effect.gen(function*() {
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }))
        const staging = yield* Effect.flip(driver.sendStatusUpdate({ taskId: { value: "t" }, state: TaskState.TASK_STAGING }))
        const noTask = yield* Effect.flip(driver.sendStatusUpdate({ state: TaskState.TASK_RUNNING }))
        const otherExecutor = yield* Effect.flip(
          driver.sendStatusUpdate({ taskId: { value: "t" }, state: TaskState.TASK_RUNNING, executorId: { value: "x" } })
        )
        for (const error of [staging, noTask, otherExecutor]) assert.strictEqual(error._tag, "InvalidStatusUpdate")
        assert.match(staging.message, /TASK_STAGING/)
        assert.strictEqual((yield* updateCalls).length, 0)
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("resends an unacknowledged update on the default schedule (1 s doubling to 60 s); the agent de-duplicates", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.setFaults({ withholdAcks: true })
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }))
        yield* agent.launch(task("t1"))
        yield* settle
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        yield* settle
        const sentAt = Effect.map(updateCalls, (calls) => calls.map((call) => call.at))
        assert.deepStrictEqual(yield* sentAt, [0])
        // Past the eighth resend an update keeps its own copy of the schedule instead of replaying it.
        for (const step of [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]) yield* TestClock.adjust(Duration.seconds(step))
        assert.deepStrictEqual(
          yield* sentAt,
          [0, 1_000, 3_000, 7_000, 15_000, 31_000, 63_000, 123_000, 183_000, 243_000, 303_000]
        )
        yield* agent.setFaults({ withholdAcks: false })
        yield* TestClock.adjust("60 seconds")
        yield* receipt.acknowledged
        const state = yield* agent.state
        const outcomes = state.updates.filter((update) => update.origin === "Executor").map((update) => update.outcome)
        assert.strictEqual(outcomes[0], "Forwarded")
        assert.isTrue(outcomes.slice(1).every((outcome) => outcome === "Duplicate"))
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual((yield* updateCalls).length, 12)
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("takes a custom retry schedule", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.setFaults({ withholdAcks: true })
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }), settings(), {
          updateRetrySchedule: Schedule.spaced("2 seconds")
        })
        yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        yield* TestClock.adjust("7 seconds")
        assert.deepStrictEqual((yield* updateCalls).map((call) => call.at), [0, 2000, 4000, 6000])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("keeps updates sent while disconnected and delivers them in the next SUBSCRIBE", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.launch(task("t1"))
        const log: Array<string> = []
        const { driver } = yield* start(recordingExecutor(log), settings({ checkpoint: true }))
        yield* agent.restart({ downFor: "1 second" })
        yield* settle
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_FINISHED })
        assert.isFalse(yield* Effect.map(Effect.exit(Effect.timeout(receipt.acknowledged, 0)), Exit.isSuccess))
        yield* TestClock.adjust("5 seconds")
        yield* receipt.acknowledged
        const resubscribe = (yield* subscribes).at(-1)
        const resent = resubscribe?.call?.subscribe?.unacknowledgedUpdates.map((update) => TaskState[update.status!.state])
        assert.include(resent ?? [], "TASK_FINISHED")
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "launch t1", "disconnected", "reregistered"])
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))
    it.effect("a call the agent never answers times out and is retried", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const client = yield* AgentClient.AgentClient
        let stalled = false
        const stallingOnce = AgentClient.AgentClient.of({
          subscribe: client.subscribe,
          send: (call) => {
            if (call.type !== MesosExecutor.Call_Type.UPDATE || stalled) return client.send(call)
            stalled = true
            return Effect.never
          }
        })
        yield* agent.launch(task("t1"))
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }), settings(), {
          callTimeout: "5 seconds",
          updateRetrySchedule: Schedule.spaced("1 second")
        }).pipe(Effect.provideService(AgentClient.AgentClient, stallingOnce))
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        yield* TestClock.adjust("4 seconds")
        assert.strictEqual((yield* updateCalls).length, 0)
        yield* TestClock.adjust("3 seconds")
        yield* receipt.acknowledged
        assert.deepStrictEqual((yield* updateCalls).map((call) => call.at), [6000])
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("status update outcomes", () => {
    it.effect("an update refused once (503) is not overtaken by the task's next update", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const client = yield* AgentClient.AgentClient
        let refused = false
        const refusingFirstUpdate = AgentClient.AgentClient.of({
          subscribe: client.subscribe,
          send: (call) => {
            if (call.type !== MesosExecutor.Call_Type.UPDATE || refused) return client.send(call)
            refused = true
            return Effect.fail(
              new AgentClient.AgentCallError({ reason: "Unavailable", call: "UPDATE", status: 503, detail: "recovering" })
            )
          }
        })
        yield* agent.launch(task("t1"))
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void })).pipe(
          Effect.provideService(AgentClient.AgentClient, refusingFirstUpdate)
        )
        const running = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        const finished = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_FINISHED })
        yield* TestClock.adjust("2 seconds")
        yield* running.acknowledged
        yield* finished.acknowledged
        const received = (yield* agent.state).updates.map((update) => [TaskState[update.status.state], update.outcome])
        assert.deepStrictEqual(received, [["TASK_RUNNING", "Forwarded"], ["TASK_FINISHED", "Forwarded"]])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("an update the agent refuses for good (400) fails its receipt, is reported to error, and is not resent", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        yield* agent.launch(task("t1"))
        const { driver } = yield* start(recordingExecutor(log))
        const receipt = yield* driver.sendStatusUpdate({
          taskId: { value: "t1" },
          state: TaskState.TASK_RUNNING,
          checkStatus: { type: Mesos.CheckInfo_Type.COMMAND }
        })
        const error = yield* Effect.flip(receipt.acknowledged)
        assert.strictEqual(error._tag, "StatusUpdateRejected")
        assert.match(error.message, /Failed to validate/)
        yield* TestClock.adjust("5 minutes")
        assert.deepStrictEqual((yield* updateCalls).map((call) => call.status).filter((status) => status === 400), [400])
        assert.isTrue(log.some((line) => /^error status update for task 't1' rejected by the agent/.test(line)), log.join("\n"))
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("receipts still waiting when the driver ends fail with DriverNotRunning", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.launch(task("t1"))
        yield* agent.setFaults({ withholdAcks: true })
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }))
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        yield* driver.abort
        const error = yield* Effect.flip(receipt.acknowledged)
        assert.strictEqual(error._tag, "DriverNotRunning")
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("re-subscription", () => {
    it.effect("lists every unacknowledged update and every task with no acknowledged update", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.launch(task("acked"))
        yield* agent.launch(task("pending"))
        const { driver } = yield* start(
          Executor.make({
            launchTask: (launched) =>
              launched.taskId?.value === "acked"
                ? Effect.gen(function*() {
                  const driver = yield* ExecutorDriver.ExecutorDriver
                  yield* driver.sendStatusUpdate({ taskId: launched.taskId!, state: TaskState.TASK_RUNNING })
                })
                : Effect.void
          }),
          settings({ checkpoint: true })
        )
        yield* settle
        yield* agent.setFaults({ withholdAcks: true })
        yield* driver.sendStatusUpdate({ taskId: { value: "acked" }, state: TaskState.TASK_FINISHED })
        yield* driver.sendStatusUpdate({ taskId: { value: "pending" }, state: TaskState.TASK_RUNNING })
        yield* agent.dropStream()
        yield* settle
        const resubscribe = (yield* subscribes).at(-1)?.call?.subscribe
        assert.deepStrictEqual(resubscribe?.unacknowledgedTasks.map((listed) => listed.taskId?.value), ["pending"])
        assert.deepStrictEqual(
          resubscribe?.unacknowledgedUpdates.map((update) => [update.status?.taskId?.value, TaskState[update.status!.state]]),
          [["acked", "TASK_FINISHED"], ["pending", "TASK_RUNNING"]]
        )
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))

    it.effect("after an agent restart with checkpointing: disconnected once, reconnects through 503s, reregistered", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* agent.launch(task("t1"))
        const log: Array<string> = []
        yield* start(recordingExecutor(log), settings({ checkpoint: true, subscriptionBackoffMax: Duration.seconds(2) }))
        yield* agent.restart({ downFor: "3 seconds", notFoundFor: "200 millis", unavailableFor: "500 millis" })
        yield* TestClock.adjust("10 seconds")
        const statuses = (yield* subscribes).map((call) => call.status)
        assert.strictEqual(statuses[0], 200)
        assert.strictEqual(statuses.at(-1), 200)
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "launch t1", "disconnected", "reregistered"])
        const state = yield* agent.state
        const t1 = state.executors[0]?.tasks.find((record) => record.task.taskId?.value === "t1")
        assert.strictEqual(t1?.state, TaskState.TASK_RUNNING)
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))

    it.effect("reconnects at once, then after waits of at most the backoff max", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const client = yield* AgentClient.AgentClient
        const attempts: Array<number> = []
        const counting = AgentClient.AgentClient.of({
          send: client.send,
          subscribe: (call) =>
            Effect.andThen(
              Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => attempts.push(now))),
              client.subscribe(call)
            )
        })
        yield* start(recordingExecutor([]), settings({ checkpoint: true, subscriptionBackoffMax: Duration.seconds(2) })).pipe(
          Effect.provideService(AgentClient.AgentClient, counting)
        )
        yield* TestClock.adjust("10 seconds")
        yield* agent.restart({ downFor: "30 seconds" })
        yield* TestClock.adjust("40 seconds")
        const reconnecting = attempts.slice(1)
        assert.strictEqual(reconnecting[0], 10_000, "the first attempt is immediate")
        const waits = reconnecting.slice(1).map((at, i) => at - reconnecting[i]!)
        assert.isAbove(waits.length, 10)
        assert.isTrue(waits.every((wait) => wait >= 0 && wait <= 2000), `waits ${waits}`)
        assert.isAbove(new Set(waits).size, 1, "waits are random")
        assert.isAtLeast(reconnecting.at(-1)!, 40_000, "it reconnected once the agent was back")
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))

    it.effect("gives up at the recovery timeout: shutdown runs and the driver ends with RecoveryTimeout", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        const { running } = yield* start(
          recordingExecutor(log),
          settings({ checkpoint: true, recoveryTimeout: Duration.minutes(1) })
        )
        yield* agent.restart({ downFor: "1 hour" })
        yield* TestClock.adjust("59 seconds")
        assert.isUndefined(running.pollUnsafe())
        yield* TestClock.adjust("2 seconds")
        const error = yield* Effect.flip(Fiber.join(running))
        assert.strictEqual(error._tag, "ExecutorDriverError")
        assert.strictEqual((error as ExecutorDriverError.ExecutorDriverError).reason, "RecoveryTimeout")
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "disconnected", "shutdown"])
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))

    it.effect("without checkpointing, a disconnection runs disconnected and shutdown at once", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        const { running } = yield* start(recordingExecutor(log))
        yield* agent.dropStream()
        yield* settle
        const error = yield* Effect.flip(Fiber.join(running))
        assert.strictEqual((error as ExecutorDriverError.ExecutorDriverError).reason, "Disconnected")
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "disconnected", "shutdown"])
        assert.strictEqual((yield* subscribes).length, 1)
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("events", () => {
    it.effect("runs callbacks one at a time, in event order, even when one is slow", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        yield* start(
          Executor.make({
            launchTask: (launched) =>
              Effect.gen(function*() {
                log.push(`start ${launched.taskId?.value}`)
                yield* Effect.sleep("1 second")
                log.push(`end ${launched.taskId?.value}`)
              }),
            frameworkMessage: (data) => Effect.sync(() => log.push(`message ${new TextDecoder().decode(data)}`))
          })
        )
        yield* agent.launch(task("a"))
        yield* agent.frameworkMessage(new TextEncoder().encode("hi"))
        yield* agent.launch(task("b"))
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(log, ["start a", "end a", "message hi", "start b", "end b"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("KILL runs killTask with the kill policy, then interrupts the task's fiber", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        const base = recordingExecutor(log)
        yield* start({
          ...base,
          launchTask: (launched) =>
            Effect.gen(function*() {
              const driver = yield* ExecutorDriver.ExecutorDriver
              yield* driver.runTask(
                launched.taskId!,
                Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("task interrupted"))))
              )
            })
        })
        yield* agent.launch(task("t1"))
        yield* settle
        yield* agent.kill("t1", { gracePeriod: { nanoseconds: 1_500_000_000n } })
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(log.slice(1), ["kill t1 1500000000", "task interrupted"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("an event type this version does not know is logged and skipped; the next event is handled", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const client = yield* AgentClient.AgentClient
        const unknown: AgentEvent.AgentEvent = {
          _tag: "Unknown",
          reason: "UnknownType",
          type: 42,
          event: create(MesosExecutor.EventSchema, {})
        }
        const withUnknownFirst = AgentClient.AgentClient.of({
          send: client.send,
          subscribe: (call) => Effect.map(client.subscribe(call), (events) => Stream.concat(Stream.make(unknown), events))
        })
        const log: Array<string> = []
        yield* agent.launch(task("t1"))
        yield* start(recordingExecutor(log)).pipe(Effect.provideService(AgentClient.AgentClient, withUnknownFirst))
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "launch t1"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("sendFrameworkMessage sends a MESSAGE call with the bytes; the agent forwards it", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const { driver } = yield* start(recordingExecutor([]))
        yield* driver.sendFrameworkMessage(new Uint8Array([0, 255, 7]))
        const [message] = (yield* agent.state).messages
        assert.deepStrictEqual(message?.data, new Uint8Array([0, 255, 7]))
        assert.isTrue(message?.forwarded)
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("ignores HEARTBEAT events and sends a HEARTBEAT call every 30 minutes", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        yield* start(recordingExecutor(log))
        yield* TestClock.adjust("61 minutes")
        const state = yield* (yield* AgentModel.AgentModel).state
        const heartbeatCalls = state.calls.filter((received) => received.call?.type === MesosExecutor.Call_Type.HEARTBEAT)
        assert.deepStrictEqual(heartbeatCalls.map((received) => [received.at, received.status]), [[1_800_000, 202], [3_600_000, 202]])
        const heartbeatEvents = state.events.filter((sent) => sent.event.type === MesosExecutor.Event_Type.HEARTBEAT)
        assert.strictEqual(heartbeatEvents.length, 2)
        assert.deepStrictEqual(log, ["registered fake-agent-S0"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("the heartbeat interval is configurable", () =>
      Effect.gen(function*() {
        yield* start(recordingExecutor([]), settings(), { heartbeatInterval: "1 minute" })
        yield* TestClock.adjust("3 minutes")
        const state = yield* (yield* AgentModel.AgentModel).state
        assert.strictEqual(state.calls.filter((received) => received.call?.type === MesosExecutor.Call_Type.HEARTBEAT).length, 3)
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("ending", () => {
    it.effect("SHUTDOWN: shutdown runs, task fibers are interrupted, their terminal updates are acked, then Stopped", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        const { running } = yield* start({
          ...recordingExecutor(log),
          launchTask: (launched) =>
            Effect.gen(function*() {
              const driver = yield* ExecutorDriver.ExecutorDriver
              const taskId = launched.taskId!
              yield* driver.runTask(
                taskId,
                Effect.never.pipe(
                  Effect.onInterrupt(() =>
                    Effect.ignore(
                      Effect.flatMap(driver.sendStatusUpdate({ taskId, state: TaskState.TASK_KILLED }), (receipt) =>
                        receipt.acknowledged)
                    )
                  )
                )
              )
            })
        })
        yield* agent.launch(task("t1"))
        yield* agent.launch(task("t2"))
        yield* settle
        yield* agent.shutdownExecutor()
        // Small steps: interruption, finalizers, sends and ACKs take many scheduler turns, which one big
        // TestClock jump would overtake (the real agent ACKs in milliseconds).
        for (let step = 0; step < 100; step++) yield* TestClock.adjust("10 millis")
        assert.strictEqual(yield* Fiber.join(running), "Stopped")
        const killed = (yield* agent.state).updates.filter((update) => update.status.state === TaskState.TASK_KILLED)
        assert.deepStrictEqual(killed.map((update) => update.taskId).sort(), ["t1", "t2"])
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "shutdown"])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("never outlives the shutdown grace period, even when ACKs never come", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const { driver, running } = yield* start(Executor.make({ launchTask: () => Effect.void }), settings({
          shutdownGracePeriod: Duration.seconds(5)
        }))
        yield* agent.setFaults({ withholdAcks: true })
        yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_FAILED })
        yield* agent.shutdownExecutor()
        yield* settle
        yield* TestClock.adjust("4 seconds")
        assert.isUndefined(running.pollUnsafe())
        yield* TestClock.adjust("600 millis")
        assert.strictEqual(yield* Fiber.join(running), "Stopped")
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("a callback's own typed error ends the driver and reaches run with its type intact", () =>
      Effect.gen(function*() {
        class Boom extends Schema.TaggedError<Boom>()("Boom", { task: Schema.String }) {}
        const agent = yield* AgentModel.AgentModel
        const calls: Array<string> = []
        const { running } = yield* start(
          Executor.make({
            launchTask: (launched) => Effect.fail(new Boom({ task: launched.taskId!.value })),
            frameworkMessage: () => Effect.sync(() => calls.push("message"))
          })
        )
        yield* agent.launch(task("t1"))
        yield* agent.frameworkMessage(new Uint8Array([1]))
        yield* settle
        const error: Boom | ExecutorDriverError.ExecutorDriverError = yield* Effect.flip(Fiber.join(running))
        assert.instanceOf(error, Boom)
        assert.strictEqual((error as Boom).task, "t1")
        assert.deepStrictEqual(calls, [])
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("abort ends at once with Aborted; no callback runs after it and sending fails", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        const { driver, running } = yield* start(recordingExecutor(log))
        yield* driver.abort
        assert.strictEqual(yield* Fiber.join(running), "Aborted")
        yield* agent.launch(task("t1"))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(log, ["registered fake-agent-S0"])
        const error = yield* Effect.flip(driver.sendStatusUpdate({ taskId: { value: "t" }, state: TaskState.TASK_RUNNING }))
        assert.strictEqual(error._tag, "DriverNotRunning")
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("stop waits for pending ACKs, then ends Stopped", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const { driver, running } = yield* start(Executor.make({ launchTask: () => Effect.void }))
        yield* agent.launch(task("t1"))
        yield* agent.setFaults({ ackDelay: Duration.millis(300) })
        yield* settle
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_FINISHED })
        const stopping = yield* Effect.forkChild(driver.stop)
        yield* TestClock.adjust("100 millis")
        assert.isUndefined(running.pollUnsafe())
        yield* TestClock.adjust("300 millis")
        yield* Fiber.join(stopping)
        yield* receipt.acknowledged
        assert.strictEqual(yield* Fiber.join(running), "Stopped")
      }).pipe(Effect.provide(FakeAgent.layer())))

    it.effect("closing the scope releases the connection: the agent sees the stream closed", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        yield* Effect.scoped(start(recordingExecutor([])))
        const state = yield* agent.state
        assert.isDefined(state.subscriptions[0]?.ended)
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("as a Layer", () => {
    it.effect("ExecutorDriver.layer reads ExecutorConfig and provides the service; run connects and waits", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const log: Array<string> = []
        const running = yield* Effect.forkChild(
          Effect.gen(function*() {
            const driver = yield* ExecutorDriver.ExecutorDriver
            assert.strictEqual(driver.executorId, executorId)
            return yield* driver.run
          }).pipe(Effect.provide(ExecutorDriver.layer(recordingExecutor(log))), Effect.provide(ExecutorConfig.layerFrom(settings())))
        )
        yield* agent.launch(task("t1"))
        yield* settle
        assert.deepStrictEqual(log, ["registered fake-agent-S0", "launch t1"])
        yield* agent.shutdownExecutor()
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* Fiber.join(running), "Stopped")
      }).pipe(Effect.provide(FakeAgent.layer())))
  })

  describe("observability", () => {
    it.effect("counts events, updates and reconnects", () =>
      Effect.gen(function*() {
        const agent = yield* AgentModel.AgentModel
        const { metrics } = ExecutorDriver
        const read = Effect.all({
          acked: Effect.map(Metric.value(metrics.updatesAcknowledged), (value) => value.count),
          sent: Effect.map(Metric.value(metrics.updatesSent), (value) => value.count),
          reconnects: Effect.map(Metric.value(metrics.reconnects), (value) => value.count),
          subscribed: Effect.map(Metric.value(metrics.eventsByType), (value) => value.occurrences.get("Subscribed") ?? 0)
        })
        const before = yield* read
        const { driver } = yield* start(Executor.make({ launchTask: () => Effect.void }), settings({ checkpoint: true }))
        yield* agent.launch(task("t1"))
        yield* settle
        const receipt = yield* driver.sendStatusUpdate({ taskId: { value: "t1" }, state: TaskState.TASK_RUNNING })
        yield* receipt.acknowledged
        yield* agent.dropStream()
        yield* TestClock.adjust("3 seconds")
        const after = yield* read
        assert.deepStrictEqual(
          {
            acked: Number(after.acked) - Number(before.acked),
            sent: Number(after.sent) - Number(before.sent),
            reconnects: Number(after.reconnects) - Number(before.reconnects),
            subscribed: after.subscribed - before.subscribed
          },
          { acked: 1, sent: 1, reconnects: 1, subscribed: 2 }
        )
        assert.strictEqual((yield* Metric.value(metrics.updatesPending)).value, 0)
      }).pipe(Effect.provide(FakeAgent.layer({ frameworks: [{ checkpoint: true }] }))))
  })
})
