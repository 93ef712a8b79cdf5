/**
 * Mesos's own mapping between protobuf messages and JSON: the one the agent
 * uses for `application/json` bodies (stout's `protobuf.hpp`), generic over
 * any protobuf-es message descriptor. It is not proto3's canonical JSON
 * mapping:
 *
 * - keys are proto field names (`executor_id`); other keys, camelCase
 *   spellings included, are ignored on input;
 * - enums are their names; a JSON number is not accepted for an enum, and an
 *   unknown name unsets an optional field, drops a repeated element and is an
 *   error on a required field;
 * - bytes are standard base64 with padding;
 * - 64-bit integers are bare JSON numbers, written and read exactly;
 * - output includes unset optional fields that declare a `[default = ...]`
 *   (unless deprecated), as the agent writes them;
 * - on input, numbers may also be given as strings, booleans as
 *   `"true"`/`"false"`, doubles as `"Infinity"`/`"-Infinity"`; `null` leaves a
 *   field unset.
 *
 * Unknown fields of a message are not written. Required fields are neither
 * checked on output nor on input: that is the caller's decision.
 */
import { type DescEnum, type DescField, type DescMessage, type MessageShape, ScalarType } from "@bufbuild/protobuf"
import {
  reflect,
  type ReflectList,
  type ReflectMap,
  type ReflectMessage,
  scalarZeroValue,
  type ScalarValue
} from "@bufbuild/protobuf/reflect"
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt"
import { Result, Schema } from "effect"
import { abbreviate, quote } from "./Excerpt.js"

/** A JSON value in which a 64-bit integer may be a `bigint`, so it stays exact. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue }

/**
 * A message that cannot be written as Mesos JSON, or JSON that does not
 * describe the message. `path` names the field in proto field names
 * (`update.status.uuid`, `resources[2].name`, `limits["cpus"]`); it is empty
 * when the problem is the document as a whole.
 */
export class MesosJsonError extends Schema.TaggedError<MesosJsonError>()("MesosJsonError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return this.path === "" ? this.reason : `field '${this.path}': ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The Mesos JSON value of `message`. Fails only for a double that is NaN,
 * which Mesos JSON cannot represent (infinities are written as the strings
 * the agent reads back).
 */
export const toJsonValue = <Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>
): Result.Result<{ readonly [key: string]: JsonValue }, MesosJsonError> =>
  guard(() => writeMessage(reflect(schema, message, false), ""))

/** The Mesos JSON text of `message`; see {@link toJsonValue}. */
export const stringify = <Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>
): Result.Result<string, MesosJsonError> => Result.map(toJsonValue(schema, message), stringifyValue)

/** The Mesos JSON text of `message` as UTF-8 bytes; see {@link toJsonValue}. */
export const encode = <Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>
): Result.Result<Uint8Array, MesosJsonError> => Result.map(stringify(schema, message), (text) => utf8.encode(text))

const utf8 = new TextEncoder()

/** `JSON.stringify`, writing a `bigint` as its exact digits. */
const stringifyValue = (value: JsonValue): string =>
  JSON.stringify(value, (_key, item: unknown) => typeof item === "bigint" ? rawJson(item.toString()) : item)

// `JSON.rawJSON` (Node >= 21) is missing from the ES2023 library typings.
const rawJson = (JSON as unknown as { readonly rawJSON: (text: string) => unknown }).rawJSON

const writeMessage = (message: ReflectMessage, path: string): { [key: string]: JsonValue } => {
  const object: { [key: string]: JsonValue } = {}
  for (const field of message.fields) {
    const fieldPath = joinPath(path, field.name)
    switch (field.fieldKind) {
      case "list": {
        const list = message.get(field)
        if (list.size > 0) object[field.name] = writeList(field, list, fieldPath)
        break
      }
      case "map": {
        const map = message.get(field)
        if (map.size > 0) object[field.name] = writeMap(field, map, fieldPath)
        break
      }
      case "message":
        if (message.isSet(field)) object[field.name] = writeMessage(message.get(field), fieldPath)
        break
      case "enum":
        if (message.isSet(field) || writesDefault(field)) {
          object[field.name] = enumName(field.enum, message.get(field), fieldPath)
        }
        break
      case "scalar":
        if (message.isSet(field) || writesDefault(field)) {
          object[field.name] = writeScalar(field.scalar, message.get(field), fieldPath)
        }
        break
    }
  }
  return object
}

