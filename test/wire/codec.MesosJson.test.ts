// Mesos JSON, rule by rule (SPEC §1.3; stout's protobuf.hpp): on the Mesos messages where they have a
// field of the kind, and on a small proto2 test schema for field kinds Mesos's executor messages lack
// (repeated enums, non-string map keys, oneofs, floats, the other 64-bit encodings).
import { assert, describe, expect, it } from "@effect/vitest"
import { create, createFileRegistry, type DescMessage, isFieldSet, type MessageShape } from "@bufbuild/protobuf"
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"
import { Result } from "effect"
import * as fc from "fast-check"
import {
  AgentInfoSchema,
  CommandInfoSchema,
  DurationInfoSchema,
  Environment_VariableSchema,
  FrameworkInfoSchema,
  HealthCheckSchema,
  TaskIDSchema,
  TaskInfoSchema,
  TaskState,
  TaskStatus_Source,
  TaskStatusSchema,
  Value_RangeSchema
} from "../../src/gen/mesos/v1/mesos_pb.js"
import { Event_Type, EventSchema } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import * as MesosJson from "../../src/wire/MesosJson.js"

const parseOk = <Desc extends DescMessage>(schema: Desc, text: string): MessageShape<Desc> => {
  const result = MesosJson.parse(schema, text)
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const parseError = (schema: DescMessage, text: string): MesosJson.MesosJsonError => {
  const result = MesosJson.parse(schema, text)
  if (Result.isSuccess(result)) assert.fail(`expected a MesosJsonError for ${text}`)
  return result.failure
}

const stringifyOk = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): string => {
  const result = MesosJson.stringify(schema, message)
  if (Result.isFailure(result)) assert.fail(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const UINT64_MAX = 2n ** 64n - 1n
const INT64_MIN = -(2n ** 63n)

describe("MesosJson: 64-bit integers", () => {
  it("are written as bare JSON numbers, exactly", () => {
    expect(stringifyOk(Value_RangeSchema, create(Value_RangeSchema, { begin: 31000n, end: UINT64_MAX }))).toBe(
      `{"begin":31000,"end":18446744073709551615}`
    )
    expect(stringifyOk(DurationInfoSchema, create(DurationInfoSchema, { nanoseconds: INT64_MIN }))).toBe(
      `{"nanoseconds":-9223372036854775808}`
    )
  })

  it("are read exactly from a number or a string holding one, beyond 2^53", () => {
    const range = parseOk(Value_RangeSchema, `{"begin":18446744073709551615,"end":"18446744073709551615"}`)
    assert.strictEqual(range.begin, UINT64_MAX)
    assert.strictEqual(range.end, UINT64_MAX)
    assert.strictEqual(parseOk(Value_RangeSchema, `{"begin":9007199254740993,"end":1}`).begin, 9007199254740993n)
    assert.strictEqual(parseOk(DurationInfoSchema, `{"nanoseconds":-9223372036854775808}`).nanoseconds, INT64_MIN)
    assert.strictEqual(parseOk(DurationInfoSchema, `{"nanoseconds":" 1500000000 "}`).nanoseconds, 1500000000n)
  })

  it("round-trip at the limits", () => {
    for (const value of [0n, 1n, 2n ** 53n + 1n, UINT64_MAX]) {
      const range = create(Value_RangeSchema, { begin: value, end: value })
      assert.deepStrictEqual(parseOk(Value_RangeSchema, stringifyOk(Value_RangeSchema, range)), range)
    }
  })

  it("out of range is an error (where the agent's C++ casts would wrap)", () => {
    expect(parseError(Value_RangeSchema, `{"begin":-1}`).message).toBe(
      "field 'begin': -1 is out of range for a number (uint64)"
    )
    expect(parseError(Value_RangeSchema, `{"begin":18446744073709551616}`).message).toBe(
      "field 'begin': 18446744073709551616 is out of range for a number (uint64)"
    )
    expect(parseError(DurationInfoSchema, `{"nanoseconds":"9223372036854775808"}`).path).toBe("nanoseconds")
  })

  it("toJsonValue holds them as bigint", () => {
    const value = MesosJson.toJsonValue(Value_RangeSchema, create(Value_RangeSchema, { begin: 1n, end: UINT64_MAX }))
    assert.deepStrictEqual(value, Result.succeed({ begin: 1n, end: UINT64_MAX }))
  })
})

describe("MesosJson: other scalars", () => {
  it("numbers may be strings; a fraction for an integer is truncated, as by the agent", () => {
    assert.strictEqual(parseOk(AgentInfoSchema, `{"hostname":"h","port":"5050"}`).port, 5050)
    assert.strictEqual(parseOk(AgentInfoSchema, `{"hostname":"h","port":5050.9}`).port, 5050)
    assert.strictEqual(parseOk(AgentInfoSchema, `{"hostname":"h","port":"1.5e3"}`).port, 1500)
    assert.strictEqual(parseOk(TaskStatusSchema, `{"timestamp":"1795700001.5"}`).timestamp, 1795700001.5)
  })

  it("a string that is not a JSON number is an error", () => {
    for (const port of [`"0x10"`, `"+1"`, `"5050 tcp"`, `""`, `"Infinity"`]) {
      expect(parseError(AgentInfoSchema, `{"port":${port}}`).message)
        .toMatch(/^field 'port': expected a number \(int32\)/)
    }
    expect(parseError(AgentInfoSchema, `{"port":4294967296}`).message).toBe(
      "field 'port': 4294967296 is out of range for a number (int32)"
    )
  })

  it("writes a string cut inside a surrogate pair with U+FFFD, as the binary encoding does, so it reads back", () => {
    const status = create(TaskStatusSchema, { taskId: { value: "t" }, message: "fine \u{1F642}".slice(0, -1) })
    const text = stringifyOk(TaskStatusSchema, status)
    assert.strictEqual(parseOk(TaskStatusSchema, text).message, "fine \uFFFD")
  })

  it("reads a string with an unpaired surrogate escape as an error naming the field, as the agent's parser does", () => {
    const error = parseError(TaskStatusSchema, `{"task_id":{"value":"t"},"message":"fine \\ud83d"}`)
    assert.strictEqual(error.path, "message")
    assert.strictEqual(
      error.message,
      "field 'message': the string has an unpaired UTF-16 surrogate (\\ud83d at index 5), which has no UTF-8 encoding"
    )
  })

  it("quotes at most 64 characters of a value in an error, then its length", () => {
    const long = "x".repeat(100_000)
    assert.strictEqual(
      parseError(AgentInfoSchema, `{"port":"${long}"}`).message,
      `field 'port': expected a number (int32), got the string "${"x".repeat(64)}"… (100000 chars), which is not a number`
    )
    for (const nines of [`${"9".repeat(1000)}`, `"${"9".repeat(1000)}"`]) {
      assert.strictEqual(
        parseError(AgentInfoSchema, `{"port":${nines}}`).message,
        `field 'port': ${"9".repeat(64)}… (1000 chars) is out of range for a number (int32)`
      )
    }
  })

  it("refuses input nested deeper than any Mesos message, with a typed error instead of a stack overflow", () => {
    const deep = `{"type":"LAUNCH","x":${"[".repeat(10_000)}${"]".repeat(10_000)}}`
    expect(parseError(EventSchema, deep).message).toMatch(/nested deeper than 64 levels/)
    const quoted = `{"type":"HEARTBEAT","x":"${"[".repeat(10_000)}"}`
    assert.strictEqual(parseOk(EventSchema, quoted).type, Event_Type.HEARTBEAT)
  })

  it("refuses to write an integer out of its field's range, naming the field", () => {
    const tooBig = create(AgentInfoSchema, { hostname: "h", port: 2 ** 40 })
    const result = MesosJson.stringify(AgentInfoSchema, tooBig)
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) expect(result.failure.message).toMatch(/^field 'port': 1099511627776 is out of range for a number \(int32: /)
  })

  it("doubles also accept \"Infinity\" and \"-Infinity\", and write infinities that way; NaN is neither", () => {
    assert.strictEqual(parseOk(TaskStatusSchema, `{"timestamp":"Infinity"}`).timestamp, Infinity)
    assert.strictEqual(parseOk(TaskStatusSchema, `{"timestamp":"-Infinity"}`).timestamp, -Infinity)
    expect(parseError(TaskStatusSchema, `{"timestamp":"NaN"}`).path).toBe("timestamp")
    expect(parseError(TaskStatusSchema, `{"timestamp":1e400}`).message).toBe(
      "field 'timestamp': number out of range for a number (double)"
    )
    const status = create(TaskStatusSchema, { taskId: { value: "t" }, timestamp: -Infinity })
    expect(JSON.parse(stringifyOk(TaskStatusSchema, status)).timestamp).toBe("-Infinity")
    status.timestamp = Number.NaN
    const written = MesosJson.stringify(TaskStatusSchema, status)
    assert.isTrue(Result.isFailure(written) && written.failure.path === "timestamp")
  })

  it("booleans are true/false or the strings \"true\"/\"false\"", () => {
    assert.strictEqual(parseOk(TaskStatusSchema, `{"healthy":true}`).healthy, true)
    assert.strictEqual(parseOk(TaskStatusSchema, `{"healthy":"true"}`).healthy, true)
    const unhealthy = parseOk(TaskStatusSchema, `{"healthy":"false"}`)
    assert.isTrue(isFieldSet(unhealthy, TaskStatusSchema.field.healthy))
    assert.strictEqual(unhealthy.healthy, false)
    for (const healthy of [`"yes"`, `1`, `"1"`, `"null"`]) {
      expect(parseError(TaskStatusSchema, `{"healthy":${healthy}}`).message)
        .toMatch(/^field 'healthy': expected a boolean/)
    }
  })

  it("a string field does not take a number, nor a number field a boolean", () => {
    expect(parseError(TaskIDSchema, `{"value":7}`).message).toBe("field 'value': expected a string, got the number 7")
    expect(parseError(AgentInfoSchema, `{"port":true}`).message).toBe(
      "field 'port': expected a number (int32), got true"
    )
  })
})

describe("MesosJson: bytes", () => {
  const uuid = Buffer.from("1b4e28ba2fa141d2a00e9a3b7c556601", "hex")
  const readUuid = (text: string) => Buffer.from(parseOk(TaskStatusSchema, `{"uuid":${JSON.stringify(text)}}`).uuid)

  it("are written as standard base64 with padding", () => {
    const status = create(TaskStatusSchema, { uuid, data: new Uint8Array([0xfb, 0xff]) })
    expect(JSON.parse(stringifyOk(TaskStatusSchema, status)))
      .toMatchObject({ uuid: "G04oui+hQdKgDpo7fFVmAQ==", data: "+/8=" })
  })

  it("are written as Node's own standard base64, at every length, and read back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (data) => {
        const text = stringifyOk(TaskStatusSchema, create(TaskStatusSchema, { data }))
        assert.strictEqual(JSON.parse(text).data, Buffer.from(data).toString("base64"))
        assert.deepStrictEqual(parseOk(TaskStatusSchema, text).data, data)
      })
    )
  })

  it("are read with or without padding, skipping whitespace, up to the first '='", () => {
    const spellings = [
      "G04oui+hQdKgDpo7fFVmAQ==",
      "G04oui+hQdKgDpo7fFVmAQ",
      "G04oui+hQdKgDpo7fFVmAQ=",
      "G04o ui+h\nQdKg\tDpo7fFVmAQ=="
    ]
    for (const text of spellings) {
      assert.deepStrictEqual(readUuid(text), uuid, text)
    }
    assert.deepStrictEqual(readUuid("AAEC=!!not read"), Buffer.from([0, 1, 2]))
    assert.deepStrictEqual(readUuid(""), Buffer.alloc(0))
  })

  it("URL-safe and other characters are errors", () => {
    expect(parseError(TaskStatusSchema, `{"uuid":"-_8="}`).message).toBe(
      `field 'uuid': invalid base64 character "-" (URL-safe base64 is not accepted; use + and /)`
    )
    expect(parseError(TaskStatusSchema, `{"uuid":"+_8="}`).reason).toMatch(/^invalid base64 character "_"/)
    expect(parseError(TaskStatusSchema, `{"uuid":"AA*A"}`).reason).toBe(`invalid base64 character "*"`)
    expect(parseError(TaskStatusSchema, `{"uuid":"AAÄA"}`).reason).toBe(`invalid base64 character "Ä"`)
  })

  it("decode every length the same as Buffer does", () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff))
      assert.deepStrictEqual(readUuid(bytes.toString("base64")), bytes)
      assert.deepStrictEqual(readUuid(bytes.toString("base64").replace(/=+$/, "")), bytes)
    }
  })
})

