/**
 * The HTTP implementation of `AgentClient`: calls are POSTed to the agent's executor API over TCP or its
 * Unix domain socket, and the SUBSCRIBE response body is read as RecordIO-framed events.
 *
 * Like the Mesos C++ library it keeps two connections: the subscription on its own, and every other
 * call on one keep-alive connection. Calls queue on that one connection in the order they are sent, as
 * they do on the library's single pipelined one, so updates for a task reach the agent in order.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Undici from "@effect/platform-node/Undici"
import { Array as Arr, Effect, Exit, Layer, Option, Pull, Redacted, Result, Scope, Stream } from "effect"
import { HttpClient, type HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { type Call, Call_Type } from "../gen/mesos/v1/executor/executor_pb.js"
import { type AgentEndpoint, ExecutorConfig, type ExecutorSettings } from "../config/ExecutorConfig.js"
import * as AgentEvent from "../wire/AgentEvent.js"
import * as ContentType from "../wire/ContentType.js"
import * as RecordIO from "../wire/RecordIO.js"
import * as WireCodec from "../wire/WireCodec.js"
import { AgentCallError, AgentClient, AgentDisconnected } from "./AgentClient.js"

/** What the client needs to know: where the agent is, the encoding, and the token, if any. */
type ConnectionSettings = Pick<ExecutorSettings, "agent" | "contentType" | "authenticationToken">

/**
 * Builds a client whose connections are closed when the scope closes.
 *
 * It runs on undici (Node ≥ 22), which Effect drives with no body timeout: fetch would cut the
 * subscription after 300 s without a byte, and the agent may stay silent for 30 minutes between
 * heartbeats. Against node:http (measured on loopback), undici was as fast one UPDATE at a time
 * (7-9k/s) and faster with 64 in flight (9-18k/s against 5-6k/s). It also drops an idle keep-alive
 * connection after 4 s, where a node:http agent holds it until the peer closes it, so the heartbeat
 * that follows half an hour of silence opens a fresh connection instead of writing into one that a
 * firewall may have forgotten.
 */
