// AgentEvent: what the driver sees of each decoded event, including events from a newer agent and
// malformed ones, checked against what a real agent sent (real-agent transcripts).
import { assert, describe, expect, it } from "@effect/vitest"
import { create, toBinary } from "@bufbuild/protobuf"
import { fromText } from "@bufbuild/protobuf/txtpb"
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire"
import { Result } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { CallSchema, Event_Type, EventSchema } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import {
  AgentInfoSchema,
  ContainerIDSchema,
  ExecutorInfoSchema,
  FrameworkInfoSchema
} from "../../src/gen/mesos/v1/mesos_pb.js"
import * as AgentEvent from "../../src/wire/AgentEvent.js"
import * as WireCodec from "../../src/wire/WireCodec.js"

const realAgentDir = new URL("../../../shared/mesos/real-agent/", import.meta.url)
const transcript = (name: string): string => readFileSync(new URL(name, realAgentDir), "utf8")

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

const decodeOk = (codec: WireCodec.WireCodec, bytes: Uint8Array): AgentEvent.AgentEvent => {
  const decoded = AgentEvent.decode(codec, bytes)
  if (Result.isFailure(decoded)) assert.fail(`unexpected failure: ${decoded.failure.message}`)
  return decoded.success
}

const decodeJson = (text: string) => decodeOk(WireCodec.json, utf8(text))

describe("AgentEvent.fromEvent", () => {
  it("references the decoded sub-messages instead of copying them", () => {
    const event = create(EventSchema, {
      type: Event_Type.LAUNCH,
      launch: { task: { name: "t", taskId: { value: "t" }, agentId: { value: "a" } } }
    })
    const launch = AgentEvent.fromEvent(event)
    assert.isTrue(launch._tag === "Launch" && launch.task === event.launch?.task)
  })

  it("leaves the optional parts of Subscribed and Kill undefined when absent", () => {
    const kill = decodeJson(`{"type":"KILL","kill":{"task_id":{"value":"t"}}}`)
    assert.isTrue(kill._tag === "Kill" && kill.taskId.value === "t" && kill.killPolicy === undefined)
    const subscribed = decodeJson(
      `{"type":"SUBSCRIBED","subscribed":{"executor_info":{"executor_id":{"value":"e"}},` +
        `"framework_info":{"user":"u","name":"n"},"agent_info":{"hostname":"h"}}}`
    )
    assert.isTrue(subscribed._tag === "Subscribed" && subscribed.containerId === undefined)
  })

  it("classifies the payload-less and the ERROR events", () => {
    const typeOnly = (type: Event_Type) => new Uint8Array([0x08, type])
    expect(decodeOk(WireCodec.protobuf, typeOnly(Event_Type.SHUTDOWN))).toStrictEqual({ _tag: "Shutdown" })
    expect(decodeOk(WireCodec.protobuf, typeOnly(Event_Type.HEARTBEAT))).toStrictEqual({ _tag: "Heartbeat" })
    expect(decodeJson(`{"type":"ERROR","error":{"message":"Executor is misbehaving"}}`)).toStrictEqual({
      _tag: "Error",
      message: "Executor is misbehaving"
    })
  })
})

