// The client's surface: requests go to the configured endpoint (TCP or Unix socket) and nowhere else.
// An agent, or something in its place, answering with a redirect does not move the executor's calls, its
// token or its status updates to another server: the call fails with the status, typed, and the server
// the redirect names receives nothing.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted, Result } from "effect"
import type { ServerResponse } from "node:http"
import { join } from "node:path"
import type { Call } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { AgentCallError, type AgentClientShape } from "../../src/transport/AgentClient.js"
import * as HttpAgentClient from "../../src/transport/HttpAgentClient.js"
import * as ContentType from "../../src/wire/ContentType.js"
import * as WireCodec from "../../src/wire/WireCodec.js"
import { readVector } from "../support/vectors.js"
import { listen, type RawAgentServer, temporaryDirectory } from "./RawAgentServer.js"

const call = (name: string): Call => Result.getOrThrow(WireCodec.protobuf.decodeCall(readVector(`call-${name}.bin`)))
const calls = [call("subscribe"), call("update"), call("message"), call("heartbeat")]

const token = "redirect-test-token-7f3a"

/** Answers everything with `status` and a Location on `elsewhere`. */
const redirecting = (status: number, elsewhere: () => string) => (_: unknown, response: ServerResponse) => {
  response.writeHead(status, { location: elsewhere(), "content-type": "text/plain" })
  response.end(`moved to ${elsewhere()}`)
}

/** Another server, recording whatever reaches it (nothing must). */
const elsewhere = listen((_, response) => {
  response.writeHead(202, { "content-length": "0" })
  response.end()
})

const urlOf = (server: RawAgentServer) => server.endpoint.url

/** Sends every kind of call; each must fail with the redirect's status, as a typed AgentCallError. */
const sendAll = (client: AgentClientShape, status: number) =>
  Effect.gen(function*() {
    for (const sent of calls) {
      const error = yield* Effect.flip(sent.subscribe === undefined ? client.send(sent) : client.subscribe(sent))
      assert.instanceOf(error, AgentCallError)
      assert.strictEqual(error.reason, "Rejected")
      assert.strictEqual(error.status, status)
      assert.include(error.message, `(HTTP ${status})`)
    }
  })

describe("HttpAgentClient follows no redirect", () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it.live(`${status} to another server: a typed error naming the status; the other server sees nothing`, () =>
      Effect.gen(function*() {
        const other = yield* elsewhere
        const agent = yield* listen(redirecting(status, () => urlOf(other)))
        const client = yield* HttpAgentClient.make({
          agent: agent.endpoint,
          contentType: ContentType.protobuf,
          authenticationToken: Option.some(Redacted.make(token))
        })
        yield* sendAll(client, status)
        assert.strictEqual(agent.requests.length, calls.length)
        for (const request of agent.requests) assert.strictEqual(request.url, "/api/v1/executor")
        assert.strictEqual(other.connections(), 0)
        assert.strictEqual(other.requests.length, 0)
      }).pipe(Effect.scoped))
  }

  it.live("over the Unix socket, a redirect to a TCP server is not followed either", () =>
    Effect.gen(function*() {
      const directory = yield* temporaryDirectory
      const other = yield* elsewhere
      const agent = yield* listen(redirecting(307, () => urlOf(other)), {
        unixSocketPath: join(directory, "agent.sock")
      })
      const client = yield* HttpAgentClient.make({
        agent: agent.endpoint,
        contentType: ContentType.protobuf,
        authenticationToken: Option.some(Redacted.make(token))
      })
      yield* sendAll(client, 307)
      assert.strictEqual(agent.requests.length, calls.length)
      for (const request of agent.requests) {
        assert.strictEqual(request.url, "/slave(1)/api/v1/executor")
        assert.strictEqual(request.headers.authorization, `Bearer ${token}`)
      }
      assert.strictEqual(other.connections(), 0)
    }).pipe(Effect.scoped))
})
