// A fault-injecting HTTP proxy between an executor and its agent, toxiproxy-style, that speaks the executor
// API: it reads each call (protobuf), relays SUBSCRIBE's event stream record by record (RecordIO), and
// can, on command, cut the stream in the middle of a record, write a record that is not an Event, answer
// 503 to every call, stall (hold events and call answers, then flush them in order), repeat ACKNOWLEDGED
// records, or hold them and release them in reverse order.
//
// It also logs what crossed it: every call with the status updates it carried (an UPDATE's, or the
// unacknowledged updates of a SUBSCRIBE), whether it answered or forwarded it, and every event it wrote
// to the executor in full. That log is the executor's side of the story: what it sent, what it was told.
import { create } from "@bufbuild/protobuf"
import { Effect, Result } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { ContentType, MesosExecutor, RecordIO, StatusUuid, WireCodec } from "effect-mesos-executor"

const { Call_Type, Event_Type, EventSchema } = MesosExecutor

export interface ObservedUpdate {
  readonly taskId: string
  /** Hex. */
  readonly uuid: string
  readonly state: number
}

/** How the proxy dealt with a call. */
export type CallAnswer =
  | "Forwarded" // the agent's answer was relayed (`status`)
  | "Unavailable" // the proxy answered 503 itself
  | "Unreachable" // the agent could not be reached: the executor's connection was reset
  | "Abandoned" // the executor went away before the answer

export interface ObservedCall {
  readonly at: number
  /** `Call_Type` name, or `undecodable`. */
  readonly type: string
  /** An UPDATE's update, or the unacknowledged updates a SUBSCRIBE carries. */
  readonly updates: ReadonlyArray<ObservedUpdate>
  /** SUBSCRIBE: the ids of the unacknowledged tasks it lists. */
  readonly tasks: ReadonlyArray<string>
  answer: CallAnswer | undefined
  status: number | undefined
}

export interface DeliveredEvent {
  readonly at: number
  readonly stream: number
  /** `Event_Type` name, or `garbage`. */
  readonly type: string
  readonly ack: { readonly taskId: string; readonly uuid: string } | undefined
  /** LAUNCH, LAUNCH_GROUP: the ids of the tasks launched. */
  readonly launched: ReadonlyArray<string>
}

/** What the faults did to the traffic, for the report (a window with no traffic in it does nothing). */
export interface Effects {
  callsRefused: number
  recordsStalled: number
  answersStalled: number
  acksRepeated: number
  acksReordered: number
  /** Records cut by type (`HEARTBEAT (the proxy's own)` when nothing came to cut). */
  readonly recordsCut: Record<string, number>
}

/** Nothing done yet. */
export const noEffects = (): Effects => ({
  callsRefused: 0,
  recordsStalled: 0,
  answersStalled: 0,
  acksRepeated: 0,
  acksReordered: 0,
  recordsCut: {}
})

export interface FaultProxy {
  readonly port: number
  readonly calls: ReadonlyArray<ObservedCall>
  readonly delivered: ReadonlyArray<DeliveredEvent>
  /** Event streams opened (SUBSCRIBE answered 200). */
  readonly streams: () => number
  readonly effects: Readonly<Effects>
  /** What went wrong in the proxy or the agent behind it (not the executor's doing). */
  readonly anomalies: ReadonlyArray<string>
  /**
   * Cuts the current event stream in the middle of the next record (`Any`) or the next ACKNOWLEDGED (if
   * none comes within `waitMs`, in the middle of a HEARTBEAT of its own) and closes both connections.
   * The type of the record cut, or undefined when there is no stream to cut.
   */
  readonly cutStream: (target: CutTarget, waitMs: number) => Effect.Effect<string | undefined>
  /** Writes `payload` as a well-framed record on the current stream; false without one. */
  readonly injectGarbage: (payload: Uint8Array) => Effect.Effect<boolean>
  readonly setUnavailable: (on: boolean) => Effect.Effect<void>
  /** Off flushes what was held, in order. */
  readonly setStalled: (on: boolean) => Effect.Effect<void>
  readonly setRepeatingAcks: (on: boolean) => Effect.Effect<void>
  /** Off releases the held ACKs, last first. */
  readonly setReorderingAcks: (on: boolean) => Effect.Effect<void>
}

