// HttpAgentClient against a bare node:http server: what goes on the wire (path, headers, body), how each
// status is reported, how the SUBSCRIBE body becomes events whatever its chunking, how the subscription
// ends, and that its connection is released.
import { assert, describe, it } from "@effect/vitest"
import { create } from "@bufbuild/protobuf"
import { Deferred, Effect, Exit, Fiber, Option, Redacted, Result, Scope, Stream } from "effect"
import type { ServerResponse } from "node:http"
import { join } from "node:path"
import { inspect } from "node:util"
import { TcpEndpoint, UnixSocketEndpoint } from "../../src/config/ExecutorConfig.js"
import { type Call, Call_Type, CallSchema } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import type { AgentClientShape, AgentDisconnected } from "../../src/transport/AgentClient.js"
import * as HttpAgentClient from "../../src/transport/HttpAgentClient.js"
import * as AgentEvent from "../../src/wire/AgentEvent.js"
import * as ContentType from "../../src/wire/ContentType.js"
import * as RecordIO from "../../src/wire/RecordIO.js"
import * as WireCodec from "../../src/wire/WireCodec.js"
import {
  listen,
  type RawAgentServer,
  type RecordedRequest,
  refusedPort,
  temporaryDirectory,
  writeApart
} from "./RawAgentServer.js"
import { readVector, streamEventNames } from "../support/vectors.js"


const encodings = [
  { codec: WireCodec.protobuf, extension: "bin", stream: readVector("stream.x-protobuf.recordio") },
  { codec: WireCodec.json, extension: "json", stream: readVector("stream.json.recordio") }
] as const

/** The golden stream's events, decoded one by one from their own vector files. */
const expectedEvents = (codec: WireCodec.WireCodec, extension: string): Array<AgentEvent.AgentEvent> =>
  streamEventNames.map((name) => Result.getOrThrow(AgentEvent.decode(codec, readVector(`event-${name}.${extension}`))))

const goldenCall = (name: string): Call => Result.getOrThrow(WireCodec.protobuf.decodeCall(readVector(`call-${name}.bin`)))
const subscribeCall = goldenCall("subscribe")
const updateCall = goldenCall("update")
const messageCall = goldenCall("message")

const oneHeartbeat = [RecordIO.encode(readVector("event-heartbeat.bin"))]

const token = "eyJhbGciOiJIUzI1NiJ9.eyJmaWQiOiJmIn0.c2VjcmV0LXNpZ25hdHVyZQ"

const settings = (
  agent: RawAgentServer,
  options: { readonly contentType?: ContentType.ContentType; readonly token?: string } = {}
) => ({
  agent: agent.endpoint,
  contentType: options.contentType ?? ContentType.protobuf,
  authenticationToken: Option.map(Option.fromNullishOr(options.token), Redacted.make)
})

const accept = (status = 202) => (_: unknown, response: ServerResponse) => {
  response.writeHead(status, { "content-length": "0" })
  response.end()
}

/** Answers SUBSCRIBE with a 200 stream of `chunks` (ended unless told otherwise), and any other call with 202. */
const agentStreaming = (
  chunks: ReadonlyArray<Uint8Array>,
  options: { readonly contentType?: string | undefined; readonly end?: "end" | "destroy" | "keep-open" } = {}
) =>
(request: RecordedRequest, response: ServerResponse) => {
  const codec = request.headers["content-type"] === ContentType.json ? WireCodec.json : WireCodec.protobuf
  const call = codec.decodeCall(request.body)
  if (Result.isFailure(call) || call.success.type !== Call_Type.SUBSCRIBE) return accept()(request, response)
  response.writeHead(200, options.contentType === undefined ? {} : { "content-type": options.contentType })
  response.flushHeaders()
  void writeApart(response, chunks).then(() => {
    if (options.end === "destroy") response.socket?.destroy()
    else if (options.end !== "keep-open") response.end()
  })
}