/** The agent writes an unset field when it declares a default and is not deprecated. */
const writesDefault = (field: DescField & { fieldKind: "scalar" | "enum" }): boolean =>
  !field.deprecated && field.getDefaultValue() !== undefined

const writeList = (field: DescField & { fieldKind: "list" }, list: ReflectList, path: string): Array<JsonValue> => {
  const array: Array<JsonValue> = []
  let index = 0
  for (const item of list) {
    const itemPath = `${path}[${index++}]`
    switch (field.listKind) {
      case "message":
        array.push(writeMessage(item as ReflectMessage, itemPath))
        break
      case "enum":
        array.push(enumName(field.enum, item as number, itemPath))
        break
      case "scalar":
        array.push(writeScalar(field.scalar, item as ScalarValue, itemPath))
        break
    }
  }
  return array
}

/** Map keys are written as text: `"true"`, `"42"`, or the string itself. */
const writeMap = (
  field: DescField & { fieldKind: "map" },
  map: ReflectMap,
  path: string
): { [key: string]: JsonValue } => {
  const object: { [key: string]: JsonValue } = {}
  for (const [key, value] of map) {
    // Well-formed, as string values are: a lone surrogate has no UTF-8 encoding.
    const jsonKey = (String(key) as unknown as WellFormable).toWellFormed()
    const valuePath = `${path}[${quote(jsonKey)}]`
    switch (field.mapKind) {
      case "message":
        object[jsonKey] = writeMessage(value as ReflectMessage, valuePath)
        break
      case "enum":
        object[jsonKey] = enumName(field.enum, value as number, valuePath)
        break
      case "scalar":
        object[jsonKey] = writeScalar(field.scalar, value as ScalarValue, valuePath)
        break
    }
  }
  return object
}

const enumName = (desc: DescEnum, value: number, path: string): string => {
  const name = desc.value[value]?.name
  if (name === undefined) throw new MesosJsonError({ path, reason: `${value} is not a value of enum ${desc.typeName}` })
  return name
}

const writeScalar = (scalar: ScalarType, value: ScalarValue, path: string): JsonValue => {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return writeFloatingPoint(value as number, path)
    case ScalarType.BYTES:
      return encodeBase64(value as Uint8Array)
    case ScalarType.STRING:
      // A lone surrogate (a string cut inside an emoji) is no UTF-8: write U+FFFD, as the binary
      // encoding does, rather than a string no parser accepts.
      return (value as unknown as WellFormable).toWellFormed()
    case ScalarType.BOOL:
      return value as boolean
    default:
      return writeInteger(scalar, value as number | bigint, path)
  }
}

// `String.prototype.toWellFormed` and `isWellFormed` (Node >= 20) are missing from the ES2023 library typings.
interface WellFormable {
  readonly toWellFormed: () => string
  readonly isWellFormed: () => boolean
}

/** 32-bit numbers and 64-bit bigints (the reflect API hands those out as bigint), checked against their type's range. */
const writeInteger = (scalar: IntegerScalar, value: number | bigint, path: string): number | bigint => {
  const [min, max] = integerRanges[scalar]
  const integer = typeof value === "bigint" || Number.isInteger(value) ? BigInt(value) : undefined
  if (integer === undefined || integer < min || integer > max) {
    throw new MesosJsonError({
      path,
      reason: `${abbreviate(String(value))} is out of range for a number ` +
        `(${ScalarType[scalar].toLowerCase()}: ${min} to ${max})`
    })
  }
  return value
}

