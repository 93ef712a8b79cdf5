// WireCodec against the golden vectors (made with the reference protobuf runtime, JSON as a real agent
// writes it), required-field checks on encode, and robustness of decode against arbitrary bytes.
import { assert, describe, expect, it } from "@effect/vitest"
import { clone, create, type DescMessage, equals, type Message, type MessageShape } from "@bufbuild/protobuf"
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect"
import { fromText } from "@bufbuild/protobuf/txtpb"
import { Effect, Result, Stream } from "effect"
import * as fc from "fast-check"
import { readdirSync } from "node:fs"
import {
  type Call,
  Call_Type,
  CallSchema,
  type Event,
  Event_Type,
  EventSchema
} from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { TaskState, TaskStatus_Source } from "../../src/gen/mesos/v1/mesos_pb.js"
import * as AgentEvent from "../../src/wire/AgentEvent.js"
import * as RecordIO from "../../src/wire/RecordIO.js"
import * as WireCodec from "../../src/wire/WireCodec.js"
import { readVector, readVectorText, vectorsDirectory } from "../support/vectors.js"


const codecs = [WireCodec.protobuf, WireCodec.json] as const

/** One golden vector, with the codec functions of its message type. */
interface Vector {
  readonly name: string
  readonly schema: DescMessage
  /** The message as the .txtpb, the source of truth, describes it. */
  readonly expected: Message
  readonly decode: (codec: WireCodec.WireCodec, bytes: Uint8Array) => Result.Result<Message, WireCodec.WireDecodeError>
  readonly encode: (
    codec: WireCodec.WireCodec,
    message: Message
  ) => Result.Result<Uint8Array, WireCodec.WireEncodeError>
}

const callVector = (name: string): Vector => ({
  name,
  schema: CallSchema,
  expected: fromText(CallSchema, readVectorText(`${name}.txtpb`)),
  decode: (codec, bytes) => codec.decodeCall(bytes),
  encode: (codec, call) => codec.encodeCall(call as Call)
})

const eventVector = (name: string): Vector => ({
  name,
  schema: EventSchema,
  expected: fromText(EventSchema, readVectorText(`${name}.txtpb`)),
  decode: (codec, bytes) => codec.decodeEvent(bytes),
  encode: (codec, event) => codec.encodeEvent(event as Event)
})

const vectors: ReadonlyArray<Vector> = readdirSync(vectorsDirectory)
  .filter((file) => file.endsWith(".txtpb"))
  .map((file) => file.slice(0, -".txtpb".length))
  .map((name) => name.startsWith("call-") ? callVector(name) : eventVector(name))

const vectorBytes = (vector: { readonly name: string }, codec: WireCodec.WireCodec): Uint8Array =>
  readVector(`${vector.name}.${codec === WireCodec.protobuf ? "bin" : "json"}`)

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString("hex")

const getOk = <A, E extends { readonly message: string }>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const getError = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) assert.fail("expected a failure")
  return result.failure
}

/**
 * A copy of `message` with every unset field that declares a default (and is not deprecated) set to it,
 * at every depth: what a message looks like after a trip through Mesos JSON, which writes those defaults.
 */
const withDefaults = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): MessageShape<Desc> => {
  const copy = clone(schema, message)
  setDefaults(reflect(schema, copy))
  return copy
}

const setDefaults = (message: ReflectMessage): void => {
  for (const field of message.fields) {
    switch (field.fieldKind) {
      case "scalar":
      case "enum": {
        const defaultValue = field.getDefaultValue()
        if (!message.isSet(field) && defaultValue !== undefined && !field.deprecated) message.set(field, defaultValue)
        break
      }
      case "message":
        if (message.isSet(field)) setDefaults(message.get(field))
        break
      case "list":
        if (field.listKind === "message") for (const item of message.get(field)) setDefaults(item as ReflectMessage)
        break
      case "map":
        if (field.mapKind === "message") {
          for (const value of message.get(field).values()) setDefaults(value as ReflectMessage)
        }
        break
    }
  }
}

const equalModuloDefaults = <Desc extends DescMessage>(schema: Desc, a: MessageShape<Desc>, b: MessageShape<Desc>) =>
  equals(schema, withDefaults(schema, a), withDefaults(schema, b))