describe("MesosJson: keys, null and unknown fields", () => {
  it("null leaves a field unset", () => {
    const status = parseOk(TaskStatusSchema, `{"task_id":null,"state":"TASK_RUNNING","healthy":null,"uuid":null}`)
    assert.isUndefined(status.taskId)
    assert.isFalse(isFieldSet(status, TaskStatusSchema.field.healthy))
    assert.isFalse(isFieldSet(status, TaskStatusSchema.field.uuid))
    assert.strictEqual(status.state, TaskState.TASK_RUNNING)
  })

  it("unknown keys, camelCase spellings included, are ignored", () => {
    const status = parseOk(
      TaskStatusSchema,
      `{"taskId":{"value":"t"},"agent_id":{"value":"a","extra":[1]},"new_field":{}}`
    )
    assert.isUndefined(status.taskId)
    assert.strictEqual(status.agentId?.value, "a")
  })

  it("the top level must be a JSON object", () => {
    for (const text of [`[]`, `"x"`, `1`, `null`, `true`]) {
      expect(parseError(TaskIDSchema, text).message).toMatch(/^expected a JSON object, got /)
    }
    expect(parseError(TaskIDSchema, `{"value":`).message).toMatch(/^not valid JSON: /)
  })

  it("a JSON value of the wrong type names the field path", () => {
    const task = `{"name":"t","resources":[{"name":"cpus","type":"SCALAR"},` +
      `{"name":"mem","type":"SCALAR","scalar":{"value":"lots"}}]}`
    expect(parseError(TaskInfoSchema, task).message).toBe(
      `field 'resources[1].scalar.value': expected a number (double), got the string "lots", which is not a number`
    )
    expect(parseError(TaskInfoSchema, `{"task_id":[{"value":"t"}]}`).message).toBe(
      "field 'task_id': expected a JSON object, got an array"
    )
    expect(parseError(TaskInfoSchema, `{"limits":{"cpus":1.5}}`).message).toBe(
      `field 'limits["cpus"]': expected a JSON object, got the number 1.5`
    )
  })

  it("unknown fields are not written", () => {
    const id = create(TaskIDSchema, { value: "t" })
    id.$unknown = [{ no: 9, wireType: 0, data: new Uint8Array([1]) }]
    expect(stringifyOk(TaskIDSchema, id)).toBe(`{"value":"t"}`)
  })
})