export type CutTarget = "Any" | "Acknowledged"

export interface Options {
  readonly upstreamPort: number
  /** Default 127.0.0.1. */
  readonly upstreamHost?: string | undefined
}

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"])

const endToEnd = (headers: Http.IncomingHttpHeaders): Record<string, string | Array<string>> => {
  const kept: Record<string, string | Array<string>> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) kept[name] = value
  }
  return kept
}

const updatesOf = (call: MesosExecutor.Call): Array<ObservedUpdate> => {
  const statuses = call.type === Call_Type.UPDATE
    ? [call.update?.status]
    : call.type === Call_Type.SUBSCRIBE
    ? call.subscribe?.unacknowledgedUpdates.map((update) => update.status) ?? []
    : []
  return statuses.flatMap((status) =>
    status === undefined
      ? []
      : [{ taskId: status.taskId?.value ?? "", uuid: StatusUuid.toHex(status.uuid), state: status.state }]
  )
}

interface Record_ {
  readonly framed: Uint8Array
  readonly type: string
  readonly ack: DeliveredEvent["ack"]
  readonly launched: ReadonlyArray<string>
}

const readRecord = (record: Uint8Array): Record_ => {
  const decoded = WireCodec.protobuf.decodeEvent(record)
  const event = Result.isSuccess(decoded) ? decoded.success : undefined
  const ack = event?.type === Event_Type.ACKNOWLEDGED && event.acknowledged !== undefined
    ? { taskId: event.acknowledged.taskId?.value ?? "", uuid: StatusUuid.toHex(event.acknowledged.uuid) }
    : undefined
  const launched = event?.launch?.task !== undefined
    ? [event.launch.task]
    : event?.launchGroup?.taskGroup?.tasks ?? []
  return {
    framed: RecordIO.encode(record),
    type: event === undefined ? "undecodable" : Event_Type[event.type] ?? String(event.type),
    ack,
    launched: launched.map((task) => task.taskId?.value ?? "")
  }
}

const heartbeat = (): Record_ =>
  readRecord(Result.getOrThrow(WireCodec.protobuf.encodeEvent(create(EventSchema, { type: Event_Type.HEARTBEAT }))))

/** Starts a proxy to the agent at `options.upstreamPort`; it closes with the scope. */
export const make = (options: Options) =>
  Effect.acquireRelease(Effect.promise(() => start(options)), (proxy) => Effect.sync(proxy.close))
    .pipe(Effect.map(({ proxy }) => proxy))