describe("WireCodec: golden vectors", () => {
  it("has a vector of every kind", () => {
    expect(vectors.map((vector) => vector.name).sort()).toEqual([
      "call-heartbeat",
      "call-message",
      "call-subscribe",
      "call-subscribe-resend",
      "call-update",
      "event-acknowledged",
      "event-error",
      "event-heartbeat",
      "event-kill",
      "event-kill-no-policy",
      "event-launch",
      "event-launch-group",
      "event-message",
      "event-shutdown",
      "event-subscribed"
    ])
  })

  describe.each(vectors.map((vector) => [vector.name, vector] as const))("%s", (_name, vector) => {
    it("decodes from protobuf to the message of the .txtpb", () => {
      const decoded = getOk(vector.decode(WireCodec.protobuf, vectorBytes(vector, WireCodec.protobuf)))
      assert.isTrue(equals(vector.schema, decoded, vector.expected))
    })

    it("decodes from Mesos JSON to the same message, plus the defaults the agent writes", () => {
      const fromJson = getOk(vector.decode(WireCodec.json, vectorBytes(vector, WireCodec.json)))
      const fromProtobuf = getOk(vector.decode(WireCodec.protobuf, vectorBytes(vector, WireCodec.protobuf)))
      assert.isTrue(equalModuloDefaults(vector.schema, fromJson, fromProtobuf))
      assert.isTrue(equals(vector.schema, fromJson, withDefaults(vector.schema, fromJson)), "defaults are set")
    })

    it.each(codecs.map((codec) => [codec.contentType, codec] as const))("round-trips through %s", (_type, codec) => {
      const encoded = getOk(vector.encode(codec, vector.expected))
      const decoded = getOk(vector.decode(codec, encoded))
      if (codec === WireCodec.protobuf) {
        assert.isTrue(equals(vector.schema, decoded, vector.expected))
      } else {
        assert.isTrue(equalModuloDefaults(vector.schema, decoded, vector.expected))
        // A second trip changes nothing: the defaults are already explicit.
        expect(new TextDecoder().decode(getOk(vector.encode(codec, decoded)))).toBe(new TextDecoder().decode(encoded))
      }
    })

    it("encodes to Mesos JSON as the agent writes it, defaults included", () => {
      const encoded = new TextDecoder().decode(getOk(vector.encode(WireCodec.json, vector.expected)))
      // As values: the agent prints 128.0 where JavaScript prints 128, and key order differs.
      expect(JSON.parse(encoded)).toStrictEqual(JSON.parse(readVectorText(`${vector.name}.json`)))
    })
  })

  it("spot checks: key fields of the decoded vectors in both encodings", () => {
    for (const codec of codecs) {
      const update = getOk(codec.decodeCall(vectorBytes({ name: "call-update" }, codec)))
      assert.strictEqual(update.type, Call_Type.UPDATE)
      assert.strictEqual(update.executorId?.value, "exec-1")
      assert.strictEqual(update.update?.status?.state, TaskState.TASK_FAILED)
      assert.strictEqual(update.update?.status?.source, TaskStatus_Source.EXECUTOR)
      assert.strictEqual(update.update?.status?.timestamp, 1795700001.5)
      assert.deepStrictEqual(Array.from(update.update?.status?.data ?? []), [0xde, 0xad, 0xbe, 0xef])
      assert.strictEqual(hex(update.update?.status?.uuid), "1b4e28ba2fa141d2a00e9a3b7c556601")

      const launch = getOk(codec.decodeEvent(vectorBytes({ name: "event-launch" }, codec)))
      const task = launch.launch?.task
      assert.strictEqual(launch.type, Event_Type.LAUNCH)
      assert.strictEqual(task?.taskId?.value, "task-web-1")
      assert.strictEqual(task?.limits["cpus"]?.value, 1.5)
      assert.strictEqual(task?.resources[2]?.ranges?.range[0]?.begin, 31001n)
      assert.strictEqual(task?.maxCompletionTime?.nanoseconds, 3600000000000n)
      assert.deepStrictEqual(Array.from(task?.data ?? []), Array.from(Buffer.from("opaque\x00\xff\x10bytes", "latin1")))
      assert.strictEqual(task?.healthCheck?.tcp?.port, 31001)

      const subscribed = getOk(codec.decodeEvent(vectorBytes({ name: "event-subscribed" }, codec)))
      assert.strictEqual(subscribed.subscribed?.agentInfo?.port, 5051)
      assert.strictEqual(subscribed.subscribed?.frameworkInfo?.id?.value, "fw-7c1d-0001")
      assert.strictEqual(subscribed.subscribed?.containerId?.value, "c0ffee00-1111-2222-3333-444455556666")
    }
  })
})

