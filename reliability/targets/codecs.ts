// WireCodec.protobuf / WireCodec.json (decodeCall, decodeEvent, AgentEvent.decode, encodeCall) and
// MesosJson.fromJsonValue against arbitrary bytes, mutated golden vectors, Mesos-shaped JSON values and
// typed Calls.
import { create, type DescField, type DescMessage } from "@bufbuild/protobuf"
import { Result } from "effect"
import { AgentEvent, MesosExecutor, MesosJson, WireCodec } from "effect-mesos-executor"
import * as fc from "fast-check"
import { readdirSync, readFileSync } from "node:fs"
import { allFieldNames, callInit, type InitOptions, shapedMessage, stringifyJson } from "../arbitraries.ts"
import { firstProblem, isResult, messageMentions, messageProblem } from "../messages.ts"
import { messageShape, type Tally, type Target } from "../runner.ts"

const { CallSchema, EventSchema } = MesosExecutor
const codecs = [WireCodec.protobuf, WireCodec.json] as const
const utf8 = new TextEncoder()

const agentEventTags = new Set([
  "Subscribed", "Launch", "LaunchGroup", "Kill", "Acknowledged", "Message", "Error", "Shutdown", "Heartbeat", "Unknown"
])

// --- golden vectors ---------------------------------------------------------------------------------

export const loadVectors = (directory: URL) => {
  const names = readdirSync(directory).sort()
  const read = (extension: string) =>
    names.filter((name) => name.endsWith(extension)).map((name) => ({
      name,
      bytes: new Uint8Array(readFileSync(new URL(name, directory)))
    }))
  const binary = read(".bin")
  const json = read(".json")
  if (binary.length === 0 || json.length === 0) throw new Error(`no golden vectors in ${directory.pathname}`)
  return { binary, json }
}

type Vector = { readonly name: string; readonly bytes: Uint8Array }

// --- mutations --------------------------------------------------------------------------------------

interface Mutation {
  readonly kind: "flip" | "set" | "insert" | "delete" | "duplicate" | "truncate"
  readonly at: number
  readonly value: number
  readonly length: number
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("flip", "set", "insert", "delete", "duplicate", "truncate"),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  value: fc.integer({ min: 0, max: 255 }),
  length: fc.integer({ min: 1, max: 16 })
})

const mutate = (original: Uint8Array, mutations: ReadonlyArray<Mutation>): Uint8Array => {
  let bytes = original.slice()
  for (const { at, kind, length, value } of mutations) {
    const i = Math.min(bytes.length, Math.floor(at * bytes.length))
    const before = bytes.subarray(0, i)
    switch (kind) {
      case "flip":
        if (i < bytes.length) bytes[i] = bytes[i]! ^ (1 << (value % 8))
        break
      case "set":
        if (i < bytes.length) bytes[i] = value
        break
      case "insert":
        bytes = Uint8Array.from([...before, ...Array.from({ length }, (_, k) => (value + k * 37) & 0xff), ...bytes.subarray(i)])
        break
      case "delete":
        bytes = Uint8Array.from([...before, ...bytes.subarray(i + length)])
        break
      case "duplicate":
        bytes = Uint8Array.from([...bytes.subarray(0, i + length), ...bytes.subarray(i)])
        break
      case "truncate":
        bytes = bytes.slice(0, i)
        break
    }
  }
  return bytes
}

const mutatedVector = (vectors: ReadonlyArray<Vector>) =>
  fc.record({
    vector: fc.constantFrom(...vectors),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 4 })
  }).map(({ mutations, vector }) => ({ name: vector.name, mutations, bytes: mutate(vector.bytes, mutations) }))

/** Structural mutations of a JSON document: a value replaced, removed, wrapped or nulled at a random path. */
interface JsonEdit {
  readonly path: ReadonlyArray<number>
  readonly op: "replace" | "delete" | "wrap" | "null" | "stringify" | "rename"
  readonly replacement: unknown
  readonly name: string
}

const jsonEdit = (names: ReadonlyArray<string>): fc.Arbitrary<JsonEdit> =>
  fc.record({
    path: fc.array(fc.nat(), { maxLength: 8 }),
    op: fc.constantFrom("replace", "delete", "wrap", "null", "stringify", "rename"),
    replacement: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })),
    name: fc.constantFrom(...names)
  })

