/**
 * A bare `node:http` server standing in for the agent in transport tests: it records every request and
 * leaves the answer to the test, byte for byte.
 */
import { Effect, type Scope } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TcpEndpoint, UnixSocketEndpoint } from "../../src/config/ExecutorConfig.js"

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  /** As received: names lower-cased, values as sent. */
  readonly headers: IncomingHttpHeaders
  readonly body: Uint8Array
  /** The connection it came on; compare two requests' to see whether they shared one. */
  readonly socket: Socket
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void

export interface RawAgentServer {
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Connections accepted so far. */
  readonly connections: () => number
  readonly endpoint: TcpEndpoint | UnixSocketEndpoint
}

/**
 * Listens on 127.0.0.1 (an ephemeral port), or on the Unix socket `unixSocketPath`, until the scope
 * closes; then every connection is destroyed.
 */
export const listen = (
  handler: Handler,
  options: { readonly unixSocketPath?: string } = {}
): Effect.Effect<RawAgentServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly agent: RawAgentServer; readonly server: Server }>((resume) => {
      const requests: Array<RecordedRequest> = []
      let connections = 0
      const server = createServer((incoming, response) => {
        const chunks: Array<Buffer> = []
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk))
        incoming.on("end", () => {
          const request: RecordedRequest = {
            method: incoming.method ?? "",
            url: incoming.url ?? "",
            headers: incoming.headers,
            body: new Uint8Array(Buffer.concat(chunks)),
            socket: incoming.socket
          }
          requests.push(request)
          handler(request, response)
        })
      })
      server.on("connection", (socket: Socket) => {
        connections++
        socket.setNoDelay(true)
      })
      const ready = () => {
        const endpoint = options.unixSocketPath !== undefined
          ? new UnixSocketEndpoint({ socketPath: options.unixSocketPath })
          : new TcpEndpoint({ host: "127.0.0.1", port: portOf(server) })
        resume(Effect.succeed({ agent: { requests, connections: () => connections, endpoint }, server }))
      }
      if (options.unixSocketPath !== undefined) server.listen(options.unixSocketPath, ready)
      else server.listen(0, "127.0.0.1", ready)
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ agent }) => agent))

/** A directory for Unix sockets, removed with the scope. */
export const temporaryDirectory: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "agent-client-"))),
  (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
)

/** A TCP port nothing listens on: one the system just handed out and took back. */
export const refusedPort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = portOf(server)
    server.close(() => resume(Effect.succeed(port)))
  })
})

const portOf = (server: Server): number => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}

/** Writes `chunks` as separate HTTP chunks, one per event-loop turn, so that they arrive apart. */
export const writeApart = (response: ServerResponse, chunks: ReadonlyArray<Uint8Array>): Promise<void> =>
  chunks.reduce(
    (previous, chunk) =>
      previous.then(() =>
        new Promise<void>((resolve) => {
          response.write(chunk)
          setTimeout(resolve, 1)
        })
      ),
    Promise.resolve()
  )