describe("WireCodec: SUBSCRIBE carries an empty subscribe message", () => {
  const subscribe = create(CallSchema, {
    executorId: { value: "e" },
    frameworkId: { value: "f" },
    type: Call_Type.SUBSCRIBE,
    subscribe: {}
  })

  it("protobuf ends in 22 00", () => {
    const encoded = getOk(WireCodec.protobuf.encodeCall(subscribe))
    // SPEC §3.1's minimal SUBSCRIBE.
    expect(Buffer.from(encoded).toString("hex")).toBe("0a030a016512030a0166180122" + "00")
  })

  it("JSON has \"subscribe\":{}", () => {
    const encoded = new TextDecoder().decode(getOk(WireCodec.json.encodeCall(subscribe)))
    expect(encoded).toContain(`"subscribe":{}`)
    expect(JSON.parse(encoded)).toStrictEqual({
      type: "SUBSCRIBE",
      executor_id: { value: "e" },
      framework_id: { value: "f" },
      subscribe: {}
    })
  })
})

describe("WireCodec: required fields on encode", () => {
  it.each(codecs.map((codec) => [codec.contentType, codec] as const))(
    "%s: a Call without executor_id lists it and writes nothing",
    (_type, codec) => {
      const call = create(CallSchema, { frameworkId: { value: "f" }, type: Call_Type.HEARTBEAT })
      const error = getError(codec.encodeCall(call))
      assert.strictEqual(error._tag, "WireEncodeError")
      assert.strictEqual(error.contentType, codec.contentType)
      assert.strictEqual(error.messageType, "mesos.v1.executor.Call")
      assert.deepStrictEqual(error.missingFields, ["executor_id"])
      expect(error.message).toBe(
        `cannot encode mesos.v1.executor.Call as ${codec.contentType}: required fields not set: executor_id`
      )
    }
  )

  it.each(codecs.map((codec) => [codec.contentType, codec] as const))(
    "%s: lists every missing field at every depth",
    (_type, codec) => {
      const call = create(CallSchema, {
        executorId: { value: "e" },
        type: Call_Type.SUBSCRIBE,
        subscribe: {
          unacknowledgedTasks: [{ name: "t", taskId: { value: "t" }, agentId: { value: "a" } }, { name: "u" }],
          unacknowledgedUpdates: [{ status: { state: TaskState.TASK_RUNNING, uuid: new Uint8Array(16) } }]
        }
      })
      assert.deepStrictEqual(getError(codec.encodeCall(call)).missingFields, [
        "framework_id",
        "subscribe.unacknowledged_tasks[1].task_id",
        "subscribe.unacknowledged_tasks[1].agent_id",
        "subscribe.unacknowledged_updates[0].status.task_id"
      ])
    }
  )

  it.each(codecs.map((codec) => [codec.contentType, codec] as const))(
    "%s: an UPDATE whose status has no task_id",
    (_type, codec) => {
      const call = create(CallSchema, {
        executorId: { value: "e" },
        frameworkId: { value: "f" },
        type: Call_Type.UPDATE,
        update: { status: { state: TaskState.TASK_RUNNING, source: TaskStatus_Source.EXECUTOR } }
      })
      assert.deepStrictEqual(getError(codec.encodeCall(call)).missingFields, ["update.status.task_id"])
    }
  )

  it.each(codecs.map((codec) => [codec.contentType, codec] as const))(
    "%s: the message names the first 8 missing fields and counts the rest; missingFields has them all",
    (_type, codec) => {
      const tasks = Array.from({ length: 6 }, () => ({ name: "t" }))
      const call = create(CallSchema, { type: Call_Type.SUBSCRIBE, subscribe: { unacknowledgedTasks: tasks } })
      const error = getError(codec.encodeCall(call))
      assert.strictEqual(error.missingFields.length, 14)
      assert.strictEqual(
        error.detail,
        "required fields not set: executor_id, framework_id, subscribe.unacknowledged_tasks[0].task_id, " +
          "subscribe.unacknowledged_tasks[0].agent_id, subscribe.unacknowledged_tasks[1].task_id, " +
          "subscribe.unacknowledged_tasks[1].agent_id, subscribe.unacknowledged_tasks[2].task_id, " +
          "subscribe.unacknowledged_tasks[2].agent_id and 6 more"
      )
    }
  )

  it("looks into map values", () => {
    const event = create(EventSchema, {
      type: Event_Type.LAUNCH,
      launch: {
        task: { name: "t", taskId: { value: "t" }, agentId: { value: "a" }, limits: { cpus: {}, mem: { value: 1 } } }
      }
    })
    assert.deepStrictEqual(WireCodec.missingRequiredFields(EventSchema, event), ['launch.task.limits["cpus"].value'])
    assert.deepStrictEqual(getError(WireCodec.json.encodeEvent(event)).missingFields, [
      'launch.task.limits["cpus"].value'
    ])
  })

  it("an unset required enum counts as missing, a set one does not", () => {
    const call = create(CallSchema, {
      executorId: { value: "e" },
      frameworkId: { value: "f" },
      type: Call_Type.UPDATE,
      update: { status: { taskId: { value: "t" } } }
    })
    assert.deepStrictEqual(WireCodec.missingRequiredFields(CallSchema, call), ["update.status.state"])
    call.update!.status!.state = TaskState.TASK_STAGING
    assert.deepStrictEqual(WireCodec.missingRequiredFields(CallSchema, call), [])
  })

  it("a complete Call has none", () => {
    for (const vector of vectors) {
      assert.deepStrictEqual(WireCodec.missingRequiredFields(vector.schema, vector.expected), [], vector.name)
    }
  })

  it("an agent's view: a decoded JSON Call with camelCase keys misses its ids", () => {
    const call = getOk(
      WireCodec.json.decodeCall(
        new TextEncoder().encode(`{"type":"HEARTBEAT","executorId":{"value":"e"},"frameworkId":{"value":"f"}}`)
      )
    )
    assert.deepStrictEqual(WireCodec.missingRequiredFields(CallSchema, call), ["executor_id", "framework_id"])
  })

  it("protobuf: a value protobuf-es refuses to write is an error, not a throw", () => {
    const event = create(EventSchema, {
      type: Event_Type.SUBSCRIBED,
      subscribed: {
        executorInfo: { executorId: { value: "e" } },
        frameworkInfo: { user: "u", name: "n" },
        agentInfo: { hostname: "h", port: 2 ** 40 }
      }
    })
    const error = getError(WireCodec.protobuf.encodeEvent(event))
    assert.deepStrictEqual(error.missingFields, [])
    expect(error.detail).toContain("1099511627776")
  })

  it("JSON: a NaN double is an error naming the field (Mesos JSON has no NaN)", () => {
    const call = create(CallSchema, {
      executorId: { value: "e" },
      frameworkId: { value: "f" },
      type: Call_Type.UPDATE,
      update: { status: { taskId: { value: "t" }, state: TaskState.TASK_RUNNING, timestamp: Number.NaN } }
    })
    assert.isTrue(Result.isSuccess(WireCodec.protobuf.encodeCall(call)))
    const error = getError(WireCodec.json.encodeCall(call))
    assert.deepStrictEqual(error.missingFields, [])
    expect(error.message).toBe(
      "cannot encode mesos.v1.executor.Call as application/json: field 'update.status.timestamp': " +
        "NaN cannot be written in Mesos JSON"
    )
  })
})

