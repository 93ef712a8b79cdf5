// A bare node:http agent for the limits scenarios: it answers every SUBSCRIBE with a 200 RecordIO stream
// (protobuf) that a script writes byte for byte (oversized headers, a record at the limit, a flood written
// as fast as the socket drains), and every other call with 202. It counts what it wrote, so that a scenario can see
// when the executor stops reading.
import { Effect, type Scope } from "effect"
import { ContentType, ExecutorConfig, MesosExecutor, RecordIO, WireCodec } from "effect-mesos-executor"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

const { Call_Type } = MesosExecutor

/** One SUBSCRIBE response body, written by a script. */
export interface EventStream {
  /** The 1-based number of this subscription. */
  readonly subscription: number
  /** Writes bytes, waiting while the socket does not take more (back-pressure). */
  readonly write: (bytes: Uint8Array) => Promise<void>
  /** Writes an event as one RecordIO record. */
  readonly writeEvent: (event: MesosExecutor.Event) => Promise<void>
  /** Ends the body cleanly. */
  readonly end: () => void
}

export interface RawAgent {
  readonly endpoint: ExecutorConfig.TcpEndpoint
  /** SUBSCRIBE calls answered so far. */
  readonly subscriptions: () => number
  /** Bytes written to event streams so far, over every subscription. */
  readonly written: () => number
  /** The other calls, in order: their type (`large` for a body over 1 MiB, not decoded) and size. */
  readonly calls: ReadonlyArray<{ readonly type: string; readonly bodyBytes: number }>
}

const maxDecodedBody = 2 ** 20

const drainedOrClosed = (response: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      response.off("drain", done)
      response.off("close", done)
      resolve()
    }
    response.on("drain", done)
    response.on("close", done)
  })

/** The record of an event, as the agent writes it. */
export const record = (event: MesosExecutor.Event): Uint8Array => {
  const encoded = WireCodec.protobuf.encodeEvent(event)
  if (encoded._tag === "Failure") throw new Error(encoded.failure.message)
  return RecordIO.encode(encoded.success)
}

/** Serves on 127.0.0.1 until the scope closes; `script` writes each SUBSCRIBE's body. */
export const listen = (script: (stream: EventStream) => Promise<void>): Effect.Effect<RawAgent, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly agent: RawAgent; readonly close: () => Promise<void> }>((resume) => {
      let subscriptions = 0
      let written = 0
      const calls: Array<{ type: string; bodyBytes: number }> = []
      const sockets = new Set<Socket>()
      const streamOf = (response: ServerResponse, subscription: number): EventStream => {
        const write = async (bytes: Uint8Array) => {
          written += bytes.length
          if (!response.write(bytes)) await drainedOrClosed(response)
        }
        return {
          subscription,
          write,
          writeEvent: (event) => write(record(event)),
          end: () => void response.end()
        }
      }
      const server = createServer((request, response) => {
        // A large body is only counted: the executor's side is what the scenarios measure.
        const chunks: Array<Buffer> = []
        let bodyBytes = 0
        request.on("data", (chunk: Buffer) => {
          bodyBytes += chunk.length
          if (bodyBytes <= maxDecodedBody) chunks.push(chunk)
        })
        request.on("end", () => {
          const codec = request.headers["content-type"] === ContentType.json ? WireCodec.json : WireCodec.protobuf
          const call = bodyBytes <= maxDecodedBody ? codec.decodeCall(Buffer.concat(chunks)) : undefined
          if (call?._tag === "Success" && call.success.type === Call_Type.SUBSCRIBE) {
            response.writeHead(200, { "content-type": ContentType.protobuf })
            response.flushHeaders()
            // A script ends when the executor goes away mid-write; nothing to report then.
            void script(streamOf(response, ++subscriptions)).catch(() => response.destroy())
            return
          }
          calls.push({
            type: call === undefined ? "large" : call._tag === "Success" ? Call_Type[call.success.type] ?? "?" : "undecodable",
            bodyBytes
          })
          response.writeHead(202, { "content-length": "0" })
          response.end()
        })
      })
      server.on("connection", (socket: Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          agent: {
            endpoint: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port }),
            subscriptions: () => subscriptions,
            written: () => written,
            calls
          },
          close: () =>
            new Promise<void>((resolve) => {
              for (const socket of sockets) socket.destroy()
              server.close(() => resolve())
            })
        }))
      })
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ agent }) => agent))
