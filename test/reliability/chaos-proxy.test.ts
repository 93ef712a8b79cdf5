/**
 * The chaos suite's fault proxy, between a raw HTTP client (playing the executor, seeing every byte) and
 * the loopback fake agent: each fault does to the wire what it says, and the proxy logs what crossed it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Result } from "effect"
import { AgentEvent, ContentType, Mesos, MesosExecutor, RecordIO, StatusUuid, WireCodec } from "effect-mesos-executor"
import { HttpFakeAgent } from "effect-mesos-executor/testing"
import * as FaultProxy from "../../reliability/chaos/FaultProxy.ts"
import { garbagePayloads } from "../../reliability/chaos/Scenario.ts"
import * as Calls from "../testing/calls.js"
import * as RawHttp from "../testing/rawHttp.js"

const { Event_Type } = MesosExecutor
const { TaskState } = Mesos

const protobufRequest = (call: MesosExecutor.Call): RawHttp.Request => ({
  headers: { "Content-Type": ContentType.protobuf, Accept: ContentType.protobuf },
  body: Result.getOrThrow(WireCodec.protobuf.encodeCall(call))
})

/** The agent with a task for the executor, the proxy in front of it, and the executor's stream through it. */
const setup = Effect.gen(function*() {
  const agent = yield* Effect.orDie(HttpFakeAgent.make())
  yield* Effect.orDie(agent.model.launch({ taskId: { value: "task" }, command: { value: "true" } }))
  const proxy = yield* FaultProxy.make({ upstreamPort: agent.port })
  const target = { port: proxy.port }
  const stream = yield* Effect.orDie(RawHttp.send(target, protobufRequest(Calls.subscribe())))
  yield* stream.until((response) => records(response).length >= 2)
  /** Sends an UPDATE through the proxy; its answer's status. */
  const update = (state = TaskState.TASK_RUNNING) =>
    Effect.gen(function*() {
      const call = Calls.update("task", state)
      const response = yield* Effect.orDie(RawHttp.exchange(target, protobufRequest(call)))
      return { status: response.status, uuid: StatusUuid.toHex(call.update!.status!.uuid) }
    })
  return { agent, proxy, target, stream, update }
})

/** The complete records the client has received, and what is left after them. */
const framing = (response: RawHttp.Response) => {
  const records: Array<Uint8Array> = []
  const decoder = RecordIO.makeDecoder()
  for (const chunk of response.chunks) assert.isTrue(Result.isSuccess(decoder.push(chunk, records)))
  return { records, end: decoder.end() }
}

const records = (response: RawHttp.Response) => framing(response).records

const events = (response: RawHttp.Response) =>
  records(response).map((record) => Result.getOrThrow(WireCodec.protobuf.decodeEvent(record)))

const ackedUuids = (response: RawHttp.Response) =>
  events(response).flatMap((event) =>
    event.type === Event_Type.ACKNOWLEDGED ? [StatusUuid.toHex(event.acknowledged!.uuid)] : []
  )

