/**
 * The loopback HTTP fake agent: an `AgentModel` served as the agent serves
 * its executor API, for integration tests of real executors and for the local
 * agent. It listens on 127.0.0.1 (an ephemeral port unless told otherwise) and
 * optionally on a Unix domain socket, and answers POST `/api/v1/executor` and
 * `/slave(1)/api/v1/executor` with the agent's HTTP checks in the agent's
 * order (405, 400, 415, parse errors), `Accept` negotiation for SUBSCRIBE,
 * and a chunked RecordIO event stream, one record per chunk. While the model's
 * agent is down, the listening sockets are closed (connections are refused)
 * and reopened on the same port and path when it comes back.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const agent = yield* HttpFakeAgent.HttpFakeAgent
 *   const model = yield* AgentModel.AgentModel
 *   yield* model.launch({ taskId: { value: "task-1" }, command: { value: "sleep 1" } })
 *   const env = yield* agent.environment()
 *   // start the executor process with `env`, then:
 *   yield* model.awaitUpdate((update) => update.status.state === TaskState.TASK_FINISHED)
 * }).pipe(Effect.provide(HttpFakeAgent.layer({ frameworks: [{ checkpoint: true }] })))
 * ```
 */
import { createServer } from "node:http"
import { rmSync } from "node:fs"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Context, Deferred, Duration, Effect, Layer, Option, Result, Schedule, ScopedRef, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import { type Call, CallSchema } from "../gen/mesos/v1/executor/executor_pb.js"
import * as MesosDuration from "../config/MesosDuration.js"
import * as ContentType from "../wire/ContentType.js"
import * as MesosJson from "../wire/MesosJson.js"
import * as RecordIO from "../wire/RecordIO.js"
import * as WireCodec from "../wire/WireCodec.js"
import {
  AgentModel,
  type AgentModelError,
  type AgentModelOptions,
  type AgentModelShape,
  type ExecutorRef,
  rejected,
  type Rejected,
  type Subscription
} from "./AgentModel.js"

export interface Options extends AgentModelOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** Default 0: an ephemeral port. `AgentInfo.port` is the bound port. */
  readonly port?: number | undefined
  /**
   * Also serve on this Unix domain socket, as with
   * `--http_executor_domain_sockets`: only `/slave(1)/api/v1/executor` there.
   */
  readonly socketPath?: string | undefined
}

export interface HttpFakeAgentShape {
  /** The agent being served: control and inspection. */
  readonly model: AgentModelShape
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** The executor API as the C++ library addresses it: `<url>/slave(1)/api/v1/executor`. */
  readonly executorUrl: string
  readonly port: number
  readonly socketPath: string | undefined
  /**
   * The environment the agent gives the executor (SPEC §5): ids, endpoint,
   * checkpoint flag, durations in the agent's format, token, socket; with a
   * sandbox directory, `MESOS_DIRECTORY` and `MESOS_SANDBOX` too.
   */
  readonly environment: (
    executor?: ExecutorRef & { readonly sandbox?: string | undefined }
  ) => Effect.Effect<Record<string, string>, AgentModelError>
}

export class HttpFakeAgent extends Context.Service<HttpFakeAgent, HttpFakeAgentShape>()(
  "effect-mesos-executor/testing/HttpFakeAgent"
) {}