const applyEdit = (document: unknown, { name, op, path, replacement }: JsonEdit): unknown => {
  const root = { value: structuredClone(document) } as Record<string, unknown>
  let parent: Record<string, unknown> | Array<unknown> = root
  let key: string | number = "value"
  for (const choice of path) {
    const node: unknown = (parent as Record<string | number, unknown>)[key]
    if (typeof node !== "object" || node === null) break
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)
    if (keys.length === 0) break
    parent = node as Record<string, unknown>
    key = keys[choice % keys.length]!
  }
  const target = parent as Record<string | number, unknown>
  switch (op) {
    case "replace":
      target[key] = replacement
      break
    case "delete":
      if (Array.isArray(target)) target.splice(key as number, 1)
      else delete target[key]
      break
    case "wrap":
      target[key] = [target[key]]
      break
    case "null":
      target[key] = null
      break
    case "stringify":
      target[key] = stringifyJson(target[key])
      break
    case "rename":
      if (!Array.isArray(target) && typeof key === "string" && parent !== root) {
        target[name] = target[key]
        delete target[key]
      }
      break
  }
  return root.value
}

// --- checking a decode --------------------------------------------------------------------------------

/**
 * Whether a decode error's detail says where: for JSON a field, or a problem of the document as a whole;
 * for protobuf the field (or tag, or unknown field) being read and its byte offset out of the length.
 */
const locates = (error: WireCodec.WireDecodeError, json: boolean): boolean =>
  json
    ? /position \d+|field '|expected a JSON object|is not valid JSON|end of JSON input|nested deeper than/.test(error.detail)
    : new RegExp(`(from|at) byte ${error.offset} of ${error.byteLength}\\b`).test(error.detail)

const checkDecodeError = (
  error: WireCodec.WireDecodeError,
  codec: WireCodec.WireCodec,
  messageType: string,
  bytes: Uint8Array
): string | undefined => {
  const thrown = error as unknown
  if (!(thrown instanceof WireCodec.WireDecodeError) || error._tag !== "WireDecodeError") {
    return `rejected with ${String(thrown)}, not a WireDecodeError`
  }
  const json = codec === WireCodec.json
  const schema = messageType === CallSchema.typeName ? CallSchema : EventSchema
  return firstProblem(
    () => (error.contentType !== codec.contentType ? `contentType ${error.contentType}` : undefined),
    () => (error.messageType !== messageType ? `messageType ${error.messageType}, expected ${messageType}` : undefined),
    () => (error.byteLength !== bytes.length ? `byteLength ${error.byteLength}, the body has ${bytes.length}` : undefined),
    () => (error.detail.trim() === "" ? "empty detail" : undefined),
    () =>
      // A tag can be looked for at the very end: when a length prefix claims more bytes than there are.
      error.offset !== undefined && !(error.offset >= 0 && error.offset <= bytes.length)
        ? `offset ${error.offset} is outside the ${bytes.length} bytes`
        : undefined,
    () =>
      error.field !== undefined && !pathInSchema(schema, error.field)
        ? `field '${error.field}' is not a field path of ${messageType}`
        : undefined,
    () => (json || error.offset !== undefined ? undefined : `no offset for a protobuf error: ${error.message}`),
    () =>
      messageMentions(error.message, [messageType, codec.contentType, ...(error.field === undefined ? [] : [`'${error.field}'`])]),
    // MesosJson names the field of every problem, or the document-level problem; the protobuf codec
    // names the field (tag, unknown field) being read and its offset.
    () => (locates(error, json) ? undefined : `the message does not say where: ${error.message}`)
  )
}