describe("chaos fault proxy", () => {
  it.live("relays the stream record by record and logs the calls, their updates and the ACKs delivered", () =>
    Effect.gen(function*() {
      const { proxy, stream, update } = yield* setup
      assert.deepStrictEqual(events(stream).map((event) => Event_Type[event.type]), ["SUBSCRIBED", "LAUNCH"])
      const sent = yield* update()
      assert.strictEqual(sent.status, 202)
      yield* stream.until((response) => ackedUuids(response).includes(sent.uuid))
      assert.deepStrictEqual(
        proxy.calls.map((call) => [call.type, call.answer, call.status, call.updates.map((u) => u.uuid)]),
        [["SUBSCRIBE", "Forwarded", 200, []], ["UPDATE", "Forwarded", 202, [sent.uuid]]]
      )
      assert.deepStrictEqual(proxy.delivered.map((event) => [event.type, event.ack?.uuid]), [
        ["SUBSCRIBED", undefined],
        ["LAUNCH", undefined],
        ["ACKNOWLEDGED", sent.uuid]
      ])
    }).pipe(Effect.scoped))

  it.live("cuts the stream in the middle of a record: header and half the data, then the connection closes", () =>
    Effect.gen(function*() {
      const { agent, proxy, stream } = yield* setup
      const cut = yield* Effect.forkChild(proxy.cutStream("Any", 5_000))
      yield* Effect.sleep("50 millis")
      yield* Effect.orDie(agent.model.frameworkMessage(new TextEncoder().encode("a message long enough to halve")))
      assert.strictEqual(yield* Fiber.join(cut), "MESSAGE")
      yield* stream.done
      assert.strictEqual(stream.ending, "closed", "no terminating chunk: the connection just closed")
      const { end, records: complete } = framing(stream)
      assert.strictEqual(complete.length, 2, "SUBSCRIBED and LAUNCH, nothing after them")
      assert.isTrue(Result.isFailure(end) && end.failure.reason === "Truncated", "the stream ends inside a record")
      // What came after the complete records is a strict prefix of the MESSAGE record, past its header.
      const message = (yield* agent.model.state).events.find((sent) => sent.event.type === Event_Type.MESSAGE)!
      const framed = RecordIO.encode(Result.getOrThrow(WireCodec.protobuf.encodeEvent(message.event)))
      const consumed = complete.reduce((sum, record) => sum + RecordIO.encode(record).length, 0)
      const tail = Buffer.concat(stream.chunks).subarray(consumed)
      assert.isTrue(tail.length > framed.indexOf(0x0a) + 1 && tail.length < framed.length, `${tail.length} of ${framed.length}`)
      assert.deepStrictEqual(new Uint8Array(tail), framed.subarray(0, tail.length))
      assert.deepStrictEqual(proxy.effects.recordsCut, { MESSAGE: 1 })
    }).pipe(Effect.scoped))

  it.live("with no record to cut in time, cuts one of its own", () =>
    Effect.gen(function*() {
      const { proxy, stream } = yield* setup
      assert.strictEqual(yield* proxy.cutStream("Any", 100), "HEARTBEAT (the proxy's own)")
      yield* stream.done
      assert.strictEqual(stream.ending, "closed")
      assert.isTrue(Result.isFailure(framing(stream).end))
    }).pipe(Effect.scoped))

  it.live("cuts the next ACKNOWLEDGED when told to, letting other records through", () =>
    Effect.gen(function*() {
      const { agent, proxy, stream, update } = yield* setup
      const cut = yield* Effect.forkChild(proxy.cutStream("Acknowledged", 5_000))
      yield* Effect.sleep("50 millis")
      yield* Effect.orDie(agent.model.frameworkMessage(new TextEncoder().encode("passes")))
      yield* stream.until((response) => records(response).length === 3)
      yield* update()
      assert.strictEqual(yield* Fiber.join(cut), "ACKNOWLEDGED")
      yield* stream.done
      assert.deepStrictEqual(events(stream).map((event) => Event_Type[event.type]), ["SUBSCRIBED", "LAUNCH", "MESSAGE"])
    }).pipe(Effect.scoped))

  it("every garbage payload is well framed and no Event", () => {
    for (const payload of garbagePayloads) {
      const [record] = Result.getOrThrow(RecordIO.decodeAll([RecordIO.encode(payload)]))
      assert.deepStrictEqual(record, payload)
      assert.isTrue(Result.isFailure(WireCodec.protobuf.decodeEvent(payload)), `${payload} decodes`)
      assert.isTrue(Result.isFailure(AgentEvent.decode(WireCodec.protobuf, payload)))
    }
  })

  it.live("writes a garbage record, well framed, on the stream", () =>
    Effect.gen(function*() {
      const { proxy, stream } = yield* setup
      assert.isTrue(yield* proxy.injectGarbage(garbagePayloads[0]!))
      yield* stream.until((response) => records(response).length === 3)
      assert.deepStrictEqual(records(stream)[2], garbagePayloads[0])
      assert.strictEqual(proxy.delivered.at(-1)?.type, "garbage")
    }).pipe(Effect.scoped))

  it.live("holds ACKs and releases them in reverse order", () =>
    Effect.gen(function*() {
      const { proxy, stream, update } = yield* setup
      yield* proxy.setReorderingAcks(true)
      const sent = [yield* update(), yield* update(), yield* update()].map((result) => result.uuid)
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(ackedUuids(stream), [], "held")
      yield* proxy.setReorderingAcks(false)
      yield* stream.until((response) => ackedUuids(response).length === 3)
      assert.deepStrictEqual(ackedUuids(stream), [...sent].reverse())
      assert.strictEqual(proxy.effects.acksReordered, 3)
    }).pipe(Effect.scoped))

  it.live("repeats every ACK record while told to", () =>
    Effect.gen(function*() {
      const { proxy, stream, update } = yield* setup
      yield* proxy.setRepeatingAcks(true)
      const first = yield* update()
      yield* stream.until((response) => ackedUuids(response).length === 2)
      yield* proxy.setRepeatingAcks(false)
      const second = yield* update()
      yield* stream.until((response) => ackedUuids(response).length === 3)
      assert.deepStrictEqual(ackedUuids(stream), [first.uuid, first.uuid, second.uuid])
    }).pipe(Effect.scoped))

  it.live("answers 503 to every call in a window, without the agent seeing them", () =>
    Effect.gen(function*() {
      const { agent, proxy, update } = yield* setup
      yield* proxy.setUnavailable(true)
      assert.strictEqual((yield* update()).status, 503)
      const subscribe = yield* Effect.orDie(RawHttp.exchange({ port: proxy.port }, protobufRequest(Calls.subscribe())))
      assert.strictEqual(subscribe.status, 503)
      assert.strictEqual(subscribe.text, "Agent has not finished recovery")
      assert.deepStrictEqual((yield* agent.model.state).calls.map((call) => call.status), [200], "only the first SUBSCRIBE")
      yield* proxy.setUnavailable(false)
      assert.strictEqual((yield* update()).status, 202)
      assert.deepStrictEqual(proxy.calls.map((call) => call.answer), [
        "Forwarded",
        "Unavailable",
        "Unavailable",
        "Forwarded"
      ])
    }).pipe(Effect.scoped))

  it.live("a stall holds events and call answers, then lets them through in order", () =>
    Effect.gen(function*() {
      const { agent, proxy, stream, target } = yield* setup
      yield* proxy.setStalled(true)
      const call = Calls.update("task", TaskState.TASK_RUNNING)
      const answer = yield* Effect.forkChild(Effect.orDie(RawHttp.exchange(target, protobufRequest(call))))
      yield* agent.model.awaitUpdate((record) => record.taskId === "task")
      yield* Effect.sleep("200 millis")
      assert.isUndefined(answer.pollUnsafe(), "no answer during the stall")
      assert.strictEqual(records(stream).length, 2, "no ACK during the stall")
      yield* proxy.setStalled(false)
      assert.strictEqual((yield* Fiber.join(answer)).status, 202)
      yield* stream.until((response) => ackedUuids(response).length === 1)
      assert.deepStrictEqual(ackedUuids(stream), [StatusUuid.toHex(call.update!.status!.uuid)])
      assert.deepInclude(proxy.effects, { recordsStalled: 1, answersStalled: 1 })
    }).pipe(Effect.scoped))

  it.live("resets the executor's connection when the agent cannot be reached", () =>
    Effect.gen(function*() {
      const { agent, proxy, stream, target } = yield* setup
      yield* agent.model.restart({ downFor: "5 seconds" })
      yield* stream.done
      assert.strictEqual(stream.ending, "closed", "the stream broke with the agent")
      const attempt = yield* Effect.flip(RawHttp.exchange(target, protobufRequest(Calls.update("task", TaskState.TASK_RUNNING))))
      assert.strictEqual(attempt.cause, "closed without a response")
      assert.strictEqual(proxy.calls.at(-1)?.answer, "Unreachable")
    }).pipe(Effect.scoped))
})
