// fast-check arbitraries driven by the protobuf descriptors: typed init objects for `create(schema, init)`
// (with random missing required fields), and JSON values shaped like Mesos JSON (the schema's snake_case
// keys at every level, with right and wrong values).
import { type DescEnum, type DescField, type DescMessage, type DescOneof, ScalarType } from "@bufbuild/protobuf"
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt"
import * as fc from "fast-check"

const isRequired = (field: DescField): boolean => field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED

// --- strings and bytes ---------------------------------------------------------------------------

/** Any UTF-16 code unit, lone surrogates and NUL included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))

export const anyString = (maxLength = 24): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength }) }
  )

// --- typed init objects ----------------------------------------------------------------------------

export interface InitOptions {
  /** Set every required field of every message that is present (else they are as random as the rest). */
  readonly fillRequired: boolean
  /** Numbers and enum values outside their field's range (still of the field's TypeScript type). */
  readonly outOfRange: boolean
}

const maxDepth = 5
const maxOptionalFields = 5
const maxListLength = 3

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 })
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
// Numbers a `number` field can hold that no 32-bit field accepts.
const wildNumber = fc.oneof(fc.double(), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }), fc.constant(-1))
const wildBigInt = fc.oneof(fc.bigInt({ min: 2n ** 64n, max: 2n ** 80n }), fc.bigInt({ min: -(2n ** 80n), max: -1n }))

const scalarInit = (scalar: ScalarType, options: InitOptions): fc.Arbitrary<unknown> => {
  const wild = <A>(normal: fc.Arbitrary<A>, outOfRange: fc.Arbitrary<A>) =>
    options.outOfRange ? fc.oneof({ weight: 3, arbitrary: normal }, { weight: 1, arbitrary: outOfRange }) : normal
  switch (scalar) {
    case ScalarType.DOUBLE:
      return fc.double()
    case ScalarType.FLOAT:
      return wild(fc.float(), fc.double())
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return wild(int32, wildNumber)
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return wild(uint32, wildNumber)
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return wild(int64, wildBigInt)
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return wild(uint64, wildBigInt)
    case ScalarType.BOOL:
      return fc.boolean()
    case ScalarType.STRING:
      return anyString()
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 32 })
  }
}

const enumInit = (desc: DescEnum, options: InitOptions): fc.Arbitrary<number> => {
  const known = fc.constantFrom(...desc.values.map((value) => value.number))
  return options.outOfRange ? fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: int32 }) : known
}

const mapKeyInit = (scalar: ScalarType): fc.Arbitrary<string> =>
  scalar === ScalarType.STRING
    ? anyString(8)
    : scalar === ScalarType.BOOL
    ? fc.constantFrom("true", "false")
    : fc.integer({ min: 0, max: 1000 }).map(String)

const fieldValueInit = (field: DescField, depth: number, options: InitOptions): fc.Arbitrary<unknown> => {
  switch (field.fieldKind) {
    case "scalar":
      return scalarInit(field.scalar, options)
    case "enum":
      return enumInit(field.enum, options)
    case "message":
      return messageInit(field.message, depth + 1, options)
    case "list": {
      const item = field.listKind === "message"
        ? messageInit(field.message, depth + 1, options)
        : field.listKind === "enum"
        ? enumInit(field.enum, options)
        : scalarInit(field.scalar, options)
      return fc.array(item, { maxLength: depth >= maxDepth ? 0 : maxListLength })
    }
    case "map": {
      const value = field.mapKind === "message"
        ? messageInit(field.message, depth + 1, options)
        : field.mapKind === "enum"
        ? enumInit(field.enum, options)
        : scalarInit(field.scalar, options)
      return fc.dictionary(mapKeyInit(field.mapKey), value, { maxKeys: depth >= maxDepth ? 0 : 2 })
    }
  }
}

const memberInit = (
  member: DescField | DescOneof,
  depth: number,
  options: InitOptions
): fc.Arbitrary<readonly [string, unknown]> =>
  member.kind === "oneof"
    ? fc.constantFrom(...member.fields).chain((field) =>
      fieldValueInit(field, depth, options).map((value) => [member.localName, { case: field.localName, value }] as const)
    )
    : fieldValueInit(member, depth, options).map((value) => [member.localName, value] as const)

const initCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>()

/**
 * An init object for `create(desc, init)`: a random few of the fields (fewer the deeper), every required
 * one too when `fillRequired`. Required fields are filled even past the depth limit, so that a message
 * with them can always be complete.
 */
export const messageInit = (desc: DescMessage, depth: number, options: InitOptions): fc.Arbitrary<Record<string, unknown>> => {
  const key = `${desc.typeName}/${depth}/${options.fillRequired}/${options.outOfRange}`
  const cached = initCache.get(key)
  if (cached !== undefined) return cached
  const required = options.fillRequired
    ? desc.members.filter((member): member is DescField => member.kind !== "oneof" && isRequired(member))
    : []
  const optional = desc.members.filter((member) => !required.includes(member as DescField))
  const arbitrary = fc.tuple(
    fc.tuple(...required.map((field) => memberInit(field, depth, options))),
    depth >= maxDepth || optional.length === 0
      ? fc.constant([])
      : fc.subarray(optional, { maxLength: Math.min(optional.length, Math.max(1, maxOptionalFields - depth)) }).chain((chosen) =>
        fc.tuple(...chosen.map((member) => memberInit(member, depth, options)))
      )
  ).map(([requiredEntries, optionalEntries]) => Object.fromEntries([...requiredEntries, ...optionalEntries]))
  initCache.set(key, arbitrary)
  return arbitrary
}

