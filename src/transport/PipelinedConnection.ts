/**
 * One HTTP/1.1 connection to the agent for its calls, pipelined: each request is written as soon as it is
 * made, without waiting for the answers to those before it, and answers are matched to requests in order
 * (RFC 9112 §9.3.2). The agent's HTTP server (libprocess's `HttpProxy`) answers pipelined requests in
 * order, and the Mesos C++ executor library sends its calls the same way, on one connection.
 *
 * Calls are the executor's hot path (one per status update), and an answer is a status line, a few
 * headers and an empty or one-line body. Waiting for each answer before the next request would make the
 * round trip, not the work, the limit; a general HTTP client cannot pipeline (node:http) or costs more
 * per request than the request itself.
 *
 * Requests made in the same tick go out in one write. If the connection breaks, every request still
 * waiting for its answer fails (the caller decides whether to send it again: the agent de-duplicates
 * status updates by uuid), and the next request opens a new connection.
 */
import * as Net from "node:net"

/** The agent's answer: its status and the start of its body, as text. */
export interface Answer {
  readonly status: number
  readonly body: string
}

/** Where to connect. */
export type Endpoint =
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  | { readonly _tag: "UnixSocket"; readonly path: string }

export interface Options {
  readonly endpoint: Endpoint
  /** The request line and the headers common to every request, without Content-Length. */
  readonly method: string
  readonly path: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Close the connection after this long with nothing in flight. */
  readonly idleMillis: number
}

/** Why an answer will not come. */
export class ConnectionFailed extends Error {
  override readonly name = "ConnectionFailed"
}

type Done = (result: Answer | ConnectionFailed) => void

interface InFlight {
  readonly done: Done
  settled: boolean
}

/** Bytes of a body kept to say what went wrong; the rest is read and dropped. */
const keptBodyBytes = 1024
/** A status line and headers longer than this are not an answer from the agent. */
const maxHeadBytes = 64 * 1024

export class PipelinedConnection {
  private socket: Net.Socket | undefined
  private readonly inFlight: Array<InFlight> = []
  private readonly parser = new ResponseParser((answer) => this.answered(answer))
  private readonly head: string
  private corked = false

  constructor(private readonly options: Options) {
    this.head = `${options.method} ${options.path} HTTP/1.1\r\n` +
      options.headers.map(([name, value]) => `${name}: ${value}\r\n`).join("") + "Content-Length: "
  }

  /** Requests in flight: written, or about to be, with no answer yet. */
  get pending(): number {
    return this.inFlight.length
  }

  /** Sends `body`; `done` gets the answer or why there is none. Returns a function abandoning the request. */
  request(body: Uint8Array, done: Done): () => void {
    const socket = this.socket ?? this.connect()
    const entry: InFlight = { done, settled: false }
    this.inFlight.push(entry)
    if (this.inFlight.length === 1) socket.setTimeout(0)
    if (!this.corked) {
      this.corked = true
      socket.cork()
      process.nextTick(() => {
        this.corked = false
        socket.uncork()
      })
    }
    socket.write(`${this.head}${body.length}\r\n\r\n`, "latin1")
    socket.write(body)
    return () => {
      if (entry.settled) return
      // Its answer may still come, ahead of others': a connection with an abandoned request is not reused.
      this.fail(new ConnectionFailed("the call was abandoned before the agent answered"))
    }
  }

  /** Fails what is in flight and closes the connection. */
  close(): void {
    this.fail(new ConnectionFailed("the connection was closed"))
  }

  private connect(): Net.Socket {
    const { endpoint } = this.options
    const socket = endpoint._tag === "Tcp"
      ? Net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true })
      : Net.connect({ path: endpoint.path })
    this.socket = socket
    this.parser.reset()
    socket.on("data", (chunk: Buffer) => {
      if (this.socket !== socket) return
      const problem = this.parser.push(chunk)
      if (problem !== undefined) this.fail(new ConnectionFailed(problem))
    })
    socket.on("timeout", () => {
      if (this.socket === socket && this.inFlight.length === 0) this.drop(socket)
    })
    socket.on("error", (error) => {
      if (this.socket === socket) this.fail(new ConnectionFailed(error.message, { cause: error }))
    })
    socket.on("close", () => {
      if (this.socket !== socket) return
      // A body read until the connection closes ends here.
      this.parser.end()
      this.fail(new ConnectionFailed("the agent closed the connection before answering"))
    })
    return socket
  }

  private answered(answer: Answer & { readonly close: boolean }): void {
    const entry = this.inFlight.shift()
    if (entry !== undefined && !entry.settled) {
      entry.settled = true
      entry.done({ status: answer.status, body: answer.body })
    }
    if (answer.close) {
      this.fail(new ConnectionFailed("the agent closed the connection before answering"))
    } else if (this.inFlight.length === 0) {
      this.socket?.setTimeout(this.options.idleMillis)
    }
  }

  /** Every request in flight fails with `error`; the next one opens a new connection. */
  private fail(error: ConnectionFailed): void {
    if (this.socket !== undefined) this.drop(this.socket)
    const failed = this.inFlight.splice(0)
    for (const entry of failed) {
      if (entry.settled) continue
      entry.settled = true
      entry.done(error)
    }
  }

  private drop(socket: Net.Socket): void {
    if (this.socket === socket) this.socket = undefined
    socket.destroy()
  }
}