describe("WireCodec: decoding what is not a message", () => {
  it("garbage protobuf is a WireDecodeError", () => {
    const error = getError(WireCodec.protobuf.decodeEvent(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])))
    assert.strictEqual(error._tag, "WireDecodeError")
    assert.strictEqual(error.contentType, "application/x-protobuf")
    assert.strictEqual(error.messageType, "mesos.v1.executor.Event")
    expect(error.message).toMatch(/^cannot decode mesos\.v1\.executor\.Event from application\/x-protobuf: /)
  })

  it("truncated protobuf is a WireDecodeError", () => {
    const launch = readVector("event-launch.bin")
    for (const length of [1, 3, 100, launch.length - 1]) {
      assert.strictEqual(getError(WireCodec.protobuf.decodeEvent(launch.subarray(0, length)))._tag, "WireDecodeError")
    }
  })

  it("a truncated protobuf body: protobuf-es's reason, the field being read, where its record starts, the length", () => {
    const error = getError(WireCodec.protobuf.decodeEvent(readVector("event-launch.bin").subarray(0, 100)))
    assert.strictEqual(
      error.message,
      "cannot decode mesos.v1.executor.Event from application/x-protobuf: premature EOF in field " +
        "'launch.task.resources[2].ranges.range[0].begin' (from byte 99 of 100)"
    )
    assert.strictEqual(error.field, "launch.task.resources[2].ranges.range[0].begin")
    assert.strictEqual(error.offset, 99)
    assert.strictEqual(error.byteLength, 100)
  })

  it("a fixed-width value cut short is a premature EOF too, not DataView's RangeError", () => {
    const error = getError(WireCodec.protobuf.decodeCall(readVector("call-subscribe-resend.bin").subarray(0, 99)))
    assert.strictEqual(
      error.detail,
      "premature EOF in field 'subscribe.unacknowledged_updates[0].status.timestamp' (from byte 98 of 99)"
    )
  })

  it("a tag that does not parse, a length prefix past the end, an unknown field: each said where", () => {
    assert.strictEqual(
      getError(WireCodec.protobuf.decodeEvent(Uint8Array.of(0x08, 0x01, 0x00))).detail,
      "illegal tag: field no 0 wire type 0 in a field tag at byte 2 of 3"
    )
    // framework_id (field 2 of Call), a message of 8 bytes, of which there are none.
    assert.strictEqual(
      getError(WireCodec.protobuf.decodeCall(Uint8Array.of(0x12, 0x08))).detail,
      "premature EOF in a field tag of 'framework_id' at byte 2 of 2 " +
        "(past the end: a length prefix claims more bytes than there are)"
    )
    // Field 100 as a start-group tag that never ends.
    assert.strictEqual(
      getError(WireCodec.protobuf.decodeEvent(Uint8Array.of(0x08, 0x01, 0xa3, 0x06))).detail,
      "premature EOF in unknown field 100 (from byte 2 of 4)"
    )
  })

  it("a map entry's path names its key", () => {
    const launch = readVector("event-launch.bin")
    const error = getError(WireCodec.protobuf.decodeEvent(launch.subarray(0, launch.length - 1)))
    assert.strictEqual(error.field, `launch.task.limits["cpus"].value`)
  })

  it("text that is not JSON is a WireDecodeError (the agent's MalformedContent case)", () => {
    const error = getError(WireCodec.json.decodeCall(new TextEncoder().encode("MALFORMED_CONTENT")))
    assert.strictEqual(error.contentType, "application/json")
    expect(error.message).toMatch(/^cannot decode mesos\.v1\.executor\.Call from application\/json: not valid JSON/)
  })

  it("a JSON type error names the field", () => {
    const bytes = new TextEncoder().encode(`{"type":"KILL","kill":{"task_id":7}}`)
    const error = getError(WireCodec.json.decodeEvent(bytes))
    expect(error.message).toBe(
      "cannot decode mesos.v1.executor.Event from application/json: field 'kill.task_id': expected a JSON object, " +
        "got the number 7"
    )
    assert.strictEqual(error.field, "kill.task_id")
    assert.strictEqual(error.byteLength, bytes.length)
  })

  const decoders = [
    ...codecs.map((codec) => [`${codec.contentType} decodeEvent`, codec.decodeEvent] as const),
    ...codecs.map((codec) => [`${codec.contentType} decodeCall`, codec.decodeCall] as const),
    ...codecs.map((codec) =>
      [`${codec.contentType} AgentEvent.decode`, (bytes: Uint8Array) => AgentEvent.decode(codec, bytes)] as const
    )
  ]

  it.each(decoders)("%s never throws on arbitrary bytes", (_name, decode) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        assert.isTrue(Result.isResult(decode(bytes)))
      }),
      { numRuns: 2000 }
    )
  })

  it.each(decoders)("%s never throws on corrupted vectors", (_name, decode) => {
    const originals = vectors.flatMap((vector) => codecs.map((codec) => vectorBytes(vector, codec)))
    fc.assert(
      fc.property(
        fc.constantFrom(...originals),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (original, edits, cut) => {
          const bytes = original.slice(0, original.length - (cut % 4))
          for (const [at, value] of edits) bytes[at % bytes.length] = value
          assert.isTrue(Result.isResult(decode(bytes)))
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("JSON decoders never throw on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const bytes = new TextEncoder().encode(JSON.stringify(value))
        assert.isTrue(Result.isResult(WireCodec.json.decodeCall(bytes)))
        assert.isTrue(Result.isResult(AgentEvent.decode(WireCodec.json, bytes)))
      }),
      { numRuns: 2000 }
    )
  })
})

