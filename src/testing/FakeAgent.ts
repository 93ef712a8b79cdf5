/**
 * The in-memory fake agent, for tests that run in virtual time: an
 * `AgentClient` that hands calls straight to an `AgentModel`, with no HTTP and
 * by default no bytes, yet answering what the agent would answer. A call with
 * a required field unset is rejected as the agent's parser rejects it (400),
 * 503 and 404 are `Unavailable`, a down agent is `Unreachable`, every other
 * status is `Rejected` with the agent's text, and a stream the agent closes
 * fails with `AgentDisconnected`.
 *
 * ```ts
 * it.effect("acknowledges an update", () =>
 *   Effect.gen(function*() {
 *     const agent = yield* AgentModel.AgentModel
 *     const client = yield* AgentClient.AgentClient
 *     const events = yield* client.subscribe(subscribeCall)
 *     yield* client.send(updateCall)
 *     const ack = yield* agent.awaitEvent((sent) => sent.event.type === Event_Type.ACKNOWLEDGED)
 *   }).pipe(Effect.provide(FakeAgent.layer())))
 * ```
 */
import { Effect, Layer, Result, Stream } from "effect"
import { clone } from "@bufbuild/protobuf"
import { type Call, Call_Type, CallSchema, type Event, EventSchema } from "../gen/mesos/v1/executor/executor_pb.js"
import { AgentCallError, AgentClient, type AgentClientShape, AgentDisconnected } from "../transport/AgentClient.js"
import * as AgentEvent from "../wire/AgentEvent.js"
import type { ContentType } from "../wire/ContentType.js"
import * as WireCodec from "../wire/WireCodec.js"
import {
  AgentModel,
  type AgentModelOptions,
  type AgentModelShape,
  type AgentResponse,
  rejected,
  type StreamBroken
} from "./AgentModel.js"

export interface ClientOptions {
  /**
   * Encode every call and event in this content type and decode it back, as
   * the HTTP path does, to exercise the codecs. Off by default.
   */
  readonly contentType?: ContentType | undefined
  /**
   * The `Authorization` token when the model authenticates executors; by
   * default the token the agent gave the executor named in the call, as a
   * real executor reads it from its environment.
   */
  readonly authenticationToken?: string | undefined
}

export interface Options extends AgentModelOptions, ClientOptions {}

/** An `AgentModel` and an `AgentClient` that talks to it. */
export const layer = (options: Options = {}): Layer.Layer<AgentModel | AgentClient> =>
  Layer.effect(AgentClient, Effect.map(AgentModel, (model) => makeClient(model, options))).pipe(
    Layer.provideMerge(AgentModel.layer(options))
  )

/** An `AgentClient` that talks to `model`. */
export const makeClient = (model: AgentModelShape, options: ClientOptions = {}): AgentClientShape => {
  const codec = options.contentType === undefined ? undefined : WireCodec.forContentType(options.contentType)

  /** What the agent receives for `call`, or the error the HTTP client would give before sending. */
  const request = Effect.fnUntraced(function*(call: Call) {
    const callType = callTypeName(call)
    const authorization = yield* bearer(model, options, call)
    if (codec === undefined) {
      // What the agent gets is a copy, as if sent: the caller keeps its call, the agent its own.
      const missing = WireCodec.missingRequiredFields(CallSchema, call)
      return missing.length === 0
        ? yield* model.handle({ call: clone(CallSchema, call), authorization })
        : yield* model.handle({ call: rejected(400, "Failed to parse body into Call protobuf"), authorization })
    }
    const bytes = codec.encodeCall(call)
    if (Result.isFailure(bytes)) {
      return yield* new AgentCallError({
        reason: "Encode",
        call: callType,
        detail: bytes.failure.message,
        cause: bytes.failure
      })
    }
    const received = codec.decodeCall(bytes.success)
    return yield* model.handle({
      call: Result.isSuccess(received) ? received.success : rejected(400, received.failure.message),
      contentType: codec.contentType,
      authorization
    })
  })

  const send = Effect.fn("FakeAgent.send")(function*(call: Call) {
    const response = yield* request(call)
    if (response._tag === "Subscribed") yield* response.subscription.close
    if (response._tag !== "Accepted") return yield* callError(callTypeName(call), response)
  })

  const subscribe = Effect.fn("FakeAgent.subscribe")(function*(call: Call) {
    const response = yield* request(call)
    if (response._tag !== "Subscribed") return yield* callError(callTypeName(call), response)
    const { subscription } = response
    yield* Effect.addFinalizer(() => subscription.close)
    return subscription.events.pipe(
      Stream.mapError(connectionLost),
      Stream.mapEffect(toAgentEvent),
      Stream.concat(Stream.fail(endOfStream)),
      Stream.ensuring(subscription.close)
    )
  })

  /** The event as the driver sees it, through the codec when there is one. */
  const toAgentEvent = (event: Event): Effect.Effect<AgentEvent.AgentEvent, AgentDisconnected> => {
    if (codec === undefined) return Effect.succeed(AgentEvent.fromEvent(clone(EventSchema, event)))
    // The model only writes events with every required field set.
    const bytes = Result.getOrThrow(codec.encodeEvent(event))
    return Result.match(AgentEvent.decode(codec, bytes), {
      onSuccess: Effect.succeed,
      onFailure: (error) =>
        Effect.fail(new AgentDisconnected({ reason: "Undecodable", detail: error.message, cause: error }))
    })
  }

  return AgentClient.of({ subscribe, send })
}

const bearer = (model: AgentModelShape, options: ClientOptions, call: Call) =>
  options.authenticationToken !== undefined
    ? Effect.succeed(`Bearer ${options.authenticationToken}`)
    : Effect.map(model.state, (state) => {
      const executor = state.executors.findLast((candidate) =>
        candidate.executorId === call.executorId?.value && candidate.frameworkId === call.frameworkId?.value
      )
      return executor === undefined ? undefined : `Bearer ${executor.token}`
    })

const callTypeName = (call: Call): string => Call_Type[call.type] ?? String(call.type)

/** The error the HTTP client gives for an answer other than the expected 200 or 202. */
const callError = (callType: string, response: AgentResponse): Effect.Effect<never, AgentCallError> => {
  switch (response._tag) {
    case "Refused":
      return Effect.fail(
        new AgentCallError({ reason: "Unreachable", call: callType, detail: "connection refused: the agent is down" })
      )
    case "Rejected":
      return Effect.fail(
        new AgentCallError({
          reason: response.status === 503 || response.status === 404 ? "Unavailable" : "Rejected",
          call: callType,
          status: response.status,
          detail: response.body === "" ? "empty response body" : response.body
        })
      )
    default:
      return Effect.fail(
        new AgentCallError({
          reason: "Rejected",
          call: callType,
          status: response._tag === "Accepted" ? 202 : 200,
          detail: "empty response body"
        })
      )
  }
}

const connectionLost = (error: StreamBroken): AgentDisconnected =>
  new AgentDisconnected({ reason: "ConnectionLost", detail: `the connection broke: ${error.message}`, cause: error })

const endOfStream = new AgentDisconnected({ reason: "EndOfStream", detail: "the agent ended the event stream" })
