// PipelinedConnection against raw TCP servers that answer byte for byte: pipelining, every way an
// HTTP/1.1 body can be delimited (also split at every byte), and every way a connection can fail.
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Net from "node:net"
import { type Answer, ConnectionFailed, PipelinedConnection } from "../../src/transport/PipelinedConnection.js"

interface RawServer {
  readonly port: number
  /** Bytes received so far, per connection. */
  readonly received: Array<string>
  readonly sockets: Array<Net.Socket>
  close(): Promise<void>
}

const servers: Array<RawServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

/** A server that calls `onRequest` with the socket and every complete request head+body seen on it. */
const serve = (onData: (socket: Net.Socket, received: string, index: number) => void): Promise<RawServer> =>
  new Promise((resolve) => {
    const received: Array<string> = []
    const sockets: Array<Net.Socket> = []
    const server = Net.createServer((socket) => {
      const index = sockets.length
      sockets.push(socket)
      received.push("")
      socket.on("data", (chunk) => {
        received[index] += chunk.toString("latin1")
        onData(socket, received[index]!, index)
      })
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => {
      const raw: RawServer = {
        port: (server.address() as Net.AddressInfo).port,
        received,
        sockets,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      }
      servers.push(raw)
      resolve(raw)
    })
  })

const requestsIn = (text: string): number => text.split("POST /api/v1/executor HTTP/1.1\r\n").length - 1

/** Answers each request, once all `expected` have arrived, with `answers` written as one chunk. */
const answeringAll = (expected: number, answers: string) =>
  serve((socket, received) => {
    if (requestsIn(received) === expected) socket.write(answers)
  })

const connectionTo = (server: RawServer, idleMillis = 4000) =>
  new PipelinedConnection({
    endpoint: { _tag: "Tcp", host: "127.0.0.1", port: server.port },
    method: "POST",
    path: "/api/v1/executor",
    headers: [["Host", `127.0.0.1:${server.port}`], ["content-type", "application/x-protobuf"]],
    idleMillis
  })

const send = (connection: PipelinedConnection, body: string) =>
  new Promise<Answer | ConnectionFailed>((resolve) => connection.request(new TextEncoder().encode(body), resolve))

const accepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"

describe("PipelinedConnection", () => {
  it("writes every request at once on one connection, without waiting for answers, and matches answers in order", async () => {
    const server = await answeringAll(
      3,
      accepted + "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request" + accepted
    )
    const connection = connectionTo(server)
    const answers = await Promise.all([send(connection, "one"), send(connection, "two"), send(connection, "three")])
    expect(answers).toEqual([{ status: 202, body: "" }, { status: 400, body: "bad request" }, { status: 202, body: "" }])
    expect(server.sockets).toHaveLength(1)
    const received = server.received[0]!
    expect(received).toContain("POST /api/v1/executor HTTP/1.1\r\nHost: 127.0.0.1:")
    expect(received).toContain("content-type: application/x-protobuf\r\nContent-Length: 3\r\n\r\none")
    expect(received.endsWith("Content-Length: 5\r\n\r\nthree")).toBe(true)
    connection.close()
  })

  it("reads chunked bodies, skips interim (1xx) answers, and keeps only the start of a long body", async () => {
    const long = "x".repeat(5000)
    const server = await answeringAll(
      3,
      "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nAgent\r\n9\r\n recovers\r\n0\r\nX-Trailer: t\r\n\r\n" +
        `HTTP/1.1 401 Unauthorized\r\nContent-Length: ${long.length}\r\n\r\n${long}` +
        accepted
    )
    const connection = connectionTo(server)
    const [first, second, third] = await Promise.all([send(connection, "a"), send(connection, "b"), send(connection, "c")])
    expect(first).toEqual({ status: 503, body: "Agent recovers" })
    expect((second as Answer).status).toBe(401)
    expect((second as Answer).body).toBe(`${"x".repeat(1024)}…`)
    expect(third).toEqual({ status: 202, body: "" })
    connection.close()
  })

  it("parses the same answers whatever the TCP segments: split at any bytes", async () => {
    const answers = accepted +
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnot\r\n6\r\n found\r\n0\r\n\r\n" +
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nnope"
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: answers.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), answers.length]
        const server = await serve((socket, received) => {
          if (requestsIn(received) !== 3) return
          const pieces = points.slice(1).map((end, i) => answers.slice(points[i], end))
          const writeNext = () => {
            const piece = pieces.shift()
            if (piece === undefined) return
            socket.write(piece)
            setImmediate(writeNext)
          }
          writeNext()
        })
        const connection = connectionTo(server)
        const got = await Promise.all([send(connection, "1"), send(connection, "2"), send(connection, "3")])
        connection.close()
        expect(got).toEqual([{ status: 202, body: "" }, { status: 404, body: "not found" }, { status: 400, body: "nope" }])
      }),
      { numRuns: 40 }
    )
  })

  it("a connection that breaks fails every request still waiting, and the next request opens a new one", async () => {
    const server = await serve((socket, received, index) => {
      if (index === 0 && requestsIn(received) === 2) socket.end(accepted.slice(0, 20))
      if (index === 1 && requestsIn(received) === 1) socket.write(accepted)
    })
    const connection = connectionTo(server)
    const failed = await Promise.all([send(connection, "a"), send(connection, "b")])
    for (const answer of failed) {
      expect(answer).toBeInstanceOf(ConnectionFailed)
      expect((answer as ConnectionFailed).message).toBe("the agent closed the connection before answering")
    }
    expect(await send(connection, "c")).toEqual({ status: 202, body: "" })
    expect(server.sockets).toHaveLength(2)
    connection.close()
  })

  it("after an answer saying Connection: close, the requests behind it fail and are not answered from the old connection", async () => {
    const server = await answeringAll(2, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" + accepted)
    const connection = connectionTo(server)
    const [first, second] = await Promise.all([send(connection, "a"), send(connection, "b")])
    expect(first).toEqual({ status: 202, body: "" })
    expect(second).toBeInstanceOf(ConnectionFailed)
    connection.close()
  })

  it("a body delimited by the end of the connection (no length, not chunked) ends with it", async () => {
    const server = await serve((socket, received) => {
      if (requestsIn(received) === 1) socket.end("HTTP/1.0 500 Internal Server Error\r\n\r\nagent failure")
    })
    const connection = connectionTo(server)
    expect(await send(connection, "a")).toEqual({ status: 500, body: "agent failure" })
    connection.close()
  })

  it("what is not HTTP fails the requests with a message that says so", async () => {
    const cases = [
      ["SSH-2.0-OpenSSH_9.2\r\n\r\n", "does not start with an HTTP/1.x status line"],
      ["HTTP/1.1 202 Accepted\r\nContent-Length: many\r\n\r\n", "Content-Length is not a number"],
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size is not hexadecimal"],
      [`HTTP/1.1 202 Accepted\r\nX-Long: ${"a".repeat(70 * 1024)}`, "longer than 65536 bytes"]
    ] as const
    for (const [answer, problem] of cases) {
      const server = await answeringAll(1, answer)
      const connection = connectionTo(server)
      const result = await send(connection, "a")
      expect(result).toBeInstanceOf(ConnectionFailed)
      expect((result as ConnectionFailed).message).toContain(problem)
      connection.close()
    }
  })

  it("an unreachable agent fails the request with the system's reason", async () => {
    const server = await serve(() => {})
    const { port } = server
    await server.close()
    servers.splice(servers.indexOf(server), 1)
    const connection = connectionTo({ ...server, port })
    const result = await send(connection, "a")
    expect(result).toBeInstanceOf(ConnectionFailed)
    expect((result as ConnectionFailed).message).toContain("ECONNREFUSED")
  })

  it("abandoning a request fails those in flight with it and drops the connection; an idle connection is closed", async () => {
    const server = await serve((socket, received, index) => {
      if (index === 1 && requestsIn(received) === 1) socket.write(accepted)
    })
    const connection = connectionTo(server, 50)
    const first = new Promise<Answer | ConnectionFailed>((resolve) => {
      const abandon = connection.request(new TextEncoder().encode("a"), resolve)
      setTimeout(abandon, 20)
    })
    const second = send(connection, "b")
    expect(await first).toBeInstanceOf(ConnectionFailed)
    expect(await second).toBeInstanceOf(ConnectionFailed)
    expect(await send(connection, "c")).toEqual({ status: 202, body: "" })
    const closed = new Promise((resolve) => server.sockets[1]!.on("close", resolve))
    await closed
    expect(connection.pending).toBe(0)
  })
})