/** Serves a new model; both live in the scope. */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const host = options.host ?? "127.0.0.1"
  const modelReady = yield* Deferred.make<AgentModelShape>()
  const app = (socket: "tcp" | "unix") => Effect.flatMap(Deferred.await(modelReady), (model) => serve(model, socket))

  /** Serves `socket` on a new server; closing the scope cuts every connection, as the agent's exit does. */
  const serveOn = (socket: "tcp" | "unix", listenOptions: NodeHttpServer.Options) =>
    Effect.gen(function*() {
      const server = createServer()
      const served = yield* NodeHttpServer.make(() => server, { ...listenOptions, gracefulShutdownTimeout })
      yield* served.serve(app(socket))
      // Runs first: stop accepting, then cut what is open, so that nothing is left for a graceful close to wait for.
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          server.close()
          server.closeAllConnections()
        })
      )
      return served.address
    })

  const listen = (port: number) =>
    Effect.gen(function*() {
      const address = yield* serveOn("tcp", { host, port })
      if (options.socketPath !== undefined) {
        // A socket file left by an earlier run would make listening fail.
        rmSync(options.socketPath, { force: true })
        yield* serveOn("unix", { path: options.socketPath })
      }
      // Listening on `host`, an IP address, binds an IP address.
      return address._tag === "UnixPathAddress" ? port : address.port
    })

  const listener = yield* ScopedRef.fromAcquire(listen(options.port ?? 0))
  const port = yield* ScopedRef.get(listener)
  const model = yield* AgentModel.make({ ...options, hostname: options.hostname ?? host, port })
  yield* Deferred.succeed(modelReady, model)

  // Close the listening sockets while the agent is down, reopen them on the same port when it is back.
  yield* model.changes.pipe(
    Stream.map((state) => state.phase === "Down"),
    Stream.changes,
    Stream.drop(1),
    Stream.runForEach((down) =>
      down
        ? ScopedRef.set(listener, Effect.succeed(port))
        // The port can take a moment to be free again.
        : ScopedRef.set(listener, listen(port)).pipe(Effect.retry(Schedule.spaced(Duration.millis(20))))
    ),
    Effect.forkScoped
  )

  const url = `http://${host}:${port}`
  return HttpFakeAgent.of({
    model,
    url,
    executorUrl: `${url}/slave(1)/api/v1/executor`,
    port,
    socketPath: options.socketPath,
    environment: (executor) =>
      Effect.gen(function*() {
        const found = yield* model.executor(executor)
        const state = yield* model.state
        const checkpoint = state.frameworks.find((framework) => framework.id === found.frameworkId)?.info.checkpoint
        const endpoint = `${host}:${port}`
        return {
          MESOS_FRAMEWORK_ID: found.frameworkId,
          MESOS_EXECUTOR_ID: found.executorId,
          MESOS_SLAVE_ID: state.agentInfo.id!.value,
          MESOS_SLAVE_PID: `slave(1)@${endpoint}`,
          MESOS_AGENT_ENDPOINT: endpoint,
          MESOS_CHECKPOINT: checkpoint ? "1" : "0",
          MESOS_HTTP_COMMAND_EXECUTOR: "0",
          MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: MesosDuration.format(found.shutdownGracePeriod),
          LIBPROCESS_PORT: "0",
          ...(checkpoint
            ? {
              MESOS_RECOVERY_TIMEOUT: MesosDuration.format(state.flags.recoveryTimeout),
              MESOS_SUBSCRIPTION_BACKOFF_MAX: MesosDuration.format(state.flags.reregistrationTimeout)
            }
            : {}),
          ...(state.flags.authentication ? { MESOS_EXECUTOR_AUTHENTICATION_TOKEN: found.token } : {}),
          ...(options.socketPath === undefined ? {} : { MESOS_DOMAIN_SOCKET: options.socketPath }),
          ...(executor?.sandbox === undefined
            ? {}
            : { MESOS_DIRECTORY: executor.sandbox, MESOS_SANDBOX: executor.sandbox })
        }
      })
  })
})

/** An `HttpFakeAgent` and its `AgentModel`. */
export const layer = (options: Options = {}): Layer.Layer<HttpFakeAgent | AgentModel, ServeError> =>
  Layer.effectContext(
    Effect.map(make(options), (agent) => Context.make(HttpFakeAgent, agent).pipe(Context.add(AgentModel, agent.model)))
  )

// Closing the server with a subscription open would otherwise wait 20 s.
const gracefulShutdownTimeout = Duration.millis(100)

/** The agent's paths for the executor API; libprocess also routes the trailing slash. */
const tcpPaths: ReadonlySet<string> = new Set([
  "/api/v1/executor",
  "/api/v1/executor/",
  "/slave(1)/api/v1/executor",
  "/slave(1)/api/v1/executor/"
])

/** Over the executor socket the agent allows its own path only (and `/slave(1)/api/v1`, the operator API). */
const unixPath = "/slave(1)/api/v1/executor"

const serve = (model: AgentModelShape, socket: "tcp" | "unix") =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    respond(model, socket, request).pipe(
      // The executor went away before the agent read its request.
      Effect.catchTag("HttpServerError", () => Effect.succeed(reset(request)))
    ))