const writeFloatingPoint = (value: number, path: string): number | string => {
  if (Number.isFinite(value)) return value
  if (Number.isNaN(value)) throw new MesosJsonError({ path, reason: "NaN cannot be written in Mesos JSON" })
  return value > 0 ? "Infinity" : "-Infinity"
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads a message from a JSON value as the agent would. The value is what
 * `JSON.parse` gives, where a 64-bit integer may also be a `bigint` (as
 * {@link parse} produces for integers beyond 2^53).
 */
export const fromJsonValue = <Desc extends DescMessage>(
  schema: Desc,
  value: unknown
): Result.Result<MessageShape<Desc>, MesosJsonError> =>
  guard(() => {
    if (!isJsonObject(value)) {
      throw new MesosJsonError({ path: "", reason: `expected a JSON object, got ${describe(value)}` })
    }
    return readMessage(reflect(schema), value, "").message as MessageShape<Desc>
  })

/** Reads a message from JSON text; see {@link fromJsonValue}. */
export const parse = <Desc extends DescMessage>(
  schema: Desc,
  text: string
): Result.Result<MessageShape<Desc>, MesosJsonError> => {
  if (nestedTooDeep(text)) {
    return Result.fail(
      new MesosJsonError({ path: "", reason: `objects and arrays nested deeper than ${maxNesting} levels` })
    )
  }
  let value: unknown
  try {
    value = parseExact(text)
  } catch (error) {
    return Result.fail(new MesosJsonError({ path: "", reason: `not valid JSON: ${String(error)}` }))
  }
  return fromJsonValue(schema, value)
}

/** Reads a message from UTF-8 JSON text; see {@link fromJsonValue}. */
export const decode = <Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array
): Result.Result<MessageShape<Desc>, MesosJsonError> => parse(schema, utf8Decoder.decode(bytes))

const utf8Decoder = new TextDecoder()

/**
 * No Mesos message nests anywhere near this deep; deeper input would only exhaust the stack of the
 * recursive readers (and of `JSON.parse`'s reviver) with an error that names nothing.
 */
const maxNesting = 64

const nestedTooDeep = (text: string): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (inString) {
      if (char === 0x5c) i++ // a backslash escapes the next character
      else if (char === 0x22) inString = false
    } else if (char === 0x22) {
      inString = true
    } else if (char === 0x7b || char === 0x5b) {
      if (++depth > maxNesting) return true
    } else if (char === 0x7d || char === 0x5d) {
      depth--
    }
  }
  return false
}

/**
 * `JSON.parse`, except that an integer too large for a double to hold exactly
 * becomes a `bigint` read from its source text. Text without a run of 16
 * digits cannot hold one, and skips the slower reviver.
 */
const parseExact = (text: string): unknown =>
  longDigitRun.test(text) ? JSON.parse(text, exactIntegers as Reviver) : JSON.parse(text)

const longDigitRun = /\d{16}/

type Reviver = (this: unknown, key: string, value: unknown) => unknown

const exactIntegers = (_key: string, value: unknown, context: { readonly source?: string }): unknown =>
  typeof value === "number" && !Number.isSafeInteger(value) && context.source !== undefined &&
    integerLiteral.test(context.source)
    ? BigInt(context.source)
    : value

const integerLiteral = /^-?(0|[1-9]\d*)$/

const readMessage = (message: ReflectMessage, object: JsonObject, path: string): ReflectMessage => {
  const fields = fieldsByName(message.desc)
  for (const key of Object.keys(object)) {
    const field = fields.get(key)
    const value = object[key]
    if (field === undefined || value === null) continue
    readField(message, field, value, joinPath(path, key))
  }
  return message
}

type JsonObject = { readonly [key: string]: unknown }

const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const fieldsByNameCache = new WeakMap<DescMessage, ReadonlyMap<string, DescField>>()

const fieldsByName = (desc: DescMessage): ReadonlyMap<string, DescField> => {
  let fields = fieldsByNameCache.get(desc)
  if (fields === undefined) {
    fields = new Map(desc.fields.map((field) => [field.name, field]))
    fieldsByNameCache.set(desc, fields)
  }
  return fields
}

const readField = (message: ReflectMessage, field: DescField, value: unknown, path: string): void => {
  switch (field.fieldKind) {
    case "list":
      readListItems(message.get(field), field, value, path)
      break
    case "map":
      readMapEntries(message.get(field), field, value, path)
      break
    case "message": {
      const child = message.get(field)
      readMessage(child, expectObject(value, path), path)
      message.set(field, child)
      break
    }
    case "enum": {
      const number = enumNumber(field.enum, value, path)
      if (number !== undefined) {
        message.set(field, number)
      } else if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) {
        throw new MesosJsonError({
          path,
          reason: `${quote(String(value))} is not a value of enum ${field.enum.typeName}`
        })
      }
      // An optional field stays unset.
      break
    }
    case "scalar":
      message.set(field, readScalar(field.scalar, value, path))
      break
  }
}