/**
 * A `Call` init: often with the payload its type names (`type: UPDATE` with `update`), as a real call
 * has; `options` decide about required fields and ranges.
 */
export const callInit = (desc: DescMessage, options: InitOptions): fc.Arbitrary<Record<string, unknown>> => {
  const typeField = desc.fields.find((field) => field.name === "type")!
  const types = typeField.fieldKind === "enum" ? typeField.enum.values : []
  return fc.tuple(messageInit(desc, 0, options), fc.constantFrom(...types), fc.nat({ max: 9 })).chain(
    ([init, type, dice]) => {
      const payload = desc.fields.find((field) => field.name === type.name.toLowerCase())
      if (dice < 3 || payload === undefined || payload.fieldKind !== "message") return fc.constant(init)
      return messageInit(payload.message, 1, options).map((value) => ({
        ...init,
        type: type.number,
        [payload.localName]: value
      }))
    }
  )
}

// --- Mesos-shaped JSON -------------------------------------------------------------------------------

/** Every field name (snake_case, as Mesos JSON writes them) reachable from `root`. */
export const allFieldNames = (root: DescMessage): ReadonlyArray<string> => {
  const names = new Set<string>()
  const seen = new Set<string>()
  const visit = (desc: DescMessage) => {
    if (seen.has(desc.typeName)) return
    seen.add(desc.typeName)
    for (const field of desc.fields) {
      names.add(field.name)
      if (field.message !== undefined) visit(field.message)
    }
  }
  visit(root)
  return [...names].sort()
}

const shapedCache = new Map<string, fc.Arbitrary<unknown>>()

const integerText = fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.integer().map(String))

/** Strings that are numbers, nearly numbers, or not. */
const numberishString = fc.oneof(
  integerText,
  fc.double().map(String),
  fc.constantFrom(
    "", " 12 ", "1e3", "1e400", "-0", "0x10", "Infinity", "-Infinity", "NaN", "1.5", "+1", "--1", "1_000", "١٢"
  )
)

const base64ish = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  fc.string({ unit: fc.constantFrom(..."ABCxyz019+/=-_ \n*é"), maxLength: 24 })
)

const jsonNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })
)

const shapedScalar = (scalar: ScalarType): fc.Arbitrary<unknown> => {
  switch (scalar) {
    case ScalarType.STRING:
      return anyString()
    case ScalarType.BYTES:
      return base64ish
    case ScalarType.BOOL:
      return fc.oneof(fc.boolean(), fc.constantFrom("true", "false", " true ", "yes", "1"))
    default:
      return fc.oneof(jsonNumber, numberishString)
  }
}

const shapedEnum = (desc: DescEnum): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...desc.values.map((value) => value.name)) },
    { weight: 1, arbitrary: fc.oneof(anyString(12), fc.integer()) }
  )

/** Now and then a value of the wrong kind, anywhere. */
const wrongKind: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant([]),
  fc.constant({})
)

const shapedField = (field: DescField, depth: number): fc.Arbitrary<unknown> => {
  const item = (): fc.Arbitrary<unknown> => {
    switch (field.fieldKind) {
      case "scalar":
        return shapedScalar(field.scalar)
      case "enum":
        return shapedEnum(field.enum)
      case "message":
        return shapedMessage(field.message, depth + 1)
      case "list":
        return field.listKind === "message"
          ? shapedMessage(field.message, depth + 1)
          : field.listKind === "enum"
          ? shapedEnum(field.enum)
          : shapedScalar(field.scalar)
      case "map": {
        const value = field.mapKind === "message"
          ? shapedMessage(field.message, depth + 1)
          : field.mapKind === "enum"
          ? shapedEnum(field.enum)
          : shapedScalar(field.scalar)
        const key = field.mapKey === ScalarType.STRING ? anyString(8) : fc.oneof(integerText, anyString(4))
        return fc.dictionary(key, value, { maxKeys: 3 })
      }
    }
  }
  const value = item()
  const shaped = field.fieldKind === "list" || field.fieldKind === "map"
    ? fc.oneof(
      { weight: 4, arbitrary: fc.array(value, { maxLength: maxListLength }) },
      { weight: 1, arbitrary: value },
      { weight: 1, arbitrary: fc.array(fc.array(value, { maxLength: 2 }), { maxLength: 2 }) }
    )
    : value
  return fc.oneof({ weight: 9, arbitrary: shaped }, { weight: 1, arbitrary: wrongKind })
}

/** A JSON object whose keys are the message's field names, with values mostly of the right kind. */
export const shapedMessage = (desc: DescMessage, depth = 0): fc.Arbitrary<unknown> => {
  const key = `${desc.typeName}/${depth}`
  const cached = shapedCache.get(key)
  if (cached !== undefined) return cached
  const arbitrary = depth >= maxDepth
    ? fc.oneof(fc.constant({}), wrongKind)
    : fc.subarray(desc.fields, { maxLength: Math.min(desc.fields.length, Math.max(1, 6 - depth)) }).chain((fields) =>
      fc.tuple(...fields.map((field) => shapedField(field, depth).map((value) => [field.name, value] as const)))
        .map((entries) => Object.fromEntries(entries))
    )
  shapedCache.set(key, arbitrary)
  return arbitrary
}

/** `JSON.stringify`, writing a bigint as its digits (a 64-bit integer as Mesos JSON does). */
export const stringifyJson = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    typeof item === "bigint" ? (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON(String(item)) : item)
