/**
 * A raw HTTP/1.1 client for the HTTP fake-agent tests: one request per
 * connection, the response read byte by byte, so that tests see what a client
 * sees: the status line, the headers as sent, each chunk of a chunked body
 * (its boundaries included), and whether the body ended with the terminating
 * chunk or the connection just closed.
 */
import { Effect, type Scope } from "effect"
import * as net from "node:net"

export type Target = { readonly port: number } | { readonly path: string }

export interface Request {
  readonly method?: string
  readonly path?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Uint8Array | string
}

/**
 * How the body ended: `complete` (all of a Content-Length body), `terminated`
 * (the zero-length chunk), `closed` (the connection closed without either),
 * or still `open`.
 */
export type Ending = "open" | "complete" | "terminated" | "closed"

export class Response {
  status: number | undefined
  headers: Record<string, string> = {}
  readonly chunks: Array<Uint8Array> = []
  body: Uint8Array = new Uint8Array()
  ending: Ending = "open"
  /** Whether the connection is closed (a response can be complete on a connection kept alive). */
  connectionClosed = false
  private buffer = Buffer.alloc(0)
  private chunked = false
  private contentLength: number | undefined
  private readonly waiters = new Set<() => void>()

  constructor(socket: net.Socket) {
    socket.on("data", (data) => {
      this.buffer = Buffer.concat([this.buffer, data])
      this.parse()
      this.notify()
    })
    socket.on("close", () => {
      this.connectionClosed = true
      if (this.ending === "open") this.ending = "closed"
      this.notify()
    })
    socket.on("error", () => {})
  }

  get text(): string {
    return new TextDecoder().decode(this.body)
  }

  /** Waits until `predicate` holds for the response. */
  until(predicate: (response: Response) => boolean): Effect.Effect<Response> {
    return Effect.callback<Response>((resume) => {
      const check = () => {
        if (!predicate(this)) return
        this.waiters.delete(check)
        resume(Effect.succeed(this))
      }
      this.waiters.add(check)
      check()
      return Effect.sync(() => this.waiters.delete(check))
    })
  }

  /** Waits for the whole response. */
  get done(): Effect.Effect<Response> {
    return this.until((response) => response.ending !== "open")
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  private parse(): void {
    if (this.status === undefined) {
      const end = this.buffer.indexOf("\r\n\r\n")
      if (end < 0) return
      const [statusLine, ...lines] = this.buffer.subarray(0, end).toString("latin1").split("\r\n")
      this.status = Number(statusLine!.split(" ")[1])
      for (const line of lines) {
        const colon = line.indexOf(":")
        this.headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      this.buffer = this.buffer.subarray(end + 4)
      this.chunked = this.headers["transfer-encoding"] === "chunked"
      this.contentLength = this.headers["content-length"] === undefined
        ? undefined
        : Number(this.headers["content-length"])
    }
    if (this.chunked) {
      for (;;) {
        const lineEnd = this.buffer.indexOf("\r\n")
        if (lineEnd < 0) return
        const size = parseInt(this.buffer.subarray(0, lineEnd).toString("latin1"), 16)
        if (this.buffer.length < lineEnd + 2 + size + 2) return
        if (size === 0) {
          this.ending = "terminated"
          return
        }
        this.chunks.push(new Uint8Array(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size)))
        this.buffer = this.buffer.subarray(lineEnd + 2 + size + 2)
      }
    }
    if (this.contentLength !== undefined && this.buffer.length >= this.contentLength) {
      this.body = new Uint8Array(this.buffer.subarray(0, this.contentLength))
      this.ending = "complete"
    }
  }
}

/** The connection could not be made, or closed without a response. */
export class Unreachable {
  readonly _tag = "Unreachable"
  constructor(readonly cause: string) {}
}

/** Sends `request` on a new connection; the response fills in as it arrives. Closing the scope closes it. */
export const send = (target: Target, request: Request = {}): Effect.Effect<Response, Unreachable, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<net.Socket, Unreachable>((resume) => {
      const socket = net.connect(target)
      socket.once("connect", () => resume(Effect.succeed(socket)))
      socket.once("error", (error) => resume(Effect.fail(new Unreachable(error.message))))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  ).pipe(
    Effect.map((socket) => {
      const response = new Response(socket)
      const body = typeof request.body === "string" ? Buffer.from(request.body) : Buffer.from(request.body ?? [])
      const headers = { Host: "127.0.0.1", "Content-Length": String(body.length), ...request.headers }
      const head = `${request.method ?? "POST"} ${request.path ?? "/api/v1/executor"} HTTP/1.1\r\n` +
        Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") + "\r\n"
      socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]))
      return response
    })
  )

/** Sends `request` and reads the whole response; fails when no response comes. */
export const exchange = (target: Target, request: Request = {}): Effect.Effect<Response, Unreachable> =>
  Effect.scoped(
    Effect.flatMap(send(target, request), (response) =>
      Effect.flatMap(response.done, (done) =>
        done.status === undefined ? Effect.fail(new Unreachable("closed without a response")) : Effect.succeed(done)))
  )