describe("WireCodec: the golden SUBSCRIBE streams through RecordIO", () => {
  const expectStreamEvents = (events: ReadonlyArray<AgentEvent.AgentEvent>) => {
    expect(events.map((event) => event._tag)).toEqual([
      "Subscribed",
      "Launch",
      "LaunchGroup",
      "Heartbeat",
      "Acknowledged",
      "Message",
      "Kill",
      "Shutdown"
    ])
    const [subscribed, launch, launchGroup, , acknowledged, message, kill] = events
    assert.strictEqual(subscribed?._tag === "Subscribed" && subscribed.executorInfo.executorId?.value, "exec-1")
    assert.strictEqual(launch?._tag === "Launch" && launch.task.taskId?.value, "task-web-1")
    assert.deepStrictEqual(
      launchGroup?._tag === "LaunchGroup" && launchGroup.taskGroup.tasks.map((task) => task.name),
      ["sidecar", "main"]
    )
    assert.strictEqual(
      acknowledged?._tag === "Acknowledged" && hex(acknowledged.uuid),
      "1b4e28ba2fa141d2a00e9a3b7c556601"
    )
    assert.strictEqual(
      message?._tag === "Message" && Buffer.from(message.data).toString("latin1"),
      "\x00\x01\x02binary\xfe\xff framework message"
    )
    assert.strictEqual(kill?._tag === "Kill" && kill.killPolicy?.gracePeriod?.nanoseconds, 1500000000n)
  }

  const decodeStream = (codec: WireCodec.WireCodec, chunks: Iterable<Uint8Array>) =>
    getOk(RecordIO.decodeAll(chunks)).map((record) => getOk(AgentEvent.decode(codec, record)))

  describe.each(codecs.map((codec) => [codec.contentType, codec] as const))("%s", (type, codec) => {
    const body = readVector(`stream.${type.slice("application/".length)}.recordio`)

    it("split once at every byte boundary", () => {
      for (let cut = 0; cut <= body.length; cut++) {
        expectStreamEvents(decodeStream(codec, [body.subarray(0, cut), body.subarray(cut)]))
      }
    })

    it("one byte at a time", () => {
      expectStreamEvents(decodeStream(codec, Array.from(body, (_, i) => body.subarray(i, i + 1))))
    })

    it.effect("as a Stream of chunks", () =>
      Effect.gen(function*() {
        const chunks = [body.subarray(0, 7), body.subarray(7, 400), body.subarray(400)]
        const events = yield* Stream.fromIterable(chunks).pipe(
          RecordIO.decode(),
          Stream.mapEffect((record) => Effect.fromResult(AgentEvent.decode(codec, record))),
          Stream.runCollect
        )
        expectStreamEvents(events)
      }))
  })
})