/** decodeCall, decodeEvent and AgentEvent.decode of `bytes` with `codec`: Results, typed errors, good messages. */
export const checkDecodes = (codec: WireCodec.WireCodec, bytes: Uint8Array, tally: Tally): string | undefined => {
  const call = codec.decodeCall(bytes)
  if (!isResult(call)) return `decodeCall returned ${String(call)}`
  if (Result.isFailure(call)) {
    const problem = checkDecodeError(call.failure, codec, CallSchema.typeName, bytes)
    if (problem !== undefined) return `decodeCall: ${problem}`
  } else {
    // What decodes is a Call: encoding it again gives a Result too.
    const again = codec.encodeCall(call.success)
    if (!isResult(again)) return `encodeCall of a decoded call returned ${String(again)}`
    if (Result.isFailure(again)) {
      const problem = messageProblem(again.failure.message)
      if (problem !== undefined) return `encodeCall of a decoded call: ${problem}`
    }
  }
  const event = codec.decodeEvent(bytes)
  if (!isResult(event)) return `decodeEvent returned ${String(event)}`
  if (Result.isFailure(event)) {
    const problem = checkDecodeError(event.failure, codec, EventSchema.typeName, bytes)
    if (problem !== undefined) return `decodeEvent: ${problem}`
  }
  const agentEvent = AgentEvent.decode(codec, bytes)
  if (!isResult(agentEvent)) return `AgentEvent.decode returned ${String(agentEvent)}`
  if (agentEvent._tag !== event._tag) return `AgentEvent.decode gave ${agentEvent._tag}, decodeEvent ${event._tag}`
  if (Result.isSuccess(agentEvent)) {
    const tag = agentEvent.success._tag
    if (!agentEventTags.has(tag)) return `AgentEvent.decode gave an event tagged ${String(tag)}`
    tally.count(`${codec === WireCodec.json ? "json" : "protobuf"} event ${tag}`)
  } else {
    tally.count(`${codec === WireCodec.json ? "json" : "protobuf"} rejected`)
  }
  return undefined
}

// --- protobuf ---------------------------------------------------------------------------------------

const varint = (value: bigint): Array<number> => {
  const bytes: Array<number> = []
  let n = BigInt.asUintN(64, value)
  do {
    const low = Number(n & 0x7fn)
    n >>= 7n
    bytes.push(n > 0n ? low | 0x80 : low)
  } while (n > 0n)
  return bytes
}

/** Tags of known field numbers with any wire type, varints (some overlong), length prefixes that lie. */
const protobufish: fc.Arbitrary<Uint8Array> = fc.array(
  fc.oneof(
    fc.record({ no: fc.integer({ min: 1, max: 20 }), wire: fc.integer({ min: 0, max: 7 }) }).map(({ no, wire }) =>
      varint(BigInt((no << 3) | wire))
    ),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(varint),
    fc.constant([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    fc.record({ no: fc.integer({ min: 1, max: 20 }), body: fc.uint8Array({ maxLength: 24 }), lie: fc.integer({ min: -3, max: 3 }) })
      .map(({ body, lie, no }) => [...varint(BigInt((no << 3) | 2)), ...varint(BigInt(Math.max(0, body.length + lie))), ...body]),
    fc.uint8Array({ maxLength: 12 }).map((bytes) => [...bytes])
  ),
  { maxLength: 16 }
).map((parts) => Uint8Array.from(parts.flat()))

export const protobufArbitrary: Target<Uint8Array> = {
  name: "protobuf.arbitrary",
  description: "WireCodec.protobuf decodeCall/decodeEvent/AgentEvent.decode: arbitrary and protobuf-like bytes",
  arbitrary: fc.oneof(fc.uint8Array({ maxLength: 512 }), protobufish),
  check: (bytes, tally) => checkDecodes(WireCodec.protobuf, bytes, tally)
}

export const protobufMutated = (vectors: ReadonlyArray<Vector>): Target<{ name: string; bytes: Uint8Array }> => ({
  name: "protobuf.mutated",
  description: "WireCodec.protobuf decoders: golden .bin vectors with bytes flipped, set, inserted, deleted, duplicated, cut",
  arbitrary: mutatedVector(vectors),
  check: ({ bytes }, tally) => checkDecodes(WireCodec.protobuf, bytes, tally)
})

// --- JSON ---------------------------------------------------------------------------------------------

export const jsonArbitrary: Target<Uint8Array> = {
  name: "json.arbitrary",
  description: "WireCodec.json decoders: arbitrary bytes, arbitrary text, arbitrary JSON",
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 256 }),
    fc.string({ unit: "binary", maxLength: 64 }).map((text) => utf8.encode(text)),
    fc.jsonValue({ maxDepth: 4 }).map((value) => utf8.encode(JSON.stringify(value)))
  ),
  check: (bytes, tally) => checkDecodes(WireCodec.json, bytes, tally)
}