export const make = Effect.fnUntraced(function*(settings: ConnectionSettings) {
  const calls = yield* dispatcher(settings.agent, { connections: 1 })
  // Not limited: a new SUBSCRIBE must not wait for the end of the stream it replaces.
  const subscriptions = HttpClient.withScope(yield* httpClient(settings.agent))
  const codec = WireCodec.forContentType(settings.contentType)
  const token = Option.getOrUndefined(settings.authenticationToken)
  const redact = (detail: string) => token === undefined ? detail : detail.replaceAll(Redacted.value(token), "<redacted>")

  // The agent reads Accept only on SUBSCRIBE; the C++ library sends it on every call, as here.
  const accepting = HttpClientRequest.post(settings.agent.url).pipe(HttpClientRequest.accept(settings.contentType))
  const baseRequest = token === undefined ? accepting : HttpClientRequest.bearerToken(accepting, token)

  const request = (body: Uint8Array) => HttpClientRequest.bodyUint8Array(baseRequest, body, settings.contentType)

  const encode = (call: Call, callType: string) =>
    Result.match(codec.encodeCall(call), {
      onSuccess: Effect.succeed,
      onFailure: (error) =>
        Effect.fail(new AgentCallError({ reason: "Encode", call: callType, detail: error.message, cause: error }))
    })

  /** The agent did not answer as expected: why, from a body that need not be short. */
  const unexpectedStatus = (status: number, callType: string, detail: string) =>
    new AgentCallError({
      reason: status === 503 || status === 404 ? "Unavailable" : "Rejected",
      call: callType,
      status,
      // An agent or proxy echoing the request must not put the token into an error.
      detail: redact(detail)
    })

  const url = new URL(settings.agent.url)
  const callHeaders: Array<string> = ["content-type", settings.contentType, "accept", settings.contentType]
  if (token !== undefined) callHeaders.push("authorization", `Bearer ${Redacted.value(token)}`)

  /**
   * One call, straight through undici's dispatcher: calls are the hot path (one per status update), and
   * the general HTTP client's request and response objects, body streams and abort signals cost more
   * than the call itself. Only the status and the start of an unexpected body matter.
   */
  const post = (body: Uint8Array, callType: string) =>
    Effect.callback<void, AgentCallError>((resume) => {
      let controller: Undici.Dispatcher.DispatchController | undefined
      let interrupted = false
      let status = 0
      const detail = new DetailReader()
      calls.dispatch({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers: callHeaders,
        body
      }, {
        onRequestStart(started) {
          controller = started
          if (interrupted) started.abort(new Error("call interrupted"))
        },
        onResponseStart(_, statusCode) {
          status = statusCode
        },
        // A 202 has an empty body; a stray one is read and dropped so that it cannot hold the connection.
        onResponseData(_, chunk) {
          if (status !== 202) detail.push(chunk)
        },
        onResponseEnd() {
          resume(status === 202 ? Effect.void : Effect.fail(unexpectedStatus(status, callType, detail.text())))
        },
        onResponseError(_, error) {
          if (!interrupted) resume(Effect.fail(unreachable(callType, error)))
        }
      })
      return Effect.sync(() => {
        interrupted = true
        controller?.abort(new Error("call interrupted"))
      })
    })

  const send = Effect.fn("AgentClient.send")(function*(call: Call) {
    const callType = callTypeName(call)
    yield* Effect.annotateCurrentSpan("mesos.call.type", callType)
    yield* post(yield* encode(call, callType), callType)
  })

  const subscribe = Effect.fn("AgentClient.subscribe")(function*(call: Call) {
    const callType = callTypeName(call)
    yield* Effect.annotateCurrentSpan("mesos.call.type", callType)
    const body = yield* encode(call, callType)
    // The request lives in a scope of its own, so that it ends with the event stream as well as with the
    // caller's scope.
    const requestScope = yield* Scope.fork(yield* Scope.Scope)
    const close = Scope.close(requestScope, Exit.void)
    return yield* Effect.gen(function*() {
      const response = yield* subscriptions.execute(request(body)).pipe(
        Scope.provide(requestScope),
        Effect.mapError((error) => unreachable(callType, error.reason.cause ?? error))
      )
      if (response.status !== 200) {
        return yield* Effect.flatMap(readDetail(response), (detail) => Effect.fail(unexpectedStatus(response.status, callType, detail)))
      }
      // The response's Content-Type says what the body is, whatever was asked for.
      const header = response.headers["content-type"]
      const contentType = header === undefined
        ? settings.contentType
        : Option.getOrElse(ContentType.parse(header), () => settings.contentType)
      // The body can be read once, and so the stream run once.
      return response.stream.pipe(
        Stream.mapError(connectionLost),
        decodeEvents(WireCodec.forContentType(contentType)),
        Stream.ensuring(close)
      )
    }).pipe(Effect.onError(() => close))
  })

  return AgentClient.of({ subscribe, send })
})

/** An undici dispatcher for the agent's endpoint (TCP or Unix socket), destroyed with the scope. */
const dispatcher = (agent: AgentEndpoint, options: Undici.Agent.Options) =>
  NodeHttpClient.makeDispatcherOptions(
    agent._tag === "UnixSocketEndpoint" ? { ...options, connect: { socketPath: agent.socketPath } } : options
  )

/** A client over the agent's endpoint, closed with the scope, that sends no trace headers. */
const httpClient = (agent: AgentEndpoint) =>
  Effect.gen(function*() {
    const client = yield* NodeHttpClient.makeUndici.pipe(
      Effect.provideService(NodeHttpClient.Dispatcher, yield* dispatcher(agent, {}))
    )
    // The agent has no use for trace context; the client spans stay.
    return HttpClient.transform(client, (response) =>
      Effect.provideService(response, HttpClient.TracerPropagationEnabled, false))
  })

/** The client for the agent named by the `ExecutorConfig` service. */
export const layer: Layer.Layer<AgentClient, never, ExecutorConfig> = Layer.effect(
  AgentClient,
  Effect.flatMap(ExecutorConfig, make)
)

/** The client for the agent named by `settings`. */
export const layerConfig = (settings: ConnectionSettings): Layer.Layer<AgentClient> =>
  Layer.effect(AgentClient, make(settings))

const callTypeName = (call: Call): string => Call_Type[call.type] ?? String(call.type)

const unreachable = (callType: string, cause: unknown): AgentCallError =>
  new AgentCallError({ reason: "Unreachable", call: callType, detail: describe(cause), cause })

