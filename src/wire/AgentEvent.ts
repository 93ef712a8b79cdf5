/**
 * The events the driver acts on: a decoded `mesos.v1.executor.Event` as a
 * union discriminated by `_tag`, whose variants hold the decoded sub-messages
 * themselves (nothing is copied).
 *
 * An event this schema cannot act on is `Unknown` rather than a decode error,
 * so a newer agent (a new event type) or a malformed event (a known type
 * without its payload) is logged and skipped instead of breaking the
 * subscription.
 */
import { isFieldSet } from "@bufbuild/protobuf"
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire"
import { Result } from "effect"
import {
  type Event,
  Event_AcknowledgedSchema,
  Event_ErrorSchema,
  Event_MessageSchema,
  Event_Type,
  EventSchema
} from "../gen/mesos/v1/executor/executor_pb.js"
import type {
  AgentInfo,
  ContainerID,
  ExecutorInfo,
  FrameworkInfo,
  KillPolicy,
  TaskGroupInfo,
  TaskID,
  TaskInfo
} from "../gen/mesos/v1/mesos_pb.js"
import * as ContentType from "./ContentType.js"
import type { WireCodec, WireDecodeError } from "./WireCodec.js"

export type AgentEvent =
  | Subscribed
  | Launch
  | LaunchGroup
  | Kill
  | Acknowledged
  | Message
  | Error
  | Shutdown
  | Heartbeat
  | Unknown

/** The subscription is established; always the first event of a normal stream. */
export interface Subscribed {
  readonly _tag: "Subscribed"
  readonly executorInfo: ExecutorInfo
  /** The agent sets its `id`. */
  readonly frameworkInfo: FrameworkInfo
  readonly agentInfo: AgentInfo
  /** The executor's container; the real agent always sets it. */
  readonly containerId?: ContainerID | undefined
}

export interface Launch {
  readonly _tag: "Launch"
  readonly task: TaskInfo
}

export interface LaunchGroup {
  readonly _tag: "LaunchGroup"
  readonly taskGroup: TaskGroupInfo
}

export interface Kill {
  readonly _tag: "Kill"
  readonly taskId: TaskID
  /** Present only when the scheduler gave one; it overrides the task's own kill policy. */
  readonly killPolicy?: KillPolicy | undefined
}

/** The agent has taken custody of the status update with this `uuid` (its 16 raw bytes). */
export interface Acknowledged {
  readonly _tag: "Acknowledged"
  readonly taskId: TaskID
  readonly uuid: Uint8Array
}

/** A framework message from the scheduler. */
export interface Message {
  readonly _tag: "Message"
  readonly data: Uint8Array
}

/** Never sent by a real agent to HTTP executors, but part of the protocol. */
export interface Error {
  readonly _tag: "Error"
  readonly message: string
}

export interface Shutdown {
  readonly _tag: "Shutdown"
}

export interface Heartbeat {
  readonly _tag: "Heartbeat"
}

/**
 * An event the driver cannot act on:
 *
 * - `UnknownType`: a type this schema does not know (from a newer agent), or
 *   no type at all;
 * - `MissingPayload`: a known type whose payload, or a required field of the
 *   payload that this union exposes, is not set.
 *
 * `type` is the type's name when there is one (a known type, or the name a
 * JSON event gave), the raw number of a protobuf type this schema does not
 * know, and `undefined` when the event had no type.
 */
export interface Unknown {
  readonly _tag: "Unknown"
  readonly reason: "UnknownType" | "MissingPayload"
  readonly type: string | number | undefined
  readonly event: Event
}

const shutdown: Shutdown = { _tag: "Shutdown" }
const heartbeat: Heartbeat = { _tag: "Heartbeat" }