/**
 * Reads HTTP/1.1 responses from a byte stream: status line, headers, and a body delimited by
 * Content-Length, chunked transfer coding, or the end of the connection. Interim (1xx) responses are
 * skipped.
 */
class ResponseParser {
  private state: "Head" | "Body" | "ChunkSize" | "ChunkData" | "ChunkEnd" | "Trailers" | "UntilClose" | "Closed" =
    "Head"
  private buffered: Buffer = Buffer.alloc(0)
  private status = 0
  private close = false
  private remaining = 0
  private readonly kept: Array<Buffer> = []
  private keptBytes = 0

  constructor(private readonly onAnswer: (answer: Answer & { readonly close: boolean }) => void) {}

  reset(): void {
    this.state = "Head"
    this.buffered = Buffer.alloc(0)
    this.kept.length = 0
    this.keptBytes = 0
  }

  /** Consumes `chunk`; returns a description of the problem if the bytes are not HTTP/1.1 responses. */
  push(chunk: Buffer): string | undefined {
    const data = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    this.buffered = Buffer.alloc(0)
    let offset = 0
    while (offset < data.length) {
      switch (this.state) {
        // The agent said it closes the connection after that answer: anything more is not for us.
        case "Closed":
          return undefined
        case "Head": {
          const end = data.indexOf("\r\n\r\n", offset, "latin1")
          if (end < 0) {
            if (data.length - offset > maxHeadBytes) return `an answer's head is longer than ${maxHeadBytes} bytes`
            this.buffered = data.subarray(offset)
            return undefined
          }
          const problem = this.head(data.toString("latin1", offset, end))
          if (problem !== undefined) return problem
          offset = end + 4
          break
        }
        case "UntilClose":
          this.keep(data.subarray(offset))
          offset = data.length
          break
        case "ChunkSize":
        case "ChunkEnd":
        case "Trailers": {
          const end = data.indexOf("\r\n", offset, "latin1")
          if (end < 0) {
            if (data.length - offset > maxHeadBytes) return "a chunk header is too long"
            this.buffered = data.subarray(offset)
            return undefined
          }
          const line = data.toString("latin1", offset, end)
          offset = end + 2
          const problem = this.line(line)
          if (problem !== undefined) return problem
          break
        }
        case "Body":
        case "ChunkData": {
          const take = Math.min(this.remaining, data.length - offset)
          this.keep(data.subarray(offset, offset + take))
          offset += take
          this.remaining -= take
          if (this.remaining > 0) break
          if (this.state === "Body") this.finish()
          else this.state = "ChunkEnd"
          break
        }
      }
    }
    return undefined
  }

  /** The connection ended: a body read until then is complete. */
  end(): void {
    if (this.state === "UntilClose") this.finish()
  }

  private head(text: string): string | undefined {
    const lines = text.split("\r\n")
    const match = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "")
    if (match === null) return `the agent's answer does not start with an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? "").slice(0, 64))}`
    const status = Number(match[2])
    let contentLength: number | undefined
    let chunked = false
    let close = match[1] === "0"
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":")
      if (colon <= 0) return "a header line has no name"
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim().toLowerCase()
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value)) return `Content-Length is not a number: ${JSON.stringify(value.slice(0, 64))}`
        contentLength = Number(value)
      } else if (name === "transfer-encoding") {
        chunked = value.split(",").map((coding) => coding.trim()).includes("chunked")
      } else if (name === "connection") {
        const options = value.split(",").map((option) => option.trim())
        if (options.includes("close")) close = true
        else if (options.includes("keep-alive")) close = false
      }
    }
    if (status < 200) return undefined
    this.status = status
    this.close = close
    if (status === 204 || status === 304) return this.finish()
    if (chunked) {
      this.state = "ChunkSize"
    } else if (contentLength !== undefined) {
      this.remaining = contentLength
      if (contentLength === 0) this.finish()
      else this.state = "Body"
    } else {
      this.close = true
      this.state = "UntilClose"
    }
    return undefined
  }

  private line(line: string): string | undefined {
    switch (this.state) {
      case "ChunkSize": {
        const size = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line)
        if (size === null) return `a chunk size is not hexadecimal: ${JSON.stringify(line.slice(0, 64))}`
        this.remaining = Number.parseInt(size[1]!, 16)
        this.state = this.remaining === 0 ? "Trailers" : "ChunkData"
        return undefined
      }
      case "ChunkEnd":
        if (line !== "") return "a chunk is longer than its size"
        this.state = "ChunkSize"
        return undefined
      default:
        if (line === "") this.finish()
        return undefined
    }
  }

  private keep(bytes: Buffer): void {
    if (this.keptBytes < keptBodyBytes) this.kept.push(bytes.subarray(0, keptBodyBytes - this.keptBytes))
    this.keptBytes += bytes.length
  }

  private finish(): undefined {
    const text = Buffer.concat(this.kept).toString("utf8")
    const body = this.keptBytes > keptBodyBytes ? `${text}…` : text
    this.state = this.close ? "Closed" : "Head"
    this.kept.length = 0
    this.keptBytes = 0
    this.onAnswer({ status: this.status, body, close: this.close })
    return undefined
  }
}