/**
 * Like the agent, accepts a single item where an array is expected, and
 * flattens nested arrays; `null` items are skipped.
 */
const readListItems = (list: ReflectList, field: DescField & { fieldKind: "list" }, value: unknown, path: string) => {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (item !== null) readListItems(list, field, item, `${path}[${index}]`)
    })
    return
  }
  switch (field.listKind) {
    case "message":
      list.add(readMessage(reflect(field.message), expectObject(value, path), path))
      break
    case "enum": {
      const number = enumNumber(field.enum, value, path)
      if (number !== undefined) list.add(number)
      break
    }
    case "scalar":
      list.add(readScalar(field.scalar, value, path))
      break
  }
}

/**
 * A map is a JSON object (or, as the agent also accepts, an array of them).
 * An entry whose value is `null`, or an unknown enum name, gets the value
 * type's default, as a protobuf map entry without a value does.
 */
const readMapEntries = (map: ReflectMap, field: DescField & { fieldKind: "map" }, value: unknown, path: string) => {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (item !== null) readMapEntries(map, field, item, `${path}[${index}]`)
    })
    return
  }
  const object = expectObject(value, path)
  for (const jsonKey of Object.keys(object)) {
    const entryPath = `${path}[${quote(jsonKey)}]`
    // A key is read like a string-typed value of the key type: "42", "true".
    const key = readScalar(field.mapKey, jsonKey, entryPath)
    const entryValue = object[jsonKey]
    switch (field.mapKind) {
      case "message": {
        const child = reflect(field.message)
        if (entryValue !== null) readMessage(child, expectObject(entryValue, entryPath), entryPath)
        map.set(key, child)
        break
      }
      case "enum": {
        const number = entryValue === null ? undefined : enumNumber(field.enum, entryValue, entryPath)
        map.set(key, number ?? field.enum.values[0]!.number)
        break
      }
      case "scalar":
        map.set(
          key,
          entryValue === null ? scalarZeroValue(field.scalar, false) : readScalar(field.scalar, entryValue, entryPath)
        )
        break
    }
  }
}

const expectObject = (value: unknown, path: string): JsonObject => {
  if (isJsonObject(value)) return value
  throw new MesosJsonError({ path, reason: `expected a JSON object, got ${describe(value)}` })
}

/** The number of an enum value by name, or `undefined` for a name the enum does not have. */
const enumNumber = (desc: DescEnum, value: unknown, path: string): number | undefined => {
  if (typeof value !== "string") {
    throw new MesosJsonError({ path, reason: `expected a value name of enum ${desc.typeName}, got ${describe(value)}` })
  }
  return enumNumbersByName(desc).get(value)
}

const enumNumbersCache = new WeakMap<DescEnum, ReadonlyMap<string, number>>()

const enumNumbersByName = (desc: DescEnum): ReadonlyMap<string, number> => {
  let numbers = enumNumbersCache.get(desc)
  if (numbers === undefined) {
    numbers = new Map(desc.values.map((value) => [value.name, value.number]))
    enumNumbersCache.set(desc, numbers)
  }
  return numbers
}

const readScalar = (scalar: ScalarType, value: unknown, path: string): ScalarValue => {
  switch (typeof value) {
    case "string":
      return readScalarFromString(scalar, value, path)
    case "number":
    case "bigint":
      if (isNumeric(scalar)) return toNumeric(scalar, value, path)
      break
    case "boolean":
      if (scalar === ScalarType.BOOL) return value
      break
  }
  throw new MesosJsonError({ path, reason: `expected ${describeScalar(scalar)}, got ${describe(value)}` })
}

