/**
 * The codec for one content type of the executor API: `Call` and `Event` to
 * and from the bytes of a request or RecordIO record body, as synchronous
 * `Result`s (lift them with `Effect.fromResult`). Nothing here throws.
 *
 * Encoding checks every required field first, as the agent rejects a message
 * missing one (400), and names all the missing ones. Decoding keeps unknown
 * protobuf fields (so they survive a re-encode) and does not check required
 * fields: a reader of events from a newer or older agent should be tolerant,
 * and an agent model can call {@link missingRequiredFields} itself.
 */
import { type DescField, type DescMessage, fromBinary, isFieldSet, type MessageShape, toBinary } from "@bufbuild/protobuf"
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt"
import { Result, Schema } from "effect"
import { type Call, CallSchema, type Event, EventSchema } from "../gen/mesos/v1/executor/executor_pb.js"
import * as BinaryLocation from "./BinaryLocation.js"
import * as ContentType from "./ContentType.js"
import { quote } from "./Excerpt.js"
import * as MesosJson from "./MesosJson.js"

/** A `Call` or `Event` could not be encoded; nothing was written. */
export class WireEncodeError extends Schema.TaggedError<WireEncodeError>()("WireEncodeError", {
  contentType: ContentType.ContentType,
  /** Full protobuf name of the message, e.g. `mesos.v1.executor.Call`. */
  messageType: Schema.String,
  /** Paths of the required fields that are not set, e.g. `update.status.task_id`; empty for other problems. */
  missingFields: Schema.Array(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot encode ${this.messageType} as ${this.contentType}: ${this.detail}`
  }
}

/**
 * Bytes that are not a `Call` or `Event` in the content type. `detail` says what is wrong and, where
 * known, in which field: for protobuf, what protobuf-es reported, the field being read and the byte
 * offset where its record starts, out of the body's length (`premature EOF in field
 * 'launch.task.resources[2].name' (from byte 31 of 37)`); for JSON, `MesosJson`'s message.
 */
export class WireDecodeError extends Schema.TaggedError<WireDecodeError>()("WireDecodeError", {
  contentType: ContentType.ContentType,
  /** Full protobuf name of the message, e.g. `mesos.v1.executor.Event`. */
  messageType: Schema.String,
  detail: Schema.String,
  /** The length of the body. */
  byteLength: Schema.Number,
  /** The proto path of the field being read (`launch.task.resources[2].name`), when known. */
  field: Schema.optional(Schema.String),
  /** Protobuf: the byte offset of the record (tag) being read, when known. */
  offset: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `cannot decode ${this.messageType} from ${this.contentType}: ${this.detail}`
  }
}

export interface WireCodec {
  readonly contentType: ContentType.ContentType
  readonly encodeCall: (call: Call) => Result.Result<Uint8Array, WireEncodeError>
  readonly decodeCall: (bytes: Uint8Array) => Result.Result<Call, WireDecodeError>
  readonly encodeEvent: (event: Event) => Result.Result<Uint8Array, WireEncodeError>
  readonly decodeEvent: (bytes: Uint8Array) => Result.Result<Event, WireDecodeError>
}

/**
 * The paths of every required field of `message` that is not set, looking
 * into every set message field, list element and map value, e.g.
 * `["executor_id", "update.status.task_id", "subscribe.unacknowledged_tasks[0].name"]`.
 */
export const missingRequiredFields = <Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>
): Array<string> => {
  const missing: Array<string> = []
  collectMissing(schema, message as unknown as Record<string, unknown>, [], missing)
  return missing
}

// Every encoded call is checked, so the walk looks only at the fields that can matter (required ones, and
// message fields whose type holds a required field somewhere), found once per message type, and builds a
// path only for a field that is missing.
const relevantFields = new Map<DescMessage, ReadonlyArray<DescField>>()

const fieldsToCheck = (schema: DescMessage): ReadonlyArray<DescField> => {
  const known = relevantFields.get(schema)
  if (known !== undefined) return known
  // Provisional, for recursive types: a type being worked out holds required fields if anything does.
  relevantFields.set(schema, schema.fields)
  const fields = schema.fields.filter((field) => {
    if (field.fieldKind === "scalar" || field.fieldKind === "enum") {
      return field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED
    }
    const inner = field.fieldKind === "message"
      ? field.message
      : field.fieldKind === "list" && field.listKind === "message"
      ? field.message
      : field.fieldKind === "map" && field.mapKind === "message"
      ? field.message
      : undefined
    return field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED ||
      (inner !== undefined && fieldsToCheck(inner).length > 0)
  })
  relevantFields.set(schema, fields)
  return fields
}

const valueOf = (message: Record<string, unknown>, field: DescField): unknown => {
  if (field.oneof === undefined) return message[field.localName]
  const selected = message[field.oneof.localName] as { readonly case?: string; readonly value?: unknown } | undefined
  return selected?.case === field.localName ? selected.value : undefined
}

const collectMissing = (
  schema: DescMessage,
  message: Record<string, unknown>,
  path: ReadonlyArray<string>,
  missing: Array<string>
): void => {
  for (const field of fieldsToCheck(schema)) {
    switch (field.fieldKind) {
      case "list":
        if (field.listKind === "message") {
          const items = valueOf(message, field) as ReadonlyArray<Record<string, unknown>>
          for (let index = 0; index < items.length; index++) {
            collectMissing(field.message, items[index]!, [...path, `${field.name}[${index}]`], missing)
          }
        }
        break
      case "map":
        if (field.mapKind === "message") {
          const entries = valueOf(message, field) as Record<string, Record<string, unknown>>
          for (const key of Object.keys(entries)) {
            collectMissing(field.message, entries[key]!, [...path, `${field.name}[${quote(key)}]`], missing)
          }
        }
        break
      default:
        if (!isFieldSet(message as MessageShape<DescMessage>, field)) {
          if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) missing.push([...path, field.name].join("."))
        } else if (field.fieldKind === "message") {
          collectMissing(field.message, valueOf(message, field) as Record<string, unknown>, [...path, field.name], missing)
        }
    }
  }
}

const encodeWith = <Desc extends DescMessage>(
  contentType: ContentType.ContentType,
  schema: Desc,
  write: (message: MessageShape<Desc>) => Uint8Array
) =>
(message: MessageShape<Desc>): Result.Result<Uint8Array, WireEncodeError> => {
  const fail = (detail: string, missingFields: ReadonlyArray<string> = []) =>
    Result.fail(new WireEncodeError({ contentType, messageType: schema.typeName, missingFields, detail }))
  try {
    const missing = missingRequiredFields(schema, message)
    if (missing.length > 0) return fail(`required fields not set: ${listBounded(missing)}`, missing)
    return Result.succeed(write(message))
  } catch (error) {
    return fail(describeThrown(error))
  }
}

/** The fields a message names: a call built from scratch can miss dozens; `missingFields` has them all. */
const maxListedFields = 8

const listBounded = (paths: ReadonlyArray<string>): string =>
  paths.length <= maxListedFields
    ? paths.join(", ")
    : `${paths.slice(0, maxListedFields).join(", ")} and ${paths.length - maxListedFields} more`

/** protobuf-es errors name the message or problem, `MesosJson` errors the field path: keep their message. */
const describeThrown = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * protobuf-es's reason, where the bytes end early also when a fixed-width read ran off the end
 * (`DataView` then throws its own `RangeError`), then where it happened.
 */
const protobufDecoder = <Desc extends DescMessage>(schema: Desc) =>
(bytes: Uint8Array): Result.Result<MessageShape<Desc>, WireDecodeError> => {
  try {
    return Result.succeed(fromBinary(schema, bytes))
  } catch (error) {
    const reason = error instanceof RangeError && /DataView/.test(error.message)
      ? "premature EOF"
      : describeThrown(error)
    const location = BinaryLocation.locate(schema, bytes)
    return Result.fail(
      new WireDecodeError({
        contentType: ContentType.protobuf,
        messageType: schema.typeName,
        detail: `${reason} ${BinaryLocation.describe(location, bytes.length)}`,
        byteLength: bytes.length,
        ...(location === undefined ? {} : { offset: location.offset }),
        ...(location?._tag === "Field" ? { field: location.path } : {})
      })
    )
  }
}

const protobufEncoder = <Desc extends DescMessage>(schema: Desc) =>
  encodeWith(ContentType.protobuf, schema, (message: MessageShape<Desc>) => toBinary(schema, message))

const jsonEncoder = <Desc extends DescMessage>(schema: Desc) =>
  encodeWith(ContentType.json, schema, (message: MessageShape<Desc>) =>
    Result.getOrThrow(MesosJson.encode(schema, message)))

const jsonDecoder = <Desc extends DescMessage>(schema: Desc) =>
(bytes: Uint8Array): Result.Result<MessageShape<Desc>, WireDecodeError> =>
  Result.mapError(MesosJson.decode(schema, bytes), (error) =>
    new WireDecodeError({
      contentType: ContentType.json,
      messageType: schema.typeName,
      detail: error.message,
      byteLength: bytes.length,
      ...(error.path === "" ? {} : { field: error.path })
    }))

/** Binary proto2 encoding, `application/x-protobuf`. */
export const protobuf: WireCodec = {
  contentType: ContentType.protobuf,
  encodeCall: protobufEncoder(CallSchema),
  decodeCall: protobufDecoder(CallSchema),
  encodeEvent: protobufEncoder(EventSchema),
  decodeEvent: protobufDecoder(EventSchema)
}

/** Mesos JSON, `application/json`; see `MesosJson`. */
export const json: WireCodec = {
  contentType: ContentType.json,
  encodeCall: jsonEncoder(CallSchema),
  decodeCall: jsonDecoder(CallSchema),
  encodeEvent: jsonEncoder(EventSchema),
  decodeEvent: jsonDecoder(EventSchema)
}

/** The codec of a content type, e.g. the one `ContentType.negotiate` chose. */
export const forContentType = (contentType: ContentType.ContentType): WireCodec =>
  contentType === ContentType.protobuf ? protobuf : json