/** Runs the event stream to its end: the events, and the disconnection that ends it. */
const drain = (events: Stream.Stream<AgentEvent.AgentEvent, AgentDisconnected>) =>
  Effect.gen(function*() {
    const received: Array<AgentEvent.AgentEvent> = []
    const end = yield* Stream.runForEach(events, (event) => Effect.sync(() => received.push(event))).pipe(Effect.flip)
    return { received, end }
  })

const bytewise = (data: Uint8Array): Array<Uint8Array> => Array.from(data, (_, i) => data.subarray(i, i + 1))

/** Splits `data` into pieces of 1 to `max` bytes, the same ones for a given seed. */
const randomPieces = (data: Uint8Array, seed: number, max: number): Array<Uint8Array> => {
  const pieces: Array<Uint8Array> = []
  let state = seed
  for (let from = 0; from < data.length;) {
    state = (state * 1103515245 + 12345) % 2147483648
    const size = 1 + (state % max)
    pieces.push(data.subarray(from, from + size))
    from += size
  }
  return pieces
}

const utf8 = new TextEncoder()

describe("HttpAgentClient", () => {
  describe("requests", () => {
    for (const { codec } of encodings) {
      it.live(`sends ${codec.contentType} calls with the agent's headers, a token and no trace headers`, () =>
        Effect.gen(function*() {
          const agent = yield* listen(agentStreaming(oneHeartbeat, { end: "keep-open" }))
          const client = yield* HttpAgentClient.make(settings(agent, { contentType: codec.contentType, token }))
          yield* client.subscribe(subscribeCall)
          yield* client.send(updateCall)
          yield* client.send(messageCall)

          assert.strictEqual(agent.requests.length, 3)
          for (const request of agent.requests) {
            assert.strictEqual(request.method, "POST")
            assert.strictEqual(request.url, "/api/v1/executor")
            assert.strictEqual(request.headers["content-type"], codec.contentType)
            assert.strictEqual(request.headers["accept"], codec.contentType)
            assert.strictEqual(request.headers["authorization"], `Bearer ${token}`)
            assert.includeMembers(
              ["host", "connection", "content-type", "content-length", "accept", "authorization"],
              Object.keys(request.headers)
            )
          }
          const sent = agent.requests.map((request) => Result.getOrThrow(codec.decodeCall(request.body)))
          assert.deepStrictEqual(sent, [subscribeCall, updateCall, messageCall])
        }))
    }

    it.live("sends no Authorization header without a token", () =>
      Effect.gen(function*() {
        const agent = yield* listen(accept())
        const client = yield* HttpAgentClient.make(settings(agent))
        yield* client.send(messageCall)
        assert.isUndefined(agent.requests[0]?.headers["authorization"])
      }))

    it.live("posts to the path of MESOS_SLAVE_PID unescaped", () =>
      Effect.gen(function*() {
        const agent = yield* listen(accept())
        const { port } = agent.endpoint as TcpEndpoint
        const endpoint = new TcpEndpoint({ host: "127.0.0.1", port, path: "/slave(1)/api/v1/executor" })
        const client = yield* HttpAgentClient.make({ ...settings(agent), agent: endpoint })
        yield* client.send(messageCall)
        assert.strictEqual(agent.requests[0]?.url, "/slave(1)/api/v1/executor")
      }))

    it.live("subscribes and calls over the Unix domain socket on /slave(1)/api/v1/executor", () =>
      Effect.gen(function*() {
        const directory = yield* temporaryDirectory
        const agent = yield* listen(agentStreaming([readVector("stream.x-protobuf.recordio")]), {
          unixSocketPath: join(directory, "agent.sock")
        })
        const client = yield* HttpAgentClient.make(settings(agent))
        const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
        yield* client.send(updateCall)

        assert.deepStrictEqual(received, expectedEvents(WireCodec.protobuf, "bin"))
        assert.strictEqual(end.reason, "EndOfStream")
        assert.deepStrictEqual(agent.requests.map((request) => request.url), [
          "/slave(1)/api/v1/executor",
          "/slave(1)/api/v1/executor"
        ])
      }))

    it.live("keeps the subscription and the calls on two connections, and calls in order on one", () =>
      Effect.gen(function*() {
        const agent = yield* listen(agentStreaming(oneHeartbeat, { end: "keep-open" }))
        const client = yield* HttpAgentClient.make(settings(agent))
        yield* client.subscribe(subscribeCall)
        const messages = Array.from({ length: 50 }, (_, i) =>
          create(CallSchema, {
            executorId: messageCall.executorId,
            frameworkId: messageCall.frameworkId,
            type: Call_Type.MESSAGE,
            message: { data: utf8.encode(`message ${i}`) }
          }))
        yield* Effect.forEach(messages, (call) => client.send(call), { concurrency: "unbounded", discard: true })
        yield* client.send(updateCall)

        const [subscription, ...calls] = agent.requests
        assert.strictEqual(agent.connections(), 2)
        assert.isTrue(calls.every((request) => request.socket === calls[0]?.socket))
        assert.notStrictEqual(calls[0]?.socket, subscription?.socket)
        const received = calls.map((request) => Result.getOrThrow(WireCodec.protobuf.decodeCall(request.body)))
        assert.deepStrictEqual(received, [...messages, updateCall])
      }))

    it.live("fails with Encode and sends nothing when the call lacks required fields", () =>
      Effect.gen(function*() {
        const agent = yield* listen(accept())
        const client = yield* HttpAgentClient.make(settings(agent))
        const incomplete = create(CallSchema, { type: Call_Type.HEARTBEAT })
        const sendError = yield* Effect.flip(client.send(incomplete))
        const subscribeError = yield* Effect.flip(client.subscribe(create(CallSchema, { type: Call_Type.SUBSCRIBE })))

        assert.strictEqual(sendError.reason, "Encode")
        assert.strictEqual(sendError.call, "HEARTBEAT")
        assert.include(sendError.detail, "executor_id")
        assert.strictEqual(subscribeError.reason, "Encode")
        assert.strictEqual(agent.requests.length, 0)
      }))
  })

  describe("statuses", () => {
    const answering = (status: number, body: string, headers: Record<string, string> = {}) =>
      listen((_, response) => {
        response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers })
        response.end(body)
      })

    const cases = [
      { status: 503, reason: "Unavailable", body: "Agent has not finished recovery" },
      { status: 404, reason: "Unavailable", body: "404 Not Found." },
      { status: 400, reason: "Rejected", body: "Failed to validate Executor::Call: Expecting 'type' to be present" },
      {
        status: 415,
        reason: "Rejected",
        body: "Expecting 'Content-Type' of application/json or application/x-protobuf"
      },
      { status: 403, reason: "Rejected", body: "Executor is not subscribed" }
    ] as const

    for (const { body, reason, status } of cases) {
      it.live(`reports ${status} as ${reason}, with the agent's explanation`, () =>
        Effect.gen(function*() {
          const agent = yield* answering(status, body)
          const client = yield* HttpAgentClient.make(settings(agent))
          const sendError = yield* Effect.flip(client.send(updateCall))
          const subscribeError = yield* Effect.flip(client.subscribe(subscribeCall))

          for (const [error, call] of [[sendError, "UPDATE"], [subscribeError, "SUBSCRIBE"]] as const) {
            assert.strictEqual(error.reason, reason)
            assert.strictEqual(error.status, status)
            assert.strictEqual(error.call, call)
            assert.strictEqual(error.detail, body)
            assert.strictEqual(error.isTransient, reason === "Unavailable")
            assert.include(error.message, body)
          }
        }))
    }

    it.live("accepts 202 for a call and rejects 200", () =>
      Effect.gen(function*() {
        let status = 202
        const agent = yield* listen((_, response) => {
          response.writeHead(status, { "content-length": "0" })
          response.end()
        })
        const client = yield* HttpAgentClient.make(settings(agent))
        yield* client.send(updateCall)
        status = 200
        const error = yield* Effect.flip(client.send(updateCall))
        assert.strictEqual(error.reason, "Rejected")
        assert.strictEqual(error.status, 200)
        assert.strictEqual(error.detail, "empty response body")
      }))

    it.live("reads a stray 202 body, so that it does not hold up the next call", () =>
      Effect.gen(function*() {
        const agent = yield* listen((_, response) => {
          response.writeHead(202, { "content-type": "text/plain" })
          response.end("x".repeat(1_000_000))
        })
        const client = yield* HttpAgentClient.make(settings(agent))
        yield* client.send(updateCall)
        yield* client.send(messageCall).pipe(Effect.timeout("2 seconds"))
        assert.strictEqual(agent.connections(), 1)
      }))

    it.live("rejects 202 for SUBSCRIBE", () =>
      Effect.gen(function*() {
        const agent = yield* listen(accept(202))
        const client = yield* HttpAgentClient.make(settings(agent))
        const error = yield* Effect.flip(client.subscribe(subscribeCall))
        assert.strictEqual(error.reason, "Rejected")
        assert.strictEqual(error.status, 202)
      }))

    it.live("does not follow a redirect", () =>
      Effect.gen(function*() {
        const elsewhere = yield* listen(accept())
        const agent = yield* answering(307, "", { location: elsewhere.endpoint.url })
        const client = yield* HttpAgentClient.make(settings(agent))
        const sendError = yield* Effect.flip(client.send(updateCall))
        const subscribeError = yield* Effect.flip(client.subscribe(subscribeCall))

        assert.strictEqual(sendError.reason, "Rejected")
        assert.strictEqual(sendError.status, 307)
        assert.strictEqual(subscribeError.status, 307)
        assert.strictEqual(elsewhere.requests.length, 0)
      }))

    it.live("truncates a long body in the error", () =>
      Effect.gen(function*() {
        const agent = yield* answering(400, "x".repeat(100_000))
        const client = yield* HttpAgentClient.make(settings(agent))
        const error = yield* Effect.flip(client.send(updateCall))
        assert.strictEqual(error.detail, `${"x".repeat(1024)}…`)
      }))

    it.live("keeps the token out of every rendering of a 401, even when the agent echoes it", () =>
      Effect.gen(function*() {
        const agent = yield* listen((request, response) => {
          response.writeHead(401, {
            "content-type": "text/plain; charset=utf-8",
            "www-authenticate": `Bearer realm="mesos-agent-executor", error="invalid_token"`
          })
          response.end(`Invalid token: ${request.headers["authorization"]}`)
        })
        const client = yield* HttpAgentClient.make(settings(agent, { token }))
        const errors = [
          yield* Effect.flip(client.send(updateCall)),
          yield* Effect.flip(client.subscribe(subscribeCall))
        ]
        assert.strictEqual(agent.requests[0]?.headers["authorization"], `Bearer ${token}`)
        for (const error of errors) {
          assert.strictEqual(error.reason, "Rejected")
          assert.strictEqual(error.status, 401)
          assert.strictEqual(error.detail, "Invalid token: Bearer <redacted>")
          const renderings = [String(error), error.message, JSON.stringify(error), inspect(error, { depth: 10 })]
          for (const rendering of renderings) assert.notInclude(rendering, token)
        }
      }))

    it.live("reports a refused connection as Unreachable", () =>
      Effect.gen(function*() {
        const port = yield* refusedPort
        const client = yield* HttpAgentClient.make({
          agent: new TcpEndpoint({ host: "127.0.0.1", port }),
          contentType: ContentType.protobuf,
          authenticationToken: Option.some(Redacted.make(token))
        })
        const sendError = yield* Effect.flip(client.send(updateCall))
        const subscribeError = yield* Effect.flip(client.subscribe(subscribeCall))

        for (const error of [sendError, subscribeError]) {
          assert.strictEqual(error.reason, "Unreachable")
          assert.isTrue(error.isTransient)
          assert.include(error.detail, "ECONNREFUSED")
          assert.notInclude(inspect(error, { depth: 10 }), token)
        }
      }))

    it.live("reports a missing Unix socket as Unreachable", () =>
      Effect.gen(function*() {
        const directory = yield* temporaryDirectory
        const client = yield* HttpAgentClient.make({
          agent: new UnixSocketEndpoint({ socketPath: join(directory, "missing.sock") }),
          contentType: ContentType.protobuf,
          authenticationToken: Option.none()
        })
        const error = yield* Effect.flip(client.send(updateCall))
        assert.strictEqual(error.reason, "Unreachable")
        assert.include(error.detail, "ENOENT")
      }))

    it.live("reports a connection reset before the answer as Unreachable", () =>
      Effect.gen(function*() {
        const agent = yield* listen((_, response) => response.socket?.destroy())
        const client = yield* HttpAgentClient.make(settings(agent))
        const error = yield* Effect.flip(client.send(updateCall))
        assert.strictEqual(error.reason, "Unreachable")
      }))
  })

  describe("event stream", () => {
    for (const { codec, extension, stream } of encodings) {
      const expected = expectedEvents(codec, extension)

      it.live(`decodes ${codec.contentType} events split at every byte`, () =>
        Effect.gen(function*() {
          const agent = yield* listen(agentStreaming(bytewise(stream), { contentType: codec.contentType }))
          const client = yield* HttpAgentClient.make(settings(agent, { contentType: codec.contentType }))
          const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
          assert.deepStrictEqual(received, expected)
          assert.strictEqual(end.reason, "EndOfStream")
        }))

      it.live(`decodes ${codec.contentType} events split at random and all in one chunk`, () =>
        Effect.gen(function*() {
          for (const chunks of [randomPieces(stream, 7, 300), randomPieces(stream, 8, 40), [stream]]) {
            const agent = yield* listen(agentStreaming(chunks, { contentType: codec.contentType }))
            const client = yield* HttpAgentClient.make(settings(agent, { contentType: codec.contentType }))
            const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
            assert.deepStrictEqual(received, expected)
            assert.strictEqual(end.reason, "EndOfStream")
          }
        }))
    }

    it.live("decodes by the response's Content-Type, else by the requested one", () =>
      Effect.gen(function*() {
        const json = yield* listen(agentStreaming([readVector("stream.json.recordio")], { contentType: ContentType.json }))
        const labelledClient = yield* HttpAgentClient.make(settings(json))
        const labelled = yield* drain(yield* labelledClient.subscribe(subscribeCall))
        assert.deepStrictEqual(labelled.received, expectedEvents(WireCodec.json, "json"))

        const protobuf = yield* listen(agentStreaming([readVector("stream.x-protobuf.recordio")]))
        const unlabelledClient = yield* HttpAgentClient.make(settings(protobuf))
        const unlabelled = yield* drain(yield* unlabelledClient.subscribe(subscribeCall))
        assert.deepStrictEqual(unlabelled.received, expectedEvents(WireCodec.protobuf, "bin"))
      }))

    it.live("ends with ConnectionLost when the socket breaks inside a record", () =>
      Effect.gen(function*() {
        const heartbeat = RecordIO.encode(readVector("event-heartbeat.bin"))
        const message = RecordIO.encode(readVector("event-message.bin"))
        const agent = yield* listen(
          agentStreaming([heartbeat, message.subarray(0, 5)], { contentType: ContentType.protobuf, end: "destroy" })
        )
        const client = yield* HttpAgentClient.make(settings(agent))
        const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
        assert.deepStrictEqual(received.map((event) => event._tag), ["Heartbeat"])
        assert.strictEqual(end.reason, "ConnectionLost")
      }))

    it.live("ends with Undecodable when the agent ends the body inside a record", () =>
      Effect.gen(function*() {
        const heartbeat = RecordIO.encode(readVector("event-heartbeat.bin"))
        const agent = yield* listen(
          agentStreaming([heartbeat, heartbeat.subarray(0, 3)], { contentType: ContentType.protobuf })
        )
        const client = yield* HttpAgentClient.make(settings(agent))
        const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
        assert.deepStrictEqual(received.map((event) => event._tag), ["Heartbeat"])
        assert.strictEqual(end.reason, "Undecodable")
        assert.include(end.detail, "ended")
      }))

    it.live("refuses a record larger than maxRecordBytes, after the events before it", () =>
      Effect.gen(function*() {
        const heartbeat = RecordIO.encode(readVector("event-heartbeat.bin"))
        const message = RecordIO.encode(readVector("event-message.bin"))
        const agent = yield* listen(agentStreaming([heartbeat, message], { contentType: ContentType.protobuf, end: "keep-open" }))
        const limit = readVector("event-heartbeat.bin").length
        const client = yield* HttpAgentClient.make(settings(agent), { maxRecordBytes: limit })
        const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
        assert.deepStrictEqual(received.map((event) => event._tag), ["Heartbeat"])
        assert.strictEqual(end.reason, "Undecodable")
        assert.include(end.detail, `maxRecordBytes (${limit})`)
      }))

    const [protobuf, json] = encodings
    const garbage = [
      { name: "a record-size header that is not a number", ...protobuf, record: utf8.encode("HTTP/1.1 200 OK\n") },
      { name: "a record that is not protobuf", ...protobuf, record: RecordIO.encode(new Uint8Array([0x08, 0x80])) },
      { name: "a record that is not JSON", ...json, record: RecordIO.encode(utf8.encode("{\"type\":")) }
    ]

    for (const { codec, extension, name, record } of garbage) {
      it.live(`ends with Undecodable on ${name}, after the events before it`, () =>
        Effect.gen(function*() {
          const heartbeat = RecordIO.encode(readVector(`event-heartbeat.${extension}`))
          const trailing = RecordIO.encode(readVector(`event-shutdown.${extension}`))
          // All in one chunk: the events before the bad record still come out, the ones after it do not.
          const body = new Uint8Array([...heartbeat, ...record, ...trailing])
          const agent = yield* listen(agentStreaming([body], { contentType: codec.contentType, end: "keep-open" }))
          const client = yield* HttpAgentClient.make(settings(agent, { contentType: codec.contentType }))
          const { end, received } = yield* drain(yield* client.subscribe(subscribeCall))
          assert.deepStrictEqual(received.map((event) => event._tag), ["Heartbeat"])
          assert.strictEqual(end.reason, "Undecodable")
        }))
    }
  })

  describe("releasing the subscription", () => {
    /** An agent that streams one heartbeat and then holds the subscription open, telling when its socket closes. */
    const holdingAgent = Effect.gen(function*() {
      const socketClosed = yield* Deferred.make<void>()
      const agent = yield* listen((request, response) => {
        request.socket.once("close", () => Deferred.doneUnsafe(socketClosed, Exit.void))
        agentStreaming(oneHeartbeat, { end: "keep-open" })(request, response)
      })
      const client: AgentClientShape = yield* HttpAgentClient.make(settings(agent))
      return { client, socketClosed: Deferred.await(socketClosed).pipe(Effect.timeout("2 seconds")) }
    })

    it.live("closes the connection when the scope closes", () =>
      Effect.gen(function*() {
        const { client, socketClosed } = yield* holdingAgent
        const scope = yield* Scope.make()
        const events = yield* client.subscribe(subscribeCall).pipe(Scope.provide(scope))
        const consumer = yield* Stream.runDrain(events).pipe(Effect.flip, Effect.forkChild)
        yield* Effect.sleep("50 millis")
        yield* Scope.close(scope, Exit.void)
        yield* socketClosed
        assert.strictEqual((yield* Fiber.join(consumer)).reason, "ConnectionLost")
      }))

    it.live("closes the connection when the stream's consumer is interrupted", () =>
      Effect.gen(function*() {
        const { client, socketClosed } = yield* holdingAgent
        const events = yield* client.subscribe(subscribeCall)
        const consumer = yield* Stream.runDrain(events).pipe(Effect.forkChild)
        yield* Effect.sleep("50 millis")
        yield* Fiber.interrupt(consumer)
        yield* socketClosed
      }))

    it.live("closes the connection when the consumer stops reading", () =>
      Effect.gen(function*() {
        const { client, socketClosed } = yield* holdingAgent
        const events = yield* client.subscribe(subscribeCall)
        const first = yield* Stream.runHead(events)
        assert.strictEqual(Option.getOrThrow(first)._tag, "Heartbeat")
        yield* socketClosed
      }))
  })
})