describe("MesosJson: enums", () => {
  it("are written as names", () => {
    const status = create(TaskStatusSchema, {
      taskId: { value: "t" },
      state: TaskState.TASK_KILLED,
      source: TaskStatus_Source.EXECUTOR
    })
    expect(JSON.parse(stringifyOk(TaskStatusSchema, status))).toStrictEqual({
      task_id: { value: "t" },
      state: "TASK_KILLED",
      source: "SOURCE_EXECUTOR"
    })
  })

  it("a JSON number is an error", () => {
    expect(parseError(TaskStatusSchema, `{"state":1}`).message).toBe(
      "field 'state': expected a value name of enum mesos.v1.TaskState, got the number 1"
    )
    expect(parseError(TaskStatusSchema, `{"source":2}`).path).toBe("source")
  })

  it("an unknown name on an optional field leaves it unset", () => {
    const status = parseOk(
      TaskStatusSchema,
      `{"state":"TASK_RUNNING","source":"SOURCE_SATELLITE","reason":"REASON_FROM_2030"}`
    )
    assert.isFalse(isFieldSet(status, TaskStatusSchema.field.source))
    assert.isFalse(isFieldSet(status, TaskStatusSchema.field.reason))
  })

  it("an unknown name on a required field is an error", () => {
    expect(parseError(TaskStatusSchema, `{"state":"TASK_EXPLODED"}`).message).toBe(
      "field 'state': \"TASK_EXPLODED\" is not a value of enum mesos.v1.TaskState"
    )
  })
})