const connectionLost = (error: HttpClientError.HttpClientError): AgentDisconnected =>
  new AgentDisconnected({
    reason: "ConnectionLost",
    detail: `the connection broke: ${describe(error.reason.cause ?? error)}`,
    cause: error.reason.cause
  })

const undecodable = (error: RecordIO.RecordIOError | WireCodec.WireDecodeError): AgentDisconnected =>
  new AgentDisconnected({ reason: "Undecodable", detail: error.message, cause: error })

const endOfStream = (): AgentDisconnected =>
  new AgentDisconnected({ reason: "EndOfStream", detail: "the agent ended the event stream" })

/** Node reports some failures (every address of a host refused) as an `AggregateError` with no message. */
const describe = (error: unknown): string => {
  if (error instanceof AggregateError && error.message === "") return error.errors.map(describe).join("; ")
  if (error instanceof Error) return error.message !== "" ? error.message : error.name
  return String(error)
}

/** Enough for any message the agent writes (they are one line), not for a proxy's error page. */
const maxDetailBytes = 1024

const utf8 = new TextDecoder()

/** Keeps the start of a response body, to say why a call failed. */
class DetailReader {
  private readonly chunks: Array<Uint8Array> = []
  private received = 0

  /** False once enough has been kept. */
  push(chunk: Uint8Array): boolean {
    if (this.received <= maxDetailBytes) this.chunks.push(chunk)
    this.received += chunk.length
    return this.received <= maxDetailBytes
  }

  text(): string {
    const bytes = Buffer.concat(this.chunks, Math.min(this.received, maxDetailBytes))
    const text = utf8.decode(bytes).trim()
    if (text === "") return "empty response body"
    return this.received > maxDetailBytes ? `${text}…` : text
  }
}

/** The start of the response body as text; what was received if the connection breaks. */
const readDetail = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> =>
  Effect.suspend(() => {
    const detail = new DetailReader()
    return response.stream.pipe(
      Stream.runForEachWhile((chunk) => Effect.sync(() => detail.push(chunk))),
      Effect.ignore,
      Effect.map(() => detail.text())
    )
  })

/**
 * RecordIO framing and event decoding in one pass, a batch of events per batch of received chunks. The
 * stream never completes: its end is an `AgentDisconnected`, after every event before the cause.
 */
const decodeEvents = (codec: WireCodec.WireCodec) =>
<R>(
  bytes: Stream.Stream<Uint8Array, AgentDisconnected, R>
): Stream.Stream<AgentEvent.AgentEvent, AgentDisconnected, R> =>
    Stream.transformPull(bytes, (upstream) =>
      Effect.sync(() => {
        const framing = RecordIO.makeDecoder()
        const records: Array<Uint8Array> = []
        // Set when a batch both decoded events and failed: the events go out first.
        let pendingFailure: AgentDisconnected | undefined

        const decodeBatch = (
          chunks: Arr.NonEmptyReadonlyArray<Uint8Array>
        ): Pull.Pull<Arr.NonEmptyReadonlyArray<AgentEvent.AgentEvent>, AgentDisconnected> => {
          let failure: AgentDisconnected | undefined
          for (const chunk of chunks) {
            const framed = framing.push(chunk, records)
            if (Result.isFailure(framed)) {
              failure = undecodable(framed.failure)
              break
            }
          }
          const events: Array<AgentEvent.AgentEvent> = []
          for (const record of records) {
            const decoded = AgentEvent.decode(codec, record)
            if (Result.isFailure(decoded)) {
              // This record precedes any framing failure in the stream.
              failure = undecodable(decoded.failure)
              break
            }
            events.push(decoded.success)
          }
          records.length = 0
          if (Arr.isArrayNonEmpty(events)) {
            pendingFailure = failure
            return Effect.succeed(events)
          }
          return failure !== undefined ? Effect.fail(failure) : pull
        }

        const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<AgentEvent.AgentEvent>, AgentDisconnected> = Effect.suspend(
          () =>
            pendingFailure !== undefined
              ? Effect.fail(pendingFailure)
              : Pull.matchEffect(upstream, {
                onSuccess: decodeBatch,
                onFailure: Effect.failCause,
                onDone: () => {
                  const ended = framing.end()
                  return Effect.fail(Result.isFailure(ended) ? undecodable(ended.failure) : endOfStream())
                }
              })
        )
        return pull
      }))