describe("AgentEvent: events from a newer agent", () => {
  it("protobuf: an unknown event type with a new payload field decodes to Unknown with its number", () => {
    const bytes = new BinaryWriter()
      .tag(1, WireType.Varint).int32(42)
      .tag(10, WireType.LengthDelimited).bytes(utf8("\x0a\x03new"))
      .finish()
    const event = decodeOk(WireCodec.protobuf, bytes)
    assert.strictEqual(event._tag, "Unknown")
    if (event._tag !== "Unknown") return
    assert.strictEqual(event.reason, "UnknownType")
    assert.strictEqual(event.type, 42)
    expect(event.event.$unknown?.map((field) => field.no)).toContain(10)
  })

  it("protobuf: an unknown event type alone, or given twice, decodes to Unknown with its (last) number", () => {
    expect(decodeOk(WireCodec.protobuf, new Uint8Array([0x08, 0x63]))).toMatchObject({ _tag: "Unknown", type: 99 })
    expect(decodeOk(WireCodec.protobuf, new Uint8Array([0x08, 0x63, 0x08, 0x64]))).toMatchObject({ type: 100 })
  })

  it("protobuf: unknown fields in a known event are ignored, and survive a re-encode", () => {
    const kill = new BinaryWriter()
      .tag(1, WireType.LengthDelimited).bytes(utf8("\x0a\x01t"))
      .tag(3, WireType.Varint).int32(7)
      .finish()
    const bytes = new BinaryWriter()
      .tag(1, WireType.Varint).int32(Event_Type.KILL)
      .tag(5, WireType.LengthDelimited).bytes(kill)
      .tag(99, WireType.Bit32).fixed32(0xdeadbeef)
      .finish()
    const event = decodeOk(WireCodec.protobuf, bytes)
    assert.isTrue(event._tag === "Kill" && event.taskId.value === "t" && event.killPolicy === undefined)
    const decoded = WireCodec.protobuf.decodeEvent(bytes)
    assert.isTrue(Result.isSuccess(decoded))
    if (Result.isFailure(decoded)) return
    const reencoded = WireCodec.protobuf.encodeEvent(decoded.success)
    assert.isTrue(Result.isSuccess(reencoded) && Buffer.compare(reencoded.success, bytes) === 0)
  })

  it("JSON: an unknown event type decodes to Unknown with its name", () => {
    const event = decodeJson(`{"type":"SOMETHING_NEW","something_new":{"detail":1}}`)
    expect(event).toMatchObject({ _tag: "Unknown", reason: "UnknownType", type: "SOMETHING_NEW" })
  })

  it("an event with no type, or type UNKNOWN, is Unknown", () => {
    for (const [codec, bytes] of [[WireCodec.protobuf, new Uint8Array(0)], [WireCodec.json, utf8("{}")]] as const) {
      expect(decodeOk(codec, bytes)).toMatchObject({ _tag: "Unknown", reason: "UnknownType", type: undefined })
    }
    expect(decodeOk(WireCodec.protobuf, new Uint8Array([0x08, 0x00]))).toMatchObject({ type: "UNKNOWN" })
    expect(decodeJson(`{"type":"UNKNOWN"}`)).toMatchObject({ _tag: "Unknown", reason: "UnknownType", type: "UNKNOWN" })
  })
})

describe("AgentEvent: a known type without its payload is Unknown, not a crash", () => {
  // Each case as Mesos JSON and as hand-written protobuf (toBinary refuses to leave out required fields).
  it.each([
    ["LAUNCH without launch", `{"type":"LAUNCH"}`, "0802", "LAUNCH"],
    ["LAUNCH without a task", `{"type":"LAUNCH","launch":{}}`, "08022200", "LAUNCH"],
    ["LAUNCH_GROUP without a task group", `{"type":"LAUNCH_GROUP","launch_group":{}}`, "08084200", "LAUNCH_GROUP"],
    ["KILL without a task id", `{"type":"KILL","kill":{}}`, "08032a00", "KILL"],
    [
      "ACKNOWLEDGED without a uuid",
      `{"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"t"}}}`,
      "08041a050a030a0174",
      "ACKNOWLEDGED"
    ],
    ["MESSAGE without data", `{"type":"MESSAGE","message":{}}`, "08053200", "MESSAGE"],
    ["ERROR without a message", `{"type":"ERROR","error":{}}`, "08063a00", "ERROR"],
    [
      "SUBSCRIBED without agent_info",
      `{"type":"SUBSCRIBED","subscribed":{"executor_info":{},"framework_info":{}}}`,
      "080112040a001200",
      "SUBSCRIBED"
    ],
    ["a payload of another type", `{"type":"LAUNCH","kill":{"task_id":{"value":"t"}}}`, "08022a050a030a0174", "LAUNCH"]
  ])("%s", (_case, json, protobuf, type) => {
    const expected = { _tag: "Unknown", reason: "MissingPayload", type }
    expect(decodeJson(json)).toMatchObject(expected)
    expect(decodeOk(WireCodec.protobuf, Buffer.from(protobuf, "hex"))).toMatchObject(expected)
  })
})