const readScalarFromString = (scalar: ScalarType, text: string, path: string): ScalarValue => {
  switch (scalar) {
    case ScalarType.STRING:
      return wellFormed(text, path)
    case ScalarType.BYTES:
      return decodeBase64(text, path)
    case ScalarType.BOOL: {
      const trimmed = trimJsonWhitespace(text)
      if (trimmed === "true" || trimmed === "false") return trimmed === "true"
      throw new MesosJsonError({ path, reason: `expected a boolean, got the string ${quote(text)}` })
    }
  }
  if (isFloatingPoint(scalar) && (text === "Infinity" || text === "-Infinity")) {
    return text === "Infinity" ? Infinity : -Infinity
  }
  const literal = numberLiteral.exec(text)?.[1]
  if (literal === undefined) {
    throw new MesosJsonError({
      path,
      reason: `expected ${describeScalar(scalar)}, got the string ${quote(text)}, which is not a number`
    })
  }
  return toNumeric(scalar, integerLiteral.test(literal) ? BigInt(literal) : Number(literal), path)
}

/** A JSON number, as the whole string up to surrounding JSON whitespace. */
const numberLiteral = /^[ \t\n\r]*(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)[ \t\n\r]*$/

/**
 * A string as read, if it is well-formed UTF-16. JSON text can escape a lone surrogate (`"\\ud83d"`),
 * which no UTF-8 encoding (the binary one, the agent's) can hold: the agent's parser rejects it too.
 */
const wellFormed = (text: string, path: string): string => {
  if ((text as unknown as WellFormable).isWellFormed()) return text
  const index = text.search(loneSurrogate)
  const escape = `\\u${text.charCodeAt(index).toString(16)}`
  throw new MesosJsonError({
    path,
    reason: `the string has an unpaired UTF-16 surrogate (${escape} at index ${index}), which has no UTF-8 encoding`
  })
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

const trimJsonWhitespace = (text: string): string => text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "")

/**
 * Converts a number read from JSON to a numeric field's type. Like the agent,
 * a fraction given for an integer field is truncated toward zero. Unlike it
 * (C++ casts there wrap, or are undefined), an integer out of the field's
 * range is an error, as is a literal too large for a double (`1e400`).
 */
const toNumeric = (scalar: ScalarType, value: number | bigint, path: string): number | bigint => {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new MesosJsonError({ path, reason: `number out of range for ${describeScalar(scalar)}` })
  }
  if (isFloatingPoint(scalar)) {
    return scalar === ScalarType.FLOAT ? Math.fround(Number(value)) : Number(value)
  }
  const integer = typeof value === "bigint" ? value : BigInt(Math.trunc(value))
  const [min, max] = integerRanges[scalar as IntegerScalar]
  if (integer < min || integer > max) {
    throw new MesosJsonError({
      path,
      reason: `${abbreviate(String(integer))} is out of range for ${describeScalar(scalar)}`
    })
  }
  return isLong(scalar) ? integer : Number(integer)
}

type IntegerScalar = Exclude<
  ScalarType,
  ScalarType.DOUBLE | ScalarType.FLOAT | ScalarType.BOOL | ScalarType.STRING | ScalarType.BYTES
>

const int32Range = [-(2n ** 31n), 2n ** 31n - 1n] as const
const uint32Range = [0n, 2n ** 32n - 1n] as const
const int64Range = [-(2n ** 63n), 2n ** 63n - 1n] as const
const uint64Range = [0n, 2n ** 64n - 1n] as const

const integerRanges: Record<IntegerScalar, readonly [bigint, bigint]> = {
  [ScalarType.INT32]: int32Range,
  [ScalarType.SINT32]: int32Range,
  [ScalarType.SFIXED32]: int32Range,
  [ScalarType.UINT32]: uint32Range,
  [ScalarType.FIXED32]: uint32Range,
  [ScalarType.INT64]: int64Range,
  [ScalarType.SINT64]: int64Range,
  [ScalarType.SFIXED64]: int64Range,
  [ScalarType.UINT64]: uint64Range,
  [ScalarType.FIXED64]: uint64Range
}

const isFloatingPoint = (scalar: ScalarType): boolean => scalar === ScalarType.DOUBLE || scalar === ScalarType.FLOAT

const isNumeric = (scalar: ScalarType): boolean =>
  scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES && scalar !== ScalarType.BOOL

/** 64-bit integers, which protobuf-es holds as bigint. */
const isLong = (scalar: ScalarType): boolean =>
  scalar === ScalarType.INT64 || scalar === ScalarType.UINT64 || scalar === ScalarType.SINT64 ||
  scalar === ScalarType.FIXED64 || scalar === ScalarType.SFIXED64