export const jsonMutated = (vectors: ReadonlyArray<Vector>): Target<{ name: string; bytes: Uint8Array }> => {
  const names = allFieldNames(EventSchema).concat(allFieldNames(CallSchema))
  const documents = vectors.map((vector) => ({ name: vector.name, document: JSON.parse(new TextDecoder().decode(vector.bytes)) }))
  const structural = fc.record({
    vector: fc.constantFrom(...documents),
    edits: fc.array(jsonEdit(names), { minLength: 1, maxLength: 4 })
  }).map(({ edits, vector }) => ({
    name: vector.name,
    bytes: utf8.encode(stringifyJson(edits.reduce(applyEdit, vector.document as unknown)))
  }))
  return {
    name: "json.mutated",
    description: "WireCodec.json decoders: golden .json vectors with byte mutations and structural edits " +
      "(values replaced, removed, wrapped in arrays, nulled, stringified, keys renamed)",
    arbitrary: fc.oneof({ weight: 1, arbitrary: mutatedVector(vectors) }, { weight: 2, arbitrary: structural }),
    check: ({ bytes }, tally) => checkDecodes(WireCodec.json, bytes, tally)
  }
}

/** Whether `path` (`update.status.uuid`, `resources[2].name`, `limits["cpus"]`) names fields of `desc`. */
export const pathInSchema = (desc: DescMessage, path: string): boolean => {
  let current: DescMessage | undefined = desc
  let indexable = false
  for (const [, name, index, key] of path.matchAll(/\.?([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*"(?:… \(\d+ chars\))?)\]/g)) {
    if (name !== undefined) {
      const field: DescField | undefined = current?.fields.find((candidate) => candidate.name === name)
      if (field === undefined) return false
      current = field.message
      indexable = field.fieldKind === "list" || field.fieldKind === "map"
    } else if ((index !== undefined || key !== undefined) && !indexable) {
      return false
    }
  }
  return true
}

const checkJsonError = (error: MesosJson.MesosJsonError, desc: DescMessage, tally: Tally): string | undefined => {
  const thrown = error as unknown
  if (!(thrown instanceof MesosJson.MesosJsonError)) return `rejected with ${String(thrown)}, not a MesosJsonError`
  if (error.path !== "") {
    if (!pathInSchema(desc, error.path)) return `the error names '${error.path}', which is not a field path of ${desc.typeName}`
    return messageMentions(error.message, [`field '${error.path}'`])
  }
  // Without a path, the problem must be the document as a whole.
  return messageProblem(error.message) ??
    (/^(expected a JSON object|not valid JSON: |objects and arrays nested deeper than \d+ levels$)/.test(error.message)
      ? undefined
      : `the error names no field, though the document is a JSON object: ${error.message}`)
}

/** fromJsonValue of the value, and the json codec on its text: the same verdict, typed errors naming fields. */
const checkShaped = (desc: DescMessage, value: unknown, tally: Tally): string | undefined => {
  const direct = MesosJson.fromJsonValue(desc, value)
  if (!isResult(direct)) return `fromJsonValue returned ${String(direct)}`
  if (Result.isFailure(direct)) {
    tally.count("fromJsonValue rejected")
    const problem = checkJsonError(direct.failure, desc, tally)
    if (problem !== undefined) return `fromJsonValue: ${problem}`
  } else {
    tally.count("fromJsonValue ok")
  }
  const bytes = utf8.encode(stringifyJson(value))
  const decoded: Result.Result<unknown, WireCodec.WireDecodeError> = desc === CallSchema
    ? WireCodec.json.decodeCall(bytes)
    : WireCodec.json.decodeEvent(bytes)
  if (!isResult(decoded)) return `decode returned ${String(decoded)}`
  if (decoded._tag !== direct._tag) {
    const why = Result.isFailure(decoded) ? decoded.failure.message : Result.isFailure(direct) ? direct.failure.message : ""
    return `fromJsonValue gave ${direct._tag}, decoding its JSON text ${decoded._tag}: ${why}`
  }
  return checkDecodes(WireCodec.json, bytes, tally)
}

export const jsonShaped: Target<{ schema: "Call" | "Event"; value: unknown }> = {
  name: "json.shaped",
  description: "MesosJson.fromJsonValue and WireCodec.json on JSON values shaped like Mesos JSON " +
    "(schema field names at every level, right and wrong kinds of values)",
  arbitrary: fc.oneof(
    shapedMessage(EventSchema).map((value) => ({ schema: "Event" as const, value })),
    shapedMessage(CallSchema).map((value) => ({ schema: "Call" as const, value }))
  ),
  check: ({ schema, value }, tally) => checkShaped(schema === "Call" ? CallSchema : EventSchema, value, tally)
}

/** fc.anything with the schema's keys: values no JSON parser gives (undefined, -0, NaN, Maps, boxed values ...). */
export const jsonAnything: Target<unknown> = {
  name: "json.anything",
  description: "MesosJson.fromJsonValue(Event) on fc.anything values keyed by the schema's field names",
  arbitrary: fc.anything({
    key: fc.oneof(fc.constantFrom(...allFieldNames(EventSchema)), fc.constantFrom("__proto__", "constructor", "")),
    maxDepth: 4,
    maxKeys: 5,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true
  }),
  check: (value, tally) => {
    const result = MesosJson.fromJsonValue(EventSchema, value)
    if (!isResult(result)) return `fromJsonValue returned ${String(result)}`
    if (Result.isSuccess(result)) {
      tally.count("ok")
      return undefined
    }
    tally.count("rejected")
    return checkJsonError(result.failure, EventSchema, tally)
  }
}

// --- encodeCall ------------------------------------------------------------------------------------

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

const checkEncode = (init: Record<string, unknown>, options: InitOptions, tally: Tally): string | undefined => {
  let call: MesosExecutor.Call
  try {
    call = create(CallSchema, init as never)
  } catch (error) {
    tally.count("init not accepted by create")
    return undefined
  }
  const missing = WireCodec.missingRequiredFields(CallSchema, call)
  for (const codec of codecs) {
    const name = codec === WireCodec.json ? "json" : "protobuf"
    const encoded = codec.encodeCall(call)
    if (!isResult(encoded)) return `${name} encodeCall returned ${String(encoded)}`
    if (Result.isFailure(encoded)) {
      const error = encoded.failure
      const thrown = error as unknown
      if (!(thrown instanceof WireCodec.WireEncodeError)) return `${name}: rejected with ${String(thrown)}`
      const problem = missing.length > 0
        ? JSON.stringify(error.missingFields) !== JSON.stringify(missing)
          ? `${name}: missingFields ${JSON.stringify(error.missingFields)}, expected ${JSON.stringify(missing)}`
          : messageMentions(error.message, [
            CallSchema.typeName,
            ...missing.slice(0, 8),
            ...(missing.length > 8 ? [`and ${missing.length - 8} more`] : [])
          ])
        : error.missingFields.length > 0
        ? `${name}: missingFields ${JSON.stringify(error.missingFields)} for a call with every required field`
        : messageMentions(error.message, [CallSchema.typeName])
      if (problem !== undefined) return problem
      if (missing.length === 0) {
        if (!/field '[^']+'|field mesos\.v1\.[\w.]+|invalid \w+: /.test(error.detail)) tally.weakMessage(error.message)
        tally.count(`${name} rejected: ${messageShape(error.detail).replace(/field '…'|field [\w.]+/, "field …")}`)
      } else {
        tally.count(`${name} rejected: missing required fields`)
      }
      continue
    }
    if (missing.length > 0) return `${name} encoded a call whose required fields ${missing.join(", ")} are unset`
    tally.count(`${name} encoded`)
    // What we write, we read back; and writing what we read gives the same bytes.
    const decoded = codec.decodeCall(encoded.success)
    if (!isResult(decoded) || Result.isFailure(decoded)) {
      return `${name} wrote a call its own decoder rejects: ${
        isResult(decoded) && Result.isFailure(decoded) ? decoded.failure.message : String(decoded)
      }`
    }
    if (!options.outOfRange) {
      const again = codec.encodeCall(decoded.success)
      if (!isResult(again) || Result.isFailure(again)) return `${name} cannot encode the call it decoded from its own bytes`
      if (!equalBytes(again.success, encoded.success)) return `${name}: encode(decode(encode(call))) differs from encode(call)`
    }
  }
  return undefined
}

export const encodeCall: Target<{ init: Record<string, unknown>; options: InitOptions }> = {
  name: "encode.call",
  description: "WireCodec.protobuf/json encodeCall on Calls built with create() from generated init objects " +
    "(random fields, required ones sometimes missing, values sometimes out of their field's range)",
  arbitrary: fc.record({ fillRequired: fc.boolean(), outOfRange: fc.boolean() }).chain((options) =>
    callInit(CallSchema, options).map((init) => ({ init, options }))
  ),
  check: ({ init, options }, tally) => checkEncode(init, options, tally)
}