const start = (options: Options): Promise<{ readonly proxy: FaultProxy; readonly close: () => void }> => {
  const upstreamHost = options.upstreamHost ?? "127.0.0.1"
  const calls: Array<ObservedCall> = []
  const delivered: Array<DeliveredEvent> = []
  const effects = noEffects()
  let unavailable = false
  let stalled = false
  let repeatingAcks = false
  let reorderingAcks = false
  /** Call answers held by a stall, in order. */
  let heldAnswers: Array<() => void> = []
  let streamCount = 0
  /** Open streams; the last one is the executor's current subscription. */
  const relays = new Set<Relay>()
  /** What went wrong in the proxy or the agent behind it, rather than in the executor. */
  const anomalies: Array<string> = []

  /** One SUBSCRIBE response on its way from the agent to the executor. */
  class Relay {
    readonly id = ++streamCount
    private readonly stallHeld: Array<Record_> = []
    private heldAcks: Array<Record_> = []
    private endWhenFlushed = false
    private cutNext: { readonly target: CutTarget; readonly resolve: (type: string | undefined) => void } | undefined

    private readonly response: Http.ServerResponse
    private readonly upstream: Http.ClientRequest

    constructor(response: Http.ServerResponse, upstream: Http.ClientRequest) {
      this.response = response
      this.upstream = upstream
    }

    get open(): boolean {
      return !this.response.destroyed && !this.response.writableEnded
    }

    /** A record from the agent, through the faults. */
    offer(record: Record_): void {
      if (this.cutNext !== undefined && (this.cutNext.target === "Any" || record.ack !== undefined)) {
        return this.cutIn(record)
      }
      if (reorderingAcks && record.ack !== undefined) {
        this.heldAcks.push(record)
        return
      }
      this.deliver(record)
    }

    private deliver(record: Record_): void {
      if (stalled) {
        this.stallHeld.push(record)
        effects.recordsStalled++
        return
      }
      this.write(record)
      if (repeatingAcks && record.ack !== undefined) {
        this.write(record)
        effects.acksRepeated++
      }
    }

    write(record: Record_): void {
      if (!this.open) return
      this.response.write(record.framed)
      delivered.push({ at: Date.now(), stream: this.id, type: record.type, ack: record.ack, launched: record.launched })
    }

    flushStall(): void {
      for (const record of this.stallHeld.splice(0)) this.deliver(record)
      if (this.endWhenFlushed) this.end()
    }

    releaseAcks(): void {
      const held = this.heldAcks.reverse()
      this.heldAcks = []
      if (held.length > 1) effects.acksReordered += held.length
      for (const record of held) this.deliver(record)
    }

    /** Cuts the stream in the next record `target` takes; after `waitMs` without one, in a HEARTBEAT of its own. */
    armCut(target: CutTarget, waitMs: number): Promise<string | undefined> {
      return new Promise((resolve) => {
        const armed = { target, resolve }
        this.cutNext = armed
        setTimeout(() => {
          if (this.cutNext === armed) this.cutIn(heartbeat(), " (the proxy's own)")
        }, waitMs)
      })
    }

    /** Writes the record's header and half its data, then closes both connections. */
    private cutIn(record: Record_, origin = ""): void {
      const { resolve } = this.cutNext!
      this.cutNext = undefined
      // The stream ended meanwhile: nothing left to cut.
      if (!this.open) return resolve(undefined)
      const headerLength = record.framed.indexOf(0x0a) + 1
      const dataLength = record.framed.length - headerLength
      const half = record.framed.subarray(0, headerLength + Math.max(1, Math.floor(dataLength / 2)))
      // Once the half record is in the kernel's hands: closing the socket sends it, then FIN.
      this.response.write(half, () => this.break())
      const cut = `${record.type}${origin}`
      effects.recordsCut[cut] = (effects.recordsCut[cut] ?? 0) + 1
      resolve(cut)
    }

    /** The agent ended the stream: the executor sees the end of the body. */
    end(): void {
      if (stalled) {
        this.endWhenFlushed = true
        return
      }
      if (this.open) this.response.end()
    }

    /** The connection broke: both sides see it go. */
    break(): void {
      this.upstream.destroy()
      this.response.socket?.destroy()
      this.response.destroy()
    }
  }

  const relay = (
    response: Http.ServerResponse,
    upstream: Http.ClientRequest,
    agentResponse: Http.IncomingMessage
  ): void => {
    const stream = new Relay(response, upstream)
    relays.add(stream)
    response.writeHead(200, endToEnd(agentResponse.headers))
    response.flushHeaders()
    const framing = RecordIO.makeDecoder()
    let endedCleanly = false
    agentResponse.on("data", (chunk: Buffer) => {
      const records: Array<Uint8Array> = []
      const framed = framing.push(new Uint8Array(chunk), records)
      for (const record of records) stream.offer(readRecord(record))
      if (Result.isFailure(framed)) {
        anomalies.push(`stream ${stream.id}: the agent's RecordIO framing is broken: ${framed.failure.message}`)
        stream.break()
      }
    })
    agentResponse.on("end", () => {
      endedCleanly = true
      stream.end()
    })
    agentResponse.on("close", () => {
      if (!endedCleanly) stream.break()
    })
    // The executor closed its end.
    response.on("close", () => {
      relays.delete(stream)
      upstream.destroy()
    })
  }

  const answer = (send: () => void): void => {
    if (!stalled) return send()
    effects.answersStalled++
    heldAnswers.push(send)
  }

  const forward = (request: Http.IncomingMessage, response: Http.ServerResponse, body: Buffer, observed: ObservedCall) => {
    const upstream = Http.request({
      host: upstreamHost,
      port: options.upstreamPort,
      method: request.method,
      path: request.url,
      headers: { ...endToEnd(request.headers), "content-length": String(body.length) },
      agent: false
    })
    upstream.on("response", (agentResponse) => {
      observed.answer = "Forwarded"
      observed.status = agentResponse.statusCode
      if (observed.type === "SUBSCRIBE" && agentResponse.statusCode === 200) {
        return relay(response, upstream, agentResponse)
      }
      const chunks: Array<Buffer> = []
      agentResponse.on("data", (chunk: Buffer) => chunks.push(chunk))
      agentResponse.on("end", () =>
        answer(() => {
          if (response.destroyed) return
          const body = Buffer.concat(chunks)
          response.writeHead(agentResponse.statusCode ?? 502, {
            ...endToEnd(agentResponse.headers),
            "content-length": String(body.length)
          })
          response.end(body)
        }))
      agentResponse.on("error", () => response.socket?.destroy())
    })
    upstream.on("error", () => {
      // Refused or reset before an answer (the agent is down): so is the executor's connection.
      if (observed.answer === undefined) observed.answer = "Unreachable"
      response.socket?.destroy()
    })
    upstream.end(body)
  }

  const server = Http.createServer({ noDelay: true, keepAliveTimeout: 10_000 }, (request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks)
      const decoded = request.headers["content-type"] === ContentType.protobuf
        ? WireCodec.protobuf.decodeCall(new Uint8Array(body))
        : undefined
      const call = decoded !== undefined && Result.isSuccess(decoded) ? decoded.success : undefined
      const observed: ObservedCall = {
        at: Date.now(),
        type: call === undefined ? "undecodable" : Call_Type[call.type] ?? String(call.type),
        updates: call === undefined ? [] : updatesOf(call),
        tasks: call?.subscribe?.unacknowledgedTasks.map((task) => task.taskId?.value ?? "") ?? [],
        answer: undefined,
        status: undefined
      }
      calls.push(observed)
      response.on("close", () => {
        if (observed.answer === undefined) observed.answer = "Abandoned"
      })
      if (unavailable) {
        observed.answer = "Unavailable"
        observed.status = 503
        effects.callsRefused++
        const text = Buffer.from("Agent has not finished recovery")
        response.writeHead(503, { "content-type": "text/plain; charset=utf-8", "content-length": String(text.length) })
        response.end(text)
        return
      }
      forward(request, response, body, observed)
    })
  })

  const openStream = (): Relay | undefined => [...relays].findLast((relay) => relay.open)

  const proxy: FaultProxy = {
    port: 0,
    calls,
    delivered,
    streams: () => streamCount,
    effects,
    anomalies,
    cutStream: (target, waitMs) =>
      Effect.promise(() => openStream()?.armCut(target, waitMs) ?? Promise.resolve(undefined)),
    injectGarbage: (payload) =>
      Effect.sync(() => {
        const stream = openStream()
        if (stream === undefined) return false
        stream.write({ framed: RecordIO.encode(payload), type: "garbage", ack: undefined, launched: [] })
        return true
      }),
    setUnavailable: (on) => Effect.sync(() => void (unavailable = on)),
    setStalled: (on) =>
      Effect.sync(() => {
        stalled = on
        if (on) return
        const answers = heldAnswers
        heldAnswers = []
        for (const send of answers) send()
        for (const relay of relays) relay.flushStall()
      }),
    setRepeatingAcks: (on) => Effect.sync(() => void (repeatingAcks = on)),
    setReorderingAcks: (on) =>
      Effect.sync(() => {
        reorderingAcks = on
        if (!on) for (const relay of relays) relay.releaseAcks()
      })
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resolve({
        proxy: { ...proxy, port },
        close: () => {
          server.close()
          server.closeAllConnections()
        }
      })
    })
  })
}