describe("AgentEvent: what a real agent sent", () => {
  // Every event record of the JSON transcripts, exactly as the agent wrote it.
  const jsonEvents = readdirSync(realAgentDir)
    .filter((file) => file.endsWith(".txt"))
    .flatMap((file) => transcript(file).split("\n"))
    .flatMap((line) => /^\s+JSON as sent: (\{.*\})$/.exec(line)?.[1] ?? [])

  it("finds the transcripts' JSON events", () => {
    expect(new Set(jsonEvents.map((text) => JSON.parse(text).type))).toEqual(
      new Set(["SUBSCRIBED", "LAUNCH", "ACKNOWLEDGED", "MESSAGE", "KILL", "SHUTDOWN"])
    )
  })

  it("decodes every JSON event, and re-encodes it as the agent wrote it", () => {
    for (const text of jsonEvents) {
      const event = decodeJson(text)
      expect(event._tag).not.toBe("Unknown")
      const decoded = WireCodec.json.decodeEvent(utf8(text))
      const reencoded = Result.flatMap(decoded, WireCodec.json.encodeEvent)
      if (Result.isFailure(reencoded)) assert.fail(reencoded.failure.message)
      expect(JSON.parse(new TextDecoder().decode(reencoded.success))).toStrictEqual(JSON.parse(text))
    }
  })

  it("decodes every JSON call the test executor sent, with all required fields", () => {
    const calls = readdirSync(realAgentDir)
      .filter((file) => file.endsWith(".txt"))
      .flatMap((file) => transcript(file).split("\n"))
      .flatMap((line) => /^\s+body \(\d+ bytes, JSON as sent\): (\{.*\})$/.exec(line)?.[1] ?? [])
    expect(calls.length).toBeGreaterThan(10)
    for (const text of calls) {
      const call = WireCodec.json.decodeCall(utf8(text))
      if (Result.isFailure(call)) assert.fail(call.failure.message)
      assert.deepStrictEqual(WireCodec.missingRequiredFields(CallSchema, call.success), [])
    }
  })

  /**
   * The protobuf SUBSCRIBED of subscribe-protobuf.txt, rebuilt from its text rendering (the transcript
   * shows only the first bytes): the known fields from the text, then `agent_info` with the unknown
   * field 7 (the v0 `SlaveInfo.checkpoint`) appended after them, as the agent's re-serialisation does.
   */
  const realSubscribed = (): Uint8Array => {
    const text = transcript("subscribe-protobuf.txt")
    const block = /record 1 \(626 bytes\): SUBSCRIBED\n\s+protobuf bytes: ([0-9a-f]+)\.\.\.\n([\s\S]*?)\n  \[\+/
      .exec(text)
    assert.isNotNull(block)
    const [, prefix, rendering] = block!
    assert.include(rendering, "\n            7: 1\n")
    const { subscribed } = fromText(EventSchema, rendering!.replace("\n            7: 1\n", "\n"))
    const agentInfo = new Uint8Array([...toBinary(AgentInfoSchema, subscribed!.agentInfo!), 0x38, 0x01])
    const payload = new BinaryWriter()
      .tag(1, WireType.LengthDelimited).bytes(toBinary(ExecutorInfoSchema, subscribed!.executorInfo!))
      .tag(2, WireType.LengthDelimited).bytes(toBinary(FrameworkInfoSchema, subscribed!.frameworkInfo!))
      .tag(3, WireType.LengthDelimited).bytes(agentInfo)
      .tag(4, WireType.LengthDelimited).bytes(toBinary(ContainerIDSchema, subscribed!.containerId!))
      .finish()
    const bytes = new BinaryWriter().tag(1, WireType.Varint).int32(Event_Type.SUBSCRIBED)
      .tag(2, WireType.LengthDelimited).bytes(payload).finish()
    // As far as the placeholders in the transcript's paths allow: type, then the subscribed payload.
    assert.strictEqual(Buffer.from(bytes.subarray(0, 3)).toString("hex"), prefix!.slice(0, 6))
    return bytes
  }

  it("decodes the protobuf SUBSCRIBED with an unknown field in agent_info, and keeps it", () => {
    const event = decodeOk(WireCodec.protobuf, realSubscribed())
    assert.strictEqual(event._tag, "Subscribed")
    if (event._tag !== "Subscribed") return
    assert.strictEqual(event.agentInfo.hostname, "127.0.0.1")
    assert.strictEqual(event.agentInfo.port, 5051)
    assert.strictEqual(event.frameworkInfo.id?.value, "aa840d15-7ee7-4ee8-a7c8-eedd0a25e1f4-0000")
    assert.strictEqual(event.containerId?.value, "e352cd08-b461-46d4-8731-98e3be798bff")
    expect(event.agentInfo.$unknown).toEqual([{ no: 7, wireType: WireType.Varint, data: new Uint8Array([1]) }])
  })

  it("the unknown field survives a protobuf re-encode and is left out of JSON", () => {
    const decoded = WireCodec.protobuf.decodeEvent(realSubscribed())
    const again = Result.flatMap(
      Result.flatMap(decoded, WireCodec.protobuf.encodeEvent),
      WireCodec.protobuf.decodeEvent
    )
    if (Result.isFailure(again)) assert.fail(again.failure.message)
    expect(again.success.subscribed?.agentInfo?.$unknown).toEqual([
      { no: 7, wireType: WireType.Varint, data: new Uint8Array([1]) }
    ])

    const json = Result.flatMap(decoded, WireCodec.json.encodeEvent)
    if (Result.isFailure(json)) assert.fail(json.failure.message)
    const agentInfo = JSON.parse(new TextDecoder().decode(json.success)).subscribed.agent_info
    expect(Object.keys(agentInfo).sort()).toEqual(["hostname", "id", "port", "resources"])
  })
})
