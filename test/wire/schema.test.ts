// The generated wire code must be the official Mesos v1 schema, field for field: a wrong number,
// label, type or default means bytes a real agent reads differently. This walks the descriptors the
// generated code runs on and compares them with the schema facts (../shared/mesos/schema.json).
import { readFileSync } from "node:fs"
import {
  create,
  createRegistry,
  isFieldSet,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage
} from "@bufbuild/protobuf"
import { Edition, FeatureSet_FieldPresence, FieldDescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { describe, expect, it } from "vitest"
import { file_mesos_v1_executor_executor } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { file_mesos_v1_mesos } from "../../src/gen/mesos/v1/mesos_pb.js"

interface FieldFacts {
  readonly name: string
  readonly number: number
  readonly label: string
  readonly type: string
  readonly type_name?: string | undefined
  readonly default?: string | undefined
  readonly deprecated?: boolean | undefined
  readonly packed?: boolean | undefined
  readonly oneof?: string | undefined
}

interface MessageFacts {
  readonly file: string
  readonly fields: ReadonlyArray<FieldFacts>
  readonly oneofs?: ReadonlyArray<string> | undefined
  readonly map_entry?: boolean | undefined
}

interface EnumFacts {
  readonly file: string
  readonly values: Readonly<Record<string, number>>
}

interface Facts {
  readonly messages: Readonly<Record<string, MessageFacts>>
  readonly enums: Readonly<Record<string, EnumFacts>>
}

type Writable<T> = T extends ReadonlyArray<infer Element> ? Array<Writable<Element>>
  : T extends object ? { -readonly [Key in keyof T]: Writable<T[Key]> }
  : T
type WritableFacts = Writable<Facts>

const schemaFacts: Facts = JSON.parse(
  readFileSync(new URL("../../../shared/mesos/schema.json", import.meta.url), "utf8")
)

const generatedFiles = [file_mesos_v1_mesos, file_mesos_v1_executor_executor]

// ---------------------------------------------------------------------------------------------
// The generated descriptors, read back into the shape of schema.json

const scalarName = (scalar: ScalarType) => ScalarType[scalar].toLowerCase()

function fieldType(field: DescField): Pick<FieldFacts, "type" | "type_name"> {
  if (field.fieldKind === "map") return { type: "message", type_name: mapEntryName(field) }
  if (field.message !== undefined) {
    return { type: field.delimitedEncoding ? "group" : "message", type_name: field.message.typeName }
  }
  if (field.enum !== undefined) return { type: "enum", type_name: field.enum.typeName }
  return { type: scalarName(field.scalar) }
}

/** The entry message of a map field, which the runtime only keeps in the raw descriptor. */
const mapEntryName = (field: DescField) => field.proto.typeName.replace(/^\./, "")

function fieldFacts(field: DescField): FieldFacts {
  return {
    name: field.name,
    number: field.number,
    label: field.fieldKind === "list" || field.fieldKind === "map"
      ? "repeated"
      : field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED
      ? "required"
      : "optional",
    ...fieldType(field),
    default: isFieldSet(field.proto, FieldDescriptorProtoSchema.field.defaultValue) ? field.proto.defaultValue : undefined,
    deprecated: field.deprecated,
    packed: field.fieldKind === "list" && field.packed,
    oneof: field.oneof?.name
  }
}

/** `map<K, V>` always compiles to an entry message `optional K key = 1; optional V value = 2;`. */
function mapEntryFacts(field: DescField & { fieldKind: "map" }): MessageFacts {
  const value: Pick<FieldFacts, "type" | "type_name"> = field.mapKind === "scalar"
    ? { type: scalarName(field.scalar) }
    : field.mapKind === "enum"
    ? { type: "enum", type_name: field.enum.typeName }
    : { type: "message", type_name: field.message.typeName }
  return {
    file: field.parent.file.proto.name,
    fields: [
      { name: "key", number: 1, label: "optional", type: scalarName(field.mapKey) },
      { name: "value", number: 2, label: "optional", ...value }
    ],
    map_entry: true
  }
}

function generatedFacts(files: ReadonlyArray<DescFile>): Facts {
  const messages: Record<string, MessageFacts> = {}
  const enums: Record<string, EnumFacts> = {}
  const addEnum = (desc: DescEnum) => {
    enums[desc.typeName] = {
      file: desc.file.proto.name,
      values: Object.fromEntries(desc.values.map((value) => [value.name, value.number]))
    }
  }
  const addMessage = (desc: DescMessage) => {
    messages[desc.typeName] = {
      file: desc.file.proto.name,
      fields: desc.fields.map(fieldFacts),
      oneofs: desc.oneofs.map((oneof) => oneof.name)
    }
    for (const field of desc.fields) {
      if (field.fieldKind === "map") messages[mapEntryName(field)] = mapEntryFacts(field)
    }
    desc.nestedEnums.forEach(addEnum)
    desc.nestedMessages.forEach(addMessage)
  }
  for (const file of files) {
    file.enums.forEach(addEnum)
    file.messages.forEach(addMessage)
  }
  return { messages, enums }
}

// ---------------------------------------------------------------------------------------------
// Comparison: every difference as one line naming the message, field or enum

const show = (value: unknown) => (value === undefined ? "(none)" : JSON.stringify(value))

/** Each compared attribute, with what an absent key in schema.json means. */
const fieldAttributes: Record<string, (field: FieldFacts) => unknown> = {
  name: (field) => field.name,
  number: (field) => field.number,
  label: (field) => field.label,
  type: (field) => field.type,
  type_name: (field) => field.type_name,
  default: (field) => field.default,
  deprecated: (field) => field.deprecated ?? false,
  packed: (field) => field.packed ?? false,
  oneof: (field) => field.oneof
}
const messageKeys = ["file", "fields", "oneofs", "map_entry"]
const enumKeys = ["file", "values"]

function uncomparedKeys(what: string, facts: object, compared: ReadonlyArray<string>): Array<string> {
  return Object.keys(facts)
    .filter((key) => !compared.includes(key))
    .map((key) => `${what}: schema.json has key "${key}", which this test does not compare`)
}

function fieldDifferences(owner: string, expected: ReadonlyArray<FieldFacts>, actual: ReadonlyArray<FieldFacts>) {
  const differences: Array<string> = []
  const actualByName = new Map(actual.map((field) => [field.name, field]))
  for (const expectedField of expected) {
    const where = `field ${owner}.${expectedField.name}`
    differences.push(...uncomparedKeys(where, expectedField, Object.keys(fieldAttributes)))
    const actualField = actualByName.get(expectedField.name)
    if (actualField === undefined) {
      differences.push(`${where}: missing from the generated code`)
      continue
    }
    for (const [attribute, read] of Object.entries(fieldAttributes)) {
      const [want, got] = [read(expectedField), read(actualField)]
      if (want !== got) differences.push(`${where}: ${attribute}: expected ${show(want)}, got ${show(got)}`)
    }
  }
  const expectedNames = new Set(expected.map((field) => field.name))
  for (const field of actual) {
    if (!expectedNames.has(field.name)) differences.push(`field ${owner}.${field.name}: generated, but not in schema.json`)
  }
  return differences
}

/** Whether the facts hold types nested in `name`: then `name` must exist, if only as a namespace. */
function isNamespaceOf(name: string, facts: Facts): boolean {
  const isNested = (other: string) => other.startsWith(`${name}.`)
  return Object.keys(facts.messages).some(isNested) || Object.keys(facts.enums).some(isNested)
}

function messageDifferences(expected: Facts, actual: Facts): Array<string> {
  const differences: Array<string> = []
  for (const [name, want] of Object.entries(expected.messages)) {
    differences.push(...uncomparedKeys(`message ${name}`, want, messageKeys))
    const got = actual.messages[name]
    if (got === undefined) {
      differences.push(`message ${name}: missing from the generated code`)
      continue
    }
    if (want.file !== got.file) differences.push(`message ${name}: file: expected ${show(want.file)}, got ${show(got.file)}`)
    const [wantOneofs, gotOneofs] = [want.oneofs ?? [], got.oneofs ?? []]
    if (wantOneofs.join() !== gotOneofs.join()) {
      differences.push(`message ${name}: oneofs: expected ${show(wantOneofs)}, got ${show(gotOneofs)}`)
    }
    if ((want.map_entry ?? false) !== (got.map_entry ?? false)) {
      differences.push(`message ${name}: map_entry: expected ${want.map_entry ?? false}, got ${got.map_entry ?? false}`)
    }
    differences.push(...fieldDifferences(name, want.fields, got.fields))
  }
  for (const [name, message] of Object.entries(actual.messages)) {
    if (expected.messages[name] !== undefined) continue
    if (!isNamespaceOf(name, expected)) {
      differences.push(`message ${name}: generated, but not in schema.json`)
    } else if (message.fields.length > 0 || (message.oneofs ?? []).length > 0) {
      // The facts hold mesos.v1.Value.Scalar, say, but not mesos.v1.Value itself.
      differences.push(`message ${name}: only a namespace in schema.json, but generated with fields`)
    }
  }
  return differences
}

function enumDifferences(expected: Facts, actual: Facts): Array<string> {
  const differences: Array<string> = []
  for (const [name, want] of Object.entries(expected.enums)) {
    differences.push(...uncomparedKeys(`enum ${name}`, want, enumKeys))
    const got = actual.enums[name]
    if (got === undefined) {
      differences.push(`enum ${name}: missing from the generated code`)
      continue
    }
    if (want.file !== got.file) differences.push(`enum ${name}: file: expected ${show(want.file)}, got ${show(got.file)}`)
    for (const [value, number] of Object.entries(want.values)) {
      const gotNumber = got.values[value]
      if (gotNumber === undefined) differences.push(`enum ${name}: value ${value} = ${number} is missing`)
      else if (gotNumber !== number) differences.push(`enum ${name}: value ${value}: expected ${number}, got ${gotNumber}`)
    }
    for (const [value, number] of Object.entries(got.values)) {
      if (!Object.hasOwn(want.values, value)) differences.push(`enum ${name}: value ${value} = ${number} is not in schema.json`)
    }
    const [wantOrder, gotOrder] = [Object.keys(want.values), Object.keys(got.values)]
    if (wantOrder.join() !== gotOrder.join()) {
      differences.push(
        `enum ${name}: values declared as ${gotOrder.join(", ")}; expected ${wantOrder.join(", ")} ` +
          "(an unset proto2 enum field reads as the first)"
      )
    }
  }
  for (const name of Object.keys(actual.enums)) {
    if (expected.enums[name] === undefined) differences.push(`enum ${name}: generated, but not in schema.json`)
  }
  return differences
}

// ---------------------------------------------------------------------------------------------

/** What a field with `[default = text]` should read as on a freshly created message. */
function defaultValue(field: FieldFacts, text: string): unknown {
  switch (field.type) {
    case "string":
      return text
    case "bool":
      return text === "true"
    case "enum":
      return schemaFacts.enums[field.type_name ?? ""]?.values[text]
    case "double":
    case "float":
      return text === "inf" ? Infinity : text === "-inf" ? -Infinity : Number(text)
    case "int32":
    case "uint32":
    case "sint32":
    case "fixed32":
    case "sfixed32":
      return Number(text)
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
    case "sfixed64":
      return BigInt(text)
    default:
      throw new Error(`${field.name}: no expectation for a ${field.type} default`)
  }
}

describe("generated wire schema", () => {
  const generated = generatedFacts(generatedFiles)

  it("has the two official files, proto2, executor.proto importing mesos.proto", () => {
    expect(generatedFiles.map((file) => [file.proto.name, file.proto.package, file.edition])).toEqual([
      ["mesos/v1/mesos.proto", "mesos.v1", Edition.EDITION_PROTO2],
      ["mesos/v1/executor/executor.proto", "mesos.v1.executor", Edition.EDITION_PROTO2]
    ])
    expect(file_mesos_v1_executor_executor.dependencies).toEqual([file_mesos_v1_mesos])
  })

  it("has every message of schema.json, field for field, and no other", () => {
    expect(Object.keys(schemaFacts.messages)).toContain("mesos.v1.executor.Call")
    expect(messageDifferences(schemaFacts, generated)).toEqual([])
  })

  it("has every enum of schema.json, value for value in declaration order, and no other", () => {
    expect(Object.keys(schemaFacts.enums)).toContain("mesos.v1.executor.Event.Type")
    expect(enumDifferences(schemaFacts, generated)).toEqual([])
  })

  it("reads unset fields as their explicit [default = ...]", () => {
    const registry = createRegistry(...generatedFiles)
    const withDefaults = Object.entries(schemaFacts.messages).flatMap(([name, message]) =>
      message.fields.flatMap((field) => (field.default === undefined ? [] : [{ name, field, text: field.default }]))
    )
    expect(withDefaults.length).toBeGreaterThan(0)
    for (const { name, field, text } of withDefaults) {
      const desc = registry.getMessage(name)
      const generatedField = desc?.fields.find((candidate) => candidate.name === field.name)
      expect(generatedField, `${name}.${field.name}`).toBeDefined()
      const fresh = create(desc!) as unknown as Record<string, unknown>
      expect(fresh[generatedField!.localName], `${name}.${field.name} [default = ${text}]`).toBe(defaultValue(field, text))
    }
  })

  // The comparison itself must notice each kind of change: these mutate a copy of the facts and
  // expect exactly one new, precise difference against the same generated code.
  describe("reports a difference from schema.json", () => {
    const messageOf = (facts: WritableFacts, name: string) => {
      const message = facts.messages[name]
      if (message === undefined) throw new Error(`no message ${name} in schema.json`)
      return message
    }
    const fieldOf = (facts: WritableFacts, message: string, name: string) => {
      const field = messageOf(facts, message).fields.find((candidate) => candidate.name === name)
      if (field === undefined) throw new Error(`no field ${message}.${name} in schema.json`)
      return field
    }
    const taskStates = (facts: WritableFacts) => facts.enums["mesos.v1.TaskState"]!

    const cases: Array<{ change: string; mutate: (facts: WritableFacts) => void; report: unknown }> = [
      {
        change: "a field number",
        mutate: (facts) => void (fieldOf(facts, "mesos.v1.executor.Call.Message", "data").number = 1),
        report: "field mesos.v1.executor.Call.Message.data: number: expected 1, got 2"
      },
      {
        change: "a label",
        mutate: (facts) => void (fieldOf(facts, "mesos.v1.executor.Event", "type").label = "required"),
        report: `field mesos.v1.executor.Event.type: label: expected "required", got "optional"`
      },
      {
        change: "a type",
        mutate: (facts) => void (fieldOf(facts, "mesos.v1.TaskStatus", "uuid").type = "string"),
        report: `field mesos.v1.TaskStatus.uuid: type: expected "string", got "bytes"`
      },
      {
        change: "a default",
        mutate: (facts) => void (fieldOf(facts, "mesos.v1.CommandInfo", "shell").default = "false"),
        report: `field mesos.v1.CommandInfo.shell: default: expected "false", got "true"`
      },
      {
        change: "deprecation",
        mutate: (facts) => void delete fieldOf(facts, "mesos.v1.Resource", "role").deprecated,
        report: "field mesos.v1.Resource.role: deprecated: expected false, got true"
      },
      {
        change: "a map value type",
        mutate: (facts) => void (fieldOf(facts, "mesos.v1.TaskInfo.LimitsEntry", "value").type_name = "mesos.v1.Value.Text"),
        report: `field mesos.v1.TaskInfo.LimitsEntry.value: type_name: expected "mesos.v1.Value.Text", got "mesos.v1.Value.Scalar"`
      },
      {
        change: "a oneof",
        mutate: (facts) => void delete fieldOf(facts, "mesos.v1.Volume.Source.CSIVolume.VolumeCapability", "mount").oneof,
        report: `field mesos.v1.Volume.Source.CSIVolume.VolumeCapability.mount: oneof: expected (none), got "access_type"`
      },
      {
        change: "a removed field",
        mutate: (facts) => void (messageOf(facts, "mesos.v1.KillPolicy").fields = []),
        report: "field mesos.v1.KillPolicy.grace_period: generated, but not in schema.json"
      },
      {
        change: "a removed message",
        mutate: (facts) => void delete facts.messages["mesos.v1.executor.Event.Error"],
        report: "message mesos.v1.executor.Event.Error: generated, but not in schema.json"
      },
      {
        change: "a file",
        mutate: (facts) => void (messageOf(facts, "mesos.v1.TaskID").file = "mesos/v1/executor/executor.proto"),
        report: `message mesos.v1.TaskID: file: expected "mesos/v1/executor/executor.proto", got "mesos/v1/mesos.proto"`
      },
      {
        change: "an enum value number",
        mutate: (facts) => void (taskStates(facts).values["TASK_RUNNING"] = 2),
        report: "enum mesos.v1.TaskState: value TASK_RUNNING: expected 2, got 1"
      },
      {
        change: "enum declaration order",
        mutate: (facts) => {
          const { TASK_STAGING, ...others } = taskStates(facts).values
          taskStates(facts).values = { ...others, TASK_STAGING: TASK_STAGING! }
        },
        report: expect.stringMatching(
          /^enum mesos\.v1\.TaskState: values declared as TASK_STAGING, TASK_STARTING, .*; expected TASK_STARTING, .*, TASK_STAGING /
        )
      },
      {
        change: "a key the test does not know",
        mutate: (facts) => void Object.assign(fieldOf(facts, "mesos.v1.TaskID", "value"), { json_name: "id" }),
        report: `field mesos.v1.TaskID.value: schema.json has key "json_name", which this test does not compare`
      }
    ]

    const differences = (facts: Facts) => [...messageDifferences(facts, generated), ...enumDifferences(facts, generated)]
    const unmutated = differences(schemaFacts)

    it.each(cases)("$change", ({ mutate, report }) => {
      const facts = structuredClone(schemaFacts) as WritableFacts
      mutate(facts)
      expect(differences(facts).filter((difference) => !unmutated.includes(difference))).toEqual([report])
    })
  })
})
