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
 * It serves with `node:http` directly rather than through effect/http's
 * server, and answers each call at once, in Node's callback, as the model
 * allows (`handleUnsafe`); only the stream of a SUBSCRIBE is written by a
 * fiber, in the agent's scope. Benchmarks measure executors against this
 * agent, so it must cost less per status update than they do: the generic
 * server's request and response objects, body streams and per-request fibers
 * and scopes were a fifth of the agent's cost per update.
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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo, ListenOptions } from "node:net"
import { rmSync } from "node:fs"
import { Context, Duration, Effect, FiberSet, Layer, Option, Result, Schedule, ScopedRef, Stream } from "effect"
import { ServeError } from "effect/http/HttpServerError"
import { toBinary } from "@bufbuild/protobuf"
import { type Call, Call_Type, CallSchema, type Event, EventSchema } from "../gen/mesos/v1/executor/executor_pb.js"
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
  // Set once the agent is up; it needs the bound port.
  let model: AgentModelShape | undefined
  // The fibers that write the event streams, in the agent's scope.
  const run = yield* FiberSet.makeRuntime<never, void, never>()

  const onRequest = (socket: Socket) => (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      // Not up yet: as if the agent were not listening.
      if (model === undefined) return reset(response)
      try {
        const stream = respond(model, socket, request, response, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
        if (stream !== undefined) run(stream)
      } catch (defect) {
        run(failed(response, defect))
      }
    })
    // The executor went away before the agent read its request.
    request.on("error", () => reset(response))
  }

  /** Serves `socket` on a new server; closing the scope cuts every connection, as the agent's exit does. */
  const serveOn = (socket: Socket, listenOptions: ListenOptions) =>
    Effect.acquireRelease(
      Effect.callback<Server, ServeError>((resume) => {
        const server = createServer(onRequest(socket))
        const failed = (cause: unknown) => resume(Effect.fail(new ServeError({ cause })))
        server.once("error", failed)
        server.listen(listenOptions, () => {
          server.off("error", failed)
          resume(Effect.succeed(server))
        })
        return Effect.sync(() => server.close())
      }),
      // Stop accepting, then cut what is open, so that nothing is left for a graceful close to wait for.
      (server) =>
        Effect.sync(() => {
          server.close()
          server.closeAllConnections()
        })
    )

  const listen = (port: number) =>
    Effect.gen(function*() {
      const server = yield* serveOn("tcp", { host, port })
      if (options.socketPath !== undefined) {
        // A socket file left by an earlier run would make listening fail.
        rmSync(options.socketPath, { force: true })
        yield* serveOn("unix", { path: options.socketPath })
      }
      // Listening on `host`, an IP address, binds an IP address.
      return (server.address() as AddressInfo).port
    })

  const listener = yield* ScopedRef.fromAcquire(listen(options.port ?? 0))
  const port = yield* ScopedRef.get(listener)
  const agent = yield* AgentModel.make({ ...options, hostname: options.hostname ?? host, port })
  model = agent

  // Close the listening sockets while the agent is down, reopen them on the same port when it is back.
  yield* agent.changes.pipe(
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
    model: agent,
    url,
    executorUrl: `${url}/slave(1)/api/v1/executor`,
    port,
    socketPath: options.socketPath,
    environment: (executor) =>
      Effect.gen(function*() {
        const found = yield* agent.executor(executor)
        const state = yield* agent.state
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

type Socket = "tcp" | "unix"

/** The agent's paths for the executor API; libprocess also routes the trailing slash. */
const tcpPaths: ReadonlySet<string> = new Set([
  "/api/v1/executor",
  "/api/v1/executor/",
  "/slave(1)/api/v1/executor",
  "/slave(1)/api/v1/executor/"
])

/** Over the executor socket the agent allows its own path only (and `/slave(1)/api/v1`, the operator API). */
const unixPath = "/slave(1)/api/v1/executor"

/**
 * Answers one whole request at once, as the agent answers every call; for a
 * SUBSCRIBE, the writing of the event stream to run.
 */
const respond = (
  model: AgentModelShape,
  socket: Socket,
  request: IncomingMessage,
  response: ServerResponse,
  body: Uint8Array
): Effect.Effect<void> | undefined => {
  if (model.stateUnsafe().phase === "Down") {
    reset(response)
    return
  }
  const path = new URL(request.url ?? "/", "http://agent").pathname
  if (socket === "unix" ? path !== unixPath : !tcpPaths.has(path)) {
    send(response, socket === "unix" ? rejected(403, "403 Forbidden.") : rejected(404, "404 Not Found."))
    return
  }
  const contentType = request.headers["content-type"]
  const call = readCall(request.method ?? "", contentType, body)
  // Only SUBSCRIBE answers with a body whose type `Accept` decides.
  const accept = "_tag" in call || call.type !== Call_Type.SUBSCRIBE
    ? Option.none()
    : ContentType.negotiate(request.headers["accept"])
  const answer = model.handleUnsafe({
    call,
    acceptable: Option.isSome(accept),
    contentType,
    authorization: request.headers["authorization"]
  })
  switch (answer._tag) {
    case "Refused":
      reset(response)
      return
    case "Accepted":
      response.writeHead(202, { "content-length": "0" })
      response.end()
      return
    case "Rejected":
      send(response, answer)
      return
    case "Subscribed":
      return streamEvents(response, answer.subscription, Option.getOrThrow(accept))
  }
}

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

/** The agent's `text/plain` answer. */
const send = (response: ServerResponse, answer: Rejected): void => {
  const body = Buffer.from(answer.body)
  response.writeHead(answer.status, {
    ...answer.headers,
    "content-type": "text/plain; charset=utf-8",
    "content-length": body.length
  })
  response.end(body)
}

/**
 * 200 with the events as RecordIO records in `contentType`, each its own HTTP
 * chunk as the agent writes them. A stream the agent closes ends the body; a
 * broken one cuts the connection without the last chunk. When the executor
 * closes its end, the agent writes into the void from then on.
 */
const streamEvents = (
  response: ServerResponse,
  subscription: Subscription,
  contentType: ContentType.ContentType
): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    response.once("close", () => fiber.interruptUnsafe())
    response.writeHead(200, { "content-type": contentType })
    const encode = eventEncoder(contentType)
    return subscription.events.pipe(
      Stream.runForEachArray((events) =>
        Effect.sync(() => {
          for (const event of events) response.write(RecordIO.encode(encode(event)))
        })
      ),
      Effect.match({ onSuccess: () => response.end(), onFailure: () => response.destroy() }),
      Effect.ensuring(subscription.close)
    )
  })

/** The model only writes events with every required field set: they are encoded without checking them again. */
const eventEncoder = (contentType: ContentType.ContentType): (event: Event) => Uint8Array =>
  contentType === ContentType.protobuf
    ? (event) => toBinary(EventSchema, event)
    : (event) => Result.getOrThrow(MesosJson.encode(EventSchema, event))

/** A bug of the fake's own: logged, and answered 500, or the connection cut once a stream is under way. */
const failed = (response: ServerResponse, defect: unknown): Effect.Effect<void> =>
  Effect.andThen(
    Effect.logError("the fake agent could not answer a request", defect),
    Effect.sync(() =>
      response.headersSent ? reset(response) : send(response, rejected(500, "500 Internal Server Error."))
    )
  )

/** Cuts the connection, as a dead agent does; the response is never written. */
const reset = (response: ServerResponse): void => {
  response.destroy()
}