describe("MesosJson: defaults, repeated fields and maps", () => {
  it("writes unset fields that declare a default, unless deprecated", () => {
    expect(JSON.parse(stringifyOk(CommandInfoSchema, create(CommandInfoSchema)))).toStrictEqual({ shell: true })
    expect(JSON.parse(stringifyOk(AgentInfoSchema, create(AgentInfoSchema, { hostname: "h" })))).toStrictEqual({
      hostname: "h",
      port: 5051
    })
    // `role` declares "*" but is deprecated.
    expect(JSON.parse(stringifyOk(FrameworkInfoSchema, create(FrameworkInfoSchema, { user: "u", name: "n" }))))
      .toStrictEqual({ user: "u", name: "n", failover_timeout: 0, checkpoint: false })
    expect(JSON.parse(stringifyOk(Environment_VariableSchema, create(Environment_VariableSchema, { name: "A" }))))
      .toStrictEqual({ name: "A", type: "VALUE" })
    expect(JSON.parse(stringifyOk(HealthCheckSchema, create(HealthCheckSchema, { tcp: { port: 80 } })))).toStrictEqual({
      delay_seconds: 15,
      interval_seconds: 10,
      timeout_seconds: 20,
      consecutive_failures: 3,
      grace_period_seconds: 10,
      tcp: { port: 80, protocol: "IPv4" }
    })
  })

  it("writes a deprecated field with a default when it is set", () => {
    const framework = create(FrameworkInfoSchema, { user: "u", name: "n", role: "*" })
    expect(JSON.parse(stringifyOk(FrameworkInfoSchema, framework))).toMatchObject({ role: "*" })
  })

  it("reads a default value given explicitly as set", () => {
    const command = parseOk(CommandInfoSchema, `{"shell":true,"value":"x"}`)
    assert.isTrue(isFieldSet(command, CommandInfoSchema.field.shell))
    assert.isFalse(isFieldSet(parseOk(CommandInfoSchema, `{"value":"x"}`), CommandInfoSchema.field.shell))
  })

  it("repeated fields are arrays; like the agent, a single item is taken as one element and null items skipped", () => {
    const command = create(CommandInfoSchema, { shell: false, value: "/bin/echo", arguments: ["/bin/echo", "hi"] })
    expect(JSON.parse(stringifyOk(CommandInfoSchema, command))).toStrictEqual({
      shell: false,
      value: "/bin/echo",
      arguments: ["/bin/echo", "hi"]
    })
    assert.deepStrictEqual(parseOk(CommandInfoSchema, `{"arguments":"solo"}`).arguments, ["solo"])
    assert.deepStrictEqual(parseOk(CommandInfoSchema, `{"arguments":["a",null,"b"]}`).arguments, ["a", "b"])
    assert.deepStrictEqual(parseOk(CommandInfoSchema, `{"arguments":[]}`).arguments, [])
    const task = parseOk(TaskInfoSchema, `{"resources":{"name":"cpus","type":"SCALAR"}}`)
    assert.strictEqual(task.resources[0]?.name, "cpus")
  })

  it("a long map key is quoted in the path as in messages: its start and its length", () => {
    const key = "k".repeat(200)
    assert.strictEqual(
      parseError(TaskInfoSchema, `{"limits":{"${key}":7}}`).path,
      `limits["${"k".repeat(64)}"… (200 chars)]`
    )
  })

  it("writes a map key cut inside a surrogate pair with U+FFFD, as string values, so it reads back", () => {
    const task = create(TaskInfoSchema, { limits: { ["cpus \u{1F642}".slice(0, -1)]: { value: 1 } } })
    assert.deepStrictEqual(Object.keys(parseOk(TaskInfoSchema, stringifyOk(TaskInfoSchema, task)).limits), ["cpus \uFFFD"])
  })

  it("maps are JSON objects", () => {
    const task = parseOk(TaskInfoSchema, `{"limits":{"cpus":{"value":1.5},"mem":{"value":"64"}}}`)
    assert.strictEqual(task.limits["cpus"]?.value, 1.5)
    assert.strictEqual(task.limits["mem"]?.value, 64)
    expect(JSON.parse(stringifyOk(TaskInfoSchema, task))).toStrictEqual({
      limits: { cpus: { value: 1.5 }, mem: { value: 64 } }
    })
  })
})