const respond = (model: AgentModelShape, socket: "tcp" | "unix", request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    if ((yield* model.state).phase === "Down") return reset(request)
    const path = new URL(request.url, "http://agent").pathname
    if (socket === "unix" ? path !== unixPath : !tcpPaths.has(path)) {
      return socket === "unix" ? text(rejected(403, "403 Forbidden.")) : text(rejected(404, "404 Not Found."))
    }
    const body = new Uint8Array(yield* request.arrayBuffer)
    const contentType = request.headers["content-type"]
    const accept = ContentType.negotiate(request.headers["accept"])
    const response = yield* model.handle({
      call: readCall(request.method, contentType, body),
      acceptable: Option.isSome(accept),
      contentType,
      authorization: request.headers["authorization"]
    })
    switch (response._tag) {
      case "Refused":
        return reset(request)
      case "Accepted":
        return HttpServerResponse.empty({ status: 202, headers: { "content-length": "0" } })
      case "Rejected":
        return text(response)
      case "Subscribed":
        return eventStream(request, response.subscription, Option.getOrThrow(accept))
    }
  })

/** The request as a call, or the answer to one that cannot be (`Http::executor`, before validation). */
const readCall = (method: string, contentType: string | undefined, body: Uint8Array): Call | Rejected => {
  if (method !== "POST") {
    return rejected(405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${method}'.`, {
      Allow: "POST"
    })
  }
  if (contentType === undefined) return rejected(400, "Expecting 'Content-Type' to be present")
  if (contentType === ContentType.protobuf) {
    const call = WireCodec.protobuf.decodeCall(body)
    return Result.isSuccess(call) && WireCodec.missingRequiredFields(CallSchema, call.success).length === 0
      ? call.success
      : rejected(400, "Failed to parse body into Call protobuf")
  }
  if (contentType === ContentType.json) {
    const json = utf8.decode(body)
    try {
      JSON.parse(json)
    } catch (error) {
      return rejected(400, `Failed to parse body into JSON: ${error instanceof Error ? error.message : String(error)}`)
    }
    const call = MesosJson.parse(CallSchema, json)
    if (Result.isFailure(call)) {
      return rejected(400, `Failed to convert JSON into Call protobuf: ${call.failure.message}`)
    }
    const missing = WireCodec.missingRequiredFields(CallSchema, call.success)
    return missing.length === 0
      ? call.success
      : rejected(400, `Failed to convert JSON into Call protobuf: Missing required fields: ${missing.join(", ")}`)
  }
  return rejected(415, "Expecting 'Content-Type' of application/json or application/x-protobuf")
}

const utf8 = new TextDecoder()

const text = (response: Rejected): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(response.body, {
    status: response.status,
    contentType: "text/plain; charset=utf-8",
    headers: response.headers
  })

/**
 * 200 with the events as RecordIO records in `contentType`, each its own HTTP
 * chunk as the agent writes them. A stream the agent closes ends the body; a
 * broken one cuts the connection without the last chunk.
 */
const eventStream = (
  request: HttpServerRequest.HttpServerRequest,
  subscription: Subscription,
  contentType: ContentType.ContentType
): HttpServerResponse.HttpServerResponse => {
  const codec = WireCodec.forContentType(contentType)
  return HttpServerResponse.stream(
    subscription.events.pipe(
      // The model only writes events with every required field set.
      Stream.map((event) => RecordIO.encode(Result.getOrThrow(codec.encodeEvent(event)))),
      Stream.rechunk(1),
      Stream.catchTag("StreamBroken", () => Stream.fromEffectDrain(Effect.sync(() => destroy(request)))),
      Stream.ensuring(subscription.close)
    ),
    { status: 200, contentType }
  )
}

/** Cuts the connection, as a dead agent does; the response is never written. */
const reset = (request: HttpServerRequest.HttpServerRequest): HttpServerResponse.HttpServerResponse => {
  destroy(request)
  return HttpServerResponse.empty()
}

const destroy = (request: HttpServerRequest.HttpServerRequest): void => {
  NodeHttpServerRequest.toServerResponse(request).destroy()
}
