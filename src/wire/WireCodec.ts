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
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf"
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect"
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt"
import { Result, Schema } from "effect"
import { type Call, CallSchema, type Event, EventSchema } from "../gen/mesos/v1/executor/executor_pb.js"
import * as ContentType from "./ContentType.js"
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

/** Bytes that are not a `Call` or `Event` in the content type. */
export class WireDecodeError extends Schema.TaggedError<WireDecodeError>()("WireDecodeError", {
  contentType: ContentType.ContentType,
  /** Full protobuf name of the message, e.g. `mesos.v1.executor.Event`. */
  messageType: Schema.String,
  detail: Schema.String
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
  collectMissing(reflect(schema, message, false), "", missing)
  return missing
}

const collectMissing = (message: ReflectMessage, path: string, missing: Array<string>): void => {
  for (const field of message.fields) {
    const fieldPath = path === "" ? field.name : `${path}.${field.name}`
    switch (field.fieldKind) {
      case "list":
        if (field.listKind === "message") {
          let index = 0
          for (const item of message.get(field)) {
            collectMissing(item as ReflectMessage, `${fieldPath}[${index++}]`, missing)
          }
        }
        break
      case "map":
        if (field.mapKind === "message") {
          for (const [key, value] of message.get(field)) {
            collectMissing(value as ReflectMessage, `${fieldPath}[${JSON.stringify(String(key))}]`, missing)
          }
        }
        break
      default:
        if (!message.isSet(field)) {
          if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) missing.push(fieldPath)
        } else if (field.fieldKind === "message") {
          collectMissing(message.get(field), fieldPath, missing)
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
    if (missing.length > 0) return fail(`required fields not set: ${missing.join(", ")}`, missing)
    return Result.succeed(write(message))
  } catch (error) {
    return fail(describeThrown(error))
  }
}

const decodeWith = <Desc extends DescMessage>(
  contentType: ContentType.ContentType,
  schema: Desc,
  read: (bytes: Uint8Array) => MessageShape<Desc>
) =>
(bytes: Uint8Array): Result.Result<MessageShape<Desc>, WireDecodeError> => {
  try {
    return Result.succeed(read(bytes))
  } catch (error) {
    return Result.fail(
      new WireDecodeError({ contentType, messageType: schema.typeName, detail: describeThrown(error) })
    )
  }
}

/** protobuf-es errors name the message or problem, `MesosJson` errors the field path: keep their message. */
const describeThrown = (error: unknown): string => error instanceof Error ? error.message : String(error)

const protobufEncoder = <Desc extends DescMessage>(schema: Desc) =>
  encodeWith(ContentType.protobuf, schema, (message: MessageShape<Desc>) => toBinary(schema, message))

const protobufDecoder = <Desc extends DescMessage>(schema: Desc) =>
  decodeWith(ContentType.protobuf, schema, (bytes) => fromBinary(schema, bytes))

const jsonEncoder = <Desc extends DescMessage>(schema: Desc) =>
  encodeWith(ContentType.json, schema, (message: MessageShape<Desc>) =>
    Result.getOrThrow(MesosJson.encode(schema, message)))

const jsonDecoder = <Desc extends DescMessage>(schema: Desc) =>
  decodeWith(ContentType.json, schema, (bytes) => Result.getOrThrow(MesosJson.decode(schema, bytes)))

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