// A proto2 schema with the field kinds the Mesos executor messages do not have.
const sampleRegistry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "sample.proto",
    package: "sample",
    syntax: "proto2",
    enumType: [{
      name: "Color",
      value: [{ name: "RED", number: 0 }, { name: "GREEN", number: 1 }, { name: "BLUE", number: 2 }]
    }],
    messageType: [{
      name: "Sample",
      field: [
        field("colors", 1, Label.REPEATED, Type.ENUM, ".sample.Color"),
        { ...field("tint", 2, Label.OPTIONAL, Type.ENUM, ".sample.Color"), defaultValue: "BLUE" },
        field("by_number", 3, Label.REPEATED, Type.MESSAGE, ".sample.Sample.ByNumberEntry"),
        field("by_flag", 4, Label.REPEATED, Type.MESSAGE, ".sample.Sample.ByFlagEntry"),
        field("color_by_name", 5, Label.REPEATED, Type.MESSAGE, ".sample.Sample.ColorByNameEntry"),
        field("ratio", 6, Label.OPTIONAL, Type.FLOAT),
        field("zigzag", 7, Label.OPTIONAL, Type.SINT64),
        field("fixed", 8, Label.OPTIONAL, Type.FIXED64),
        field("signed_fixed", 9, Label.OPTIONAL, Type.SFIXED64),
        field("sizes", 10, Label.REPEATED, Type.UINT64),
        { ...field("text", 11, Label.OPTIONAL, Type.STRING), oneofIndex: 0 },
        { ...field("number", 12, Label.OPTIONAL, Type.INT32), oneofIndex: 0 },
        field("blobs", 13, Label.REPEATED, Type.BYTES)
      ],
      oneofDecl: [{ name: "choice" }],
      nestedType: [
        mapEntry("ByNumberEntry", field("value", 2, Label.OPTIONAL, Type.STRING), Type.INT32),
        mapEntry("ByFlagEntry", field("value", 2, Label.OPTIONAL, Type.MESSAGE, ".sample.Sample"), Type.BOOL),
        mapEntry("ColorByNameEntry", field("value", 2, Label.OPTIONAL, Type.ENUM, ".sample.Color"), Type.STRING)
      ]
    }]
  }),
  () => undefined
)

