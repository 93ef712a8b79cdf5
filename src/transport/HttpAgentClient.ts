/**
 * The HTTP implementation of `AgentClient`: calls are POSTed to the agent's executor API over TCP or its
 * Unix domain socket, and the SUBSCRIBE response body is read as RecordIO-framed events.
 *
 * Like the Mesos C++ library it keeps two connections: the subscription on its own, and every other call
 * on one keep-alive connection, pipelined (`PipelinedConnection`): calls reach the agent in the order they
 * are made, so updates for a task do too, and a call does not wait for the answers to those before it.
 *
 * Both are plain Node sockets (`node:net`, `node:http`), loaded with Node itself: an HTTP client library
 * would add its own start-up time to every executor's, and its request objects, header maps and abort
 * signals cost more than a call (measured in bench/README.md). Nothing here follows a redirect.
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Http from "node:http"
import { Array as Arr, Effect, Layer, Option, Pull, Redacted, Result, Scope, Stream } from "effect"
import { type Call, Call_Type } from "../gen/mesos/v1/executor/executor_pb.js"
import { ExecutorConfig, type ExecutorSettings } from "../config/ExecutorConfig.js"
import * as AgentEvent from "../wire/AgentEvent.js"
import * as ContentType from "../wire/ContentType.js"
import * as RecordIO from "../wire/RecordIO.js"
import * as WireCodec from "../wire/WireCodec.js"
import { AgentCallError, AgentClient, AgentDisconnected } from "./AgentClient.js"
import { ConnectionFailed, PipelinedConnection } from "./PipelinedConnection.js"

/** What the client needs to know: where the agent is, the encoding, and the token, if any. */
type ConnectionSettings = Pick<ExecutorSettings, "agent" | "contentType" | "authenticationToken">

/**
 * How long the calls' connection may stay idle before it is closed. The agent may be silent for half an
 * hour between heartbeats; a connection a firewall may have forgotten by then is not reused.
 */
const idleConnectionMillis = 4000

export interface ClientOptions {
  /**
   * The largest event record accepted, in bytes (default 64 MiB, `RecordIO`'s). A record declaring more
   * is refused before anything is allocated for it, and the subscription ends as `Undecodable`; the driver
   * then subscribes again. Raise it only for frameworks whose LAUNCH events carry more (a task's `data`).
   */
  readonly maxRecordBytes?: number | undefined
}