const describeScalar = (scalar: ScalarType): string => {
  switch (scalar) {
    case ScalarType.STRING:
      return "a string"
    case ScalarType.BYTES:
      return "a base64 string"
    case ScalarType.BOOL:
      return "a boolean"
    default:
      return `a number (${ScalarType[scalar].toLowerCase()})`
  }
}

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  switch (typeof value) {
    case "object":
      return "an object"
    case "string":
      return `the string ${quote(value)}`
    case "number":
    case "bigint":
      return `the number ${abbreviate(String(value))}`
    default:
      return String(value)
  }
}

/**
 * Decodes base64 as stout does: the standard alphabet only (URL-safe `-` and
 * `_` are errors, as is any other character), whitespace skipped, stopping at
 * the first `=`, so missing padding is tolerated.
 */
const decodeBase64 = (text: string, path: string): Uint8Array => {
  const bytes = new Uint8Array(Math.ceil(text.length / 4) * 3)
  let length = 0
  let group = 0
  let sextets = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === EQUALS) break
    if (isCSpace(code)) continue
    const sextet = code < 128 ? base64Sextets[code]! : -1
    if (sextet < 0) {
      const hint = code === 0x2d || code === 0x5f ? " (URL-safe base64 is not accepted; use + and /)" : ""
      throw new MesosJsonError({ path, reason: `invalid base64 character ${JSON.stringify(text[i])}${hint}` })
    }
    group = (group << 6) | sextet
    if (++sextets === 4) {
      bytes[length++] = group >> 16
      bytes[length++] = (group >> 8) & 0xff
      bytes[length++] = group & 0xff
      group = 0
      sextets = 0
    }
  }
  // 2 or 3 trailing characters carry 1 or 2 bytes; a lone one carries none.
  if (sextets === 2) {
    bytes[length++] = group >> 4
  } else if (sextets === 3) {
    bytes[length++] = group >> 10
    bytes[length++] = (group >> 2) & 0xff
  }
  return length === bytes.length ? bytes : bytes.slice(0, length)
}

const EQUALS = 0x3d

/** C's `isspace`: space, \t, \n, \v, \f, \r. */
const isCSpace = (code: number): boolean => code === 0x20 || (code >= 0x09 && code <= 0x0d)

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

const base64Sextets: ReadonlyArray<number> = (() => {
  const sextets = new Array<number>(128).fill(-1)
  for (let i = 0; i < base64Alphabet.length; i++) sextets[base64Alphabet.charCodeAt(i)] = i
  return sextets
})()

const base64Codes = utf8.encode(base64Alphabet)

/**
 * Standard base64 with padding. Written into bytes and decoded once: building the string piece by
 * piece, as protobuf-es's `base64Encode` does, took 4 s and 700 MiB of heap for 16 MiB of data.
 */
const encodeBase64 = (bytes: Uint8Array): string => {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4)
  let o = 0
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out[o++] = base64Codes[group >>> 18]!
    out[o++] = base64Codes[(group >>> 12) & 63]!
    out[o++] = base64Codes[(group >>> 6) & 63]!
    out[o++] = base64Codes[group & 63]!
  }
  if (i < bytes.length) {
    const group = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8)
    out[o++] = base64Codes[group >>> 18]!
    out[o++] = base64Codes[(group >>> 12) & 63]!
    out[o++] = i + 1 < bytes.length ? base64Codes[(group >>> 6) & 63]! : EQUALS
    out[o++] = EQUALS
  }
  return utf8Decoder.decode(out)
}

// ---------------------------------------------------------------------------------------------

const joinPath = (path: string, name: string): string => path === "" ? name : `${path}.${name}`

/**
 * Runs a reader or writer, turning what it throws into a failure: its own
 * errors as they are, and anything else (such as a stack overflow on absurdly
 * deep input) as an error about the whole document.
 */
const guard = <A>(run: () => A): Result.Result<A, MesosJsonError> => {
  try {
    return Result.succeed(run())
  } catch (error) {
    return Result.fail(
      error instanceof MesosJsonError ? error : new MesosJsonError({ path: "", reason: String(error) })
    )
  }
}