function field(name: string, number: number, label: Label, type: Type, typeName?: string) {
  return { name, number, label, type, ...(typeName === undefined ? {} : { typeName }) }
}

function mapEntry(name: string, value: ReturnType<typeof field>, keyType: Type) {
  return { name, field: [field("key", 1, Label.OPTIONAL, keyType), value], options: { mapEntry: true } }
}

const SampleSchema = sampleRegistry.getMessage("sample.Sample")!
const sample = (text: string) => parseOk(SampleSchema, text) as Record<string, unknown>

describe("MesosJson: field kinds beyond the executor messages", () => {
  it("a repeated enum drops the names it does not know", () => {
    expect(sample(`{"colors":["GREEN","PURPLE","BLUE"]}`).colors).toEqual([1, 2])
    expect(parseError(SampleSchema, `{"colors":["GREEN",2]}`).path).toBe("colors[1]")
  })

  it("an unset enum with a default is written as its default's name", () => {
    expect(stringifyOk(SampleSchema, create(SampleSchema))).toBe(`{"tint":"BLUE"}`)
    expect(sample(`{"tint":"RED"}`).tint).toBe(0)
  })

  it("map keys other than strings are their text", () => {
    const message = sample(
      `{"by_number":{"7":"seven","-1":"minus one"},"by_flag":{"true":{"text":"yes"},"false":null}}`
    )
    expect(message["byNumber"]).toEqual({ "7": "seven", "-1": "minus one" })
    const text = stringifyOk(SampleSchema, message as MessageShape<typeof SampleSchema>)
    expect(JSON.parse(text)).toStrictEqual({
      tint: "BLUE",
      by_number: { "7": "seven", "-1": "minus one" },
      by_flag: { true: { text: "yes", tint: "BLUE" }, false: { tint: "BLUE" } }
    })
    expect(parseError(SampleSchema, `{"by_number":{"seven":"7"}}`).message).toBe(
      `field 'by_number["seven"]': expected a number (int32), got the string "seven", which is not a number`
    )
    expect(parseError(SampleSchema, `{"by_flag":{"yes":{}}}`).path).toBe(`by_flag["yes"]`)
  })

  it("a map value with an unknown enum name gets the enum's default, as a protobuf entry without a value", () => {
    expect(sample(`{"color_by_name":{"sky":"BLUE","lava":"MAGMA"}}`)["colorByName"]).toEqual({ sky: 2, lava: 0 })
  })

  it("a oneof member is read and written by its own name", () => {
    const message = sample(`{"number":42}`)
    expect(message.choice).toEqual({ case: "number", value: 42 })
    expect(JSON.parse(stringifyOk(SampleSchema, message as MessageShape<typeof SampleSchema>))).toStrictEqual({
      tint: "BLUE",
      number: 42
    })
  })

  it("floats, the other 64-bit encodings, repeated 64-bit and repeated bytes", () => {
    const text =
      `{"ratio":0.1,"zigzag":-9223372036854775808,"fixed":"18446744073709551615","signed_fixed":-1,` +
      `"sizes":[1,"18446744073709551615"],"blobs":["AAE=","/w"]}`
    const message = sample(text)
    expect(message.ratio).toBe(Math.fround(0.1))
    expect(message.zigzag).toBe(INT64_MIN)
    expect(message.fixed).toBe(UINT64_MAX)
    expect(message.signedFixed).toBe(-1n)
    expect(message.sizes).toEqual([1n, UINT64_MAX])
    expect(message.blobs).toEqual([new Uint8Array([0, 1]), new Uint8Array([0xff])])
    expect(stringifyOk(SampleSchema, message as MessageShape<typeof SampleSchema>)).toBe(
      `{"tint":"BLUE","ratio":0.10000000149011612,"zigzag":-9223372036854775808,"fixed":18446744073709551615,` +
        `"signed_fixed":-1,"sizes":[1,18446744073709551615],"blobs":["AAE=","/w=="]}`
    )
  })
})