/** Builds a client whose connections are closed when the scope closes. */
export const make = Effect.fnUntraced(function*(settings: ConnectionSettings, options: ClientOptions = {}) {
  // An impossible limit is a programming error: found here, not at the first event.
  RecordIO.makeDecoder({ maxRecordBytes: options.maxRecordBytes })
  const codec = WireCodec.forContentType(settings.contentType)
  const token = Option.getOrUndefined(settings.authenticationToken)
  const redact = (detail: string) => token === undefined ? detail : detail.replaceAll(Redacted.value(token), "<redacted>")

  const url = new URL(settings.agent.url)
  const port = url.port === "" ? 80 : Number(url.port)
  const path = url.pathname + url.search
  // The agent reads Accept only on SUBSCRIBE; the C++ library sends it on every call, as here.
  const headers: Record<string, string> = { "content-type": settings.contentType, accept: settings.contentType }
  if (token !== undefined) headers["authorization"] = `Bearer ${Redacted.value(token)}`

  const calls = new PipelinedConnection({
    endpoint: settings.agent._tag === "UnixSocketEndpoint"
      ? { _tag: "UnixSocket", path: settings.agent.socketPath }
      : { _tag: "Tcp", host: url.hostname, port },
    method: "POST",
    path,
    headers: [["Host", url.host], ...Object.entries(headers)],
    idleMillis: idleConnectionMillis
  })
  // Not pooled: a new SUBSCRIBE must not wait for the end of the stream it replaces.
  const subscriptionConnections = new Http.Agent({ keepAlive: false })
  const subscriptionTarget: Http.RequestOptions = settings.agent._tag === "UnixSocketEndpoint"
    ? { socketPath: settings.agent.socketPath, host: url.hostname }
    : { host: url.hostname, port }
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      calls.close()
      subscriptionConnections.destroy()
    })
  )

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

  /** One call: done on 202; anything else is an `AgentCallError` with the start of the body. */
  const call = (body: Uint8Array, callType: string) =>
    Effect.callback<void, AgentCallError>((resume) => {
      const abandon = calls.request(body, (answer) => {
        if (answer instanceof ConnectionFailed) resume(Effect.fail(unreachable(callType, answer)))
        else if (answer.status === 202) resume(Effect.void)
        else resume(Effect.fail(unexpectedStatus(answer.status, callType, answer.body.trim() || "empty response body")))
      })
      return Effect.sync(abandon)
    })

  // OpenTelemetry's HTTP client attributes; never a header (the token is one). Built once per call type:
  // a call is made for every status update.
  const endpointAttributes = settings.agent._tag === "UnixSocketEndpoint"
    ? { "http.request.method": "POST", "url.path": path, "network.transport": "unix" }
    : { "http.request.method": "POST", "url.path": path, "server.address": url.hostname, "server.port": port }
  const attributesByCallType = new Map<string, Record<string, unknown>>()
  const spanAttributes = (callType: string): Record<string, unknown> => {
    let attributes = attributesByCallType.get(callType)
    if (attributes === undefined) {
      attributes = { ...endpointAttributes, "mesos.call.type": callType }
      attributesByCallType.set(callType, attributes)
    }
    return attributes
  }

  const send = Effect.fn("AgentClient.send")(function*(message: Call) {
    const callType = callTypeName(message)
    yield* Effect.annotateCurrentSpan(spanAttributes(callType))
    yield* call(yield* encode(message, callType), callType)
  })

  const subscribe = Effect.fn("AgentClient.subscribe")(function*(message: Call) {
    const callType = callTypeName(message)
    yield* Effect.annotateCurrentSpan(spanAttributes(callType))
    const body = yield* encode(message, callType)
    const scope = yield* Scope.Scope
    const response = yield* Effect.callback<Http.IncomingMessage, AgentCallError>((resume) => {
      let answered = false
      const request = Http.request({
        ...subscriptionTarget,
        agent: subscriptionConnections,
        method: "POST",
        path,
        headers: { ...headers, "content-length": body.length }
      }, (response) => {
        answered = true
        resume(Effect.succeed(response))
      })
      request.on("error", (error) => {
        // After the answer, a broken connection reaches the event stream as the response's error.
        if (!answered) resume(Effect.fail(unreachable(callType, error)))
      })
      request.end(body)
      return Effect.sync(() => request.destroy())
    })
    // The connection ends with the event stream as well as with the caller's scope.
    const close = Effect.sync(() => response.destroy())
    yield* Scope.addFinalizer(scope, close)
    if (response.statusCode !== 200) {
      const detail = yield* readDetail(response)
      return yield* Effect.fail(unexpectedStatus(response.statusCode ?? 0, callType, detail))
    }
    // The response's Content-Type says what the body is, whatever was asked for.
    const header = response.headers["content-type"]
    const contentType = header === undefined
      ? settings.contentType
      : Option.getOrElse(ContentType.parse(header), () => settings.contentType)
    // The body can be read once, and so the stream run once.
    return NodeStream.fromReadable<Uint8Array, AgentDisconnected>({ evaluate: () => response, onError: connectionLost })
      .pipe(decodeEvents(WireCodec.forContentType(contentType), options), Stream.ensuring(close))
  })

  return AgentClient.of({ subscribe, send })
})

/** The client for the agent named by the `ExecutorConfig` service. */
export const layer: Layer.Layer<AgentClient, never, ExecutorConfig> = Layer.effect(
  AgentClient,
  Effect.flatMap(ExecutorConfig, (settings) => make(settings))
)

/** `layer` with options. */
export const layerWith = (options: ClientOptions): Layer.Layer<AgentClient, never, ExecutorConfig> =>
  Layer.effect(AgentClient, Effect.flatMap(ExecutorConfig, (settings) => make(settings, options)))

/** The client for the agent named by `settings`. */
export const layerConfig = (settings: ConnectionSettings, options?: ClientOptions): Layer.Layer<AgentClient> =>
  Layer.effect(AgentClient, make(settings, options))

const callTypeName = (call: Call): string => Call_Type[call.type] ?? String(call.type)

const unreachable = (callType: string, cause: unknown): AgentCallError =>
  new AgentCallError({ reason: "Unreachable", call: callType, detail: describe(cause), cause })

const connectionLost = (cause: unknown): AgentDisconnected =>
  new AgentDisconnected({ reason: "ConnectionLost", detail: `the connection broke: ${describe(cause)}`, cause })

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
const readDetail = (response: Http.IncomingMessage): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    const detail = new DetailReader()
    let finished = false
    const done = () => {
      if (finished) return
      finished = true
      response.destroy()
      resume(Effect.succeed(detail.text()))
    }
    response.on("data", (chunk: Buffer) => {
      if (!detail.push(chunk)) done()
    })
    response.on("close", done)
    response.on("error", done)
  })

/**
 * RecordIO framing and event decoding in one pass, a batch of events per batch of received chunks. The
 * stream never completes: its end is an `AgentDisconnected`, after every event before the cause.
 */
const decodeEvents = (codec: WireCodec.WireCodec, options: ClientOptions) =>
<R>(
  bytes: Stream.Stream<Uint8Array, AgentDisconnected, R>
): Stream.Stream<AgentEvent.AgentEvent, AgentDisconnected, R> =>
    Stream.transformPull(bytes, (upstream) =>
      Effect.sync(() => {
        const framing = RecordIO.makeDecoder({ maxRecordBytes: options.maxRecordBytes })
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