/** Classifies a decoded `Event`. */
export const fromEvent = (event: Event): AgentEvent => {
  switch (event.type) {
    case Event_Type.SUBSCRIBED: {
      const subscribed = event.subscribed
      return subscribed?.executorInfo !== undefined && subscribed.frameworkInfo !== undefined &&
          subscribed.agentInfo !== undefined
        ? {
          _tag: "Subscribed",
          executorInfo: subscribed.executorInfo,
          frameworkInfo: subscribed.frameworkInfo,
          agentInfo: subscribed.agentInfo,
          containerId: subscribed.containerId
        }
        : missingPayload(event)
    }
    case Event_Type.LAUNCH: {
      const task = event.launch?.task
      return task !== undefined ? { _tag: "Launch", task } : missingPayload(event)
    }
    case Event_Type.LAUNCH_GROUP: {
      const taskGroup = event.launchGroup?.taskGroup
      return taskGroup !== undefined ? { _tag: "LaunchGroup", taskGroup } : missingPayload(event)
    }
    case Event_Type.KILL: {
      const kill = event.kill
      return kill?.taskId !== undefined
        ? { _tag: "Kill", taskId: kill.taskId, killPolicy: kill.killPolicy }
        : missingPayload(event)
    }
    case Event_Type.ACKNOWLEDGED: {
      const acknowledged = event.acknowledged
      return acknowledged?.taskId !== undefined && isFieldSet(acknowledged, Event_AcknowledgedSchema.field.uuid)
        ? { _tag: "Acknowledged", taskId: acknowledged.taskId, uuid: acknowledged.uuid }
        : missingPayload(event)
    }
    case Event_Type.MESSAGE: {
      const message = event.message
      return message !== undefined && isFieldSet(message, Event_MessageSchema.field.data)
        ? { _tag: "Message", data: message.data }
        : missingPayload(event)
    }
    case Event_Type.ERROR: {
      const error = event.error
      return error !== undefined && isFieldSet(error, Event_ErrorSchema.field.message)
        ? { _tag: "Error", message: error.message }
        : missingPayload(event)
    }
    case Event_Type.SHUTDOWN:
      return shutdown
    case Event_Type.HEARTBEAT:
      return heartbeat
    default:
      return {
        _tag: "Unknown",
        reason: "UnknownType",
        // `undefined` when unset; an event built in memory may hold a number the enum lacks.
        type: isFieldSet(event, EventSchema.field.type) ? Event_Type[event.type] ?? event.type : undefined,
        event
      }
  }
}

const missingPayload = (event: Event): Unknown => ({
  _tag: "Unknown",
  reason: "MissingPayload",
  type: Event_Type[event.type],
  event
})

/**
 * Decodes one event (a RecordIO record of the SUBSCRIBE stream) and
 * classifies it: `codec.decodeEvent` followed by {@link fromEvent}, except
 * that an `Unknown` event's `type` is read back from the bytes when the
 * decoded `Event` no longer holds it.
 */
export const decode = (codec: WireCodec, bytes: Uint8Array): Result.Result<AgentEvent, WireDecodeError> =>
  Result.map(codec.decodeEvent(bytes), (event) => {
    const agentEvent = fromEvent(event)
    if (agentEvent._tag !== "Unknown" || agentEvent.type !== undefined) return agentEvent
    return {
      ...agentEvent,
      type: codec.contentType === ContentType.json ? jsonTypeName(bytes) : protobufTypeNumber(bytes)
    }
  })

/**
 * Mesos JSON leaves an enum field unset for a name the schema does not know,
 * so the name of a newer agent's event type is read from the text (which has
 * already decoded, so it parses).
 */
const jsonTypeName = (bytes: Uint8Array): string | undefined => {
  const value: unknown = JSON.parse(utf8Decoder.decode(bytes))
  return typeof value === "object" && value !== null && "type" in value && typeof value.type === "string"
    ? value.type
    : undefined
}

const utf8Decoder = new TextDecoder()

/**
 * protobuf-es leaves a closed (proto2) enum field unset for a number the
 * schema does not know. It should keep the number among the unknown fields,
 * but loses it when the message has other unknown fields too (2.17.0), as a
 * newer agent's event with a new payload field does: so the number is read
 * from the bytes, the last occurrence winning as for any singular field.
 * protobuf-es reads a known field whatever its wire type, so bytes it decoded
 * may still not scan as a well-formed message: then the number is unknown.
 */
const protobufTypeNumber = (bytes: Uint8Array): number | undefined => {
  const reader = new BinaryReader(bytes)
  let type: number | undefined
  try {
    while (reader.pos < reader.len) {
      const [fieldNumber, wireType] = reader.tag()
      if (fieldNumber === EventSchema.field.type.number && wireType === WireType.Varint) type = reader.int32()
      else reader.skip(wireType, fieldNumber)
    }
  } catch {
    return undefined
  }
  return type
}
