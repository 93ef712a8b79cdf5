// The limits and back-pressure scenarios, written with the public API only (ExecutorDriver,
// HttpAgentClient, FakeAgent / HttpFakeAgent / AgentModel faults) and a bare HTTP agent: each runs a real
// driver against an agent that misbehaves in one way and returns what it measured. Shared by
// test/reliability/limits.test.ts (small sizes, asserted) and reliability/limits.ts (full sizes, printed).
import { create } from "@bufbuild/protobuf"
import { Context, Deferred, Duration, Effect, Layer, Logger, Option, Schedule } from "effect"
import {
  AgentClient,
  ContentType,
  Executor,
  ExecutorConfig,
  ExecutorDriver,
  HttpAgentClient,
  Mesos,
  MesosExecutor,
  RecordIO,
  StatusUuid,
  WireCodec
} from "effect-mesos-executor"
import { AgentModel, FakeAgent } from "effect-mesos-executor/testing"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as RawAgent from "./RawAgent.ts"

const { CallSchema, Call_Type, EventSchema, Event_Type } = MesosExecutor

// --- measuring ----------------------------------------------------------------------------------

/** A full garbage collection, exposing `gc` first when Node was started without --expose-gc. */
export const collectGarbage: () => void = (() => {
  if (typeof globalThis.gc === "function") return globalThis.gc
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
})()

/** Heap used and array buffers once pending callbacks ran and garbage was collected. */
const settled = Effect.promise(async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve))
    collectGarbage()
  }
  const { arrayBuffers, heapUsed } = process.memoryUsage()
  return { heapUsed, arrayBuffers }
})

/** The peak of heap used and array buffers above their level at the start, sampled every 5 ms while `effect` runs. */
const withPeaks = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = process.memoryUsage()
    const peak = { heapUsed: 0, arrayBuffers: 0 }
    const sample = () => {
      const { arrayBuffers, heapUsed } = process.memoryUsage()
      peak.heapUsed = Math.max(peak.heapUsed, heapUsed - start.heapUsed)
      peak.arrayBuffers = Math.max(peak.arrayBuffers, arrayBuffers - start.arrayBuffers)
    }
    const result = yield* Effect.acquireUseRelease(
      Effect.sync(() => setInterval(sample, 5)),
      () => effect,
      (timer) => Effect.sync(() => clearInterval(timer))
    )
    sample()
    return { result, peak }
  })

/** Milliseconds `effect` took. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const result = yield* effect
    return { result, ms: performance.now() - started }
  })

const within = <A, E, R>(what: string, seconds: number, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.seconds(seconds),
    orElse: () => Effect.die(new Error(`${what}: not within ${seconds} s`))
  })

// --- the executor's side ---------------------------------------------------------------------------

const ids = { frameworkId: "limits-framework", executorId: "limits-executor" }

/** Checkpointing, so that a broken stream means reconnecting, not shutting down. */
const driverConfig: ExecutorDriver.DriverConfig = {
  ...ids,
  checkpoint: true,
  recoveryTimeout: Duration.minutes(1),
  subscriptionBackoffMax: Duration.millis(20),
  shutdownGracePeriod: Duration.seconds(1)
}

/** A driver for `executor` over HTTP to `agent`, both living in the current scope; not started. */
const httpDriver = <E>(
  executor: Executor.Executor<E>,
  agent: ExecutorConfig.AgentEndpoint,
  options: ExecutorDriver.DriverOptions = {},
  contentType: ContentType.ContentType = ContentType.protobuf
) =>
  Effect.flatMap(
    Layer.build(HttpAgentClient.layerConfig({ agent, contentType, authenticationToken: Option.none() })),
    (client) => ExecutorDriver.makeWithConfig(executor, driverConfig, options).pipe(Effect.provideContext(client))
  )

/** Every log line's message, as text. */
const captureLogs = (into: Array<string>) =>
  Logger.layer([Logger.map(Logger.formatStructured, (line) => void into.push(JSON.stringify(line.message)))])

// --- the agent's side ----------------------------------------------------------------------------

const subscribed = create(EventSchema, {
  type: Event_Type.SUBSCRIBED,
  subscribed: {
    executorInfo: { executorId: { value: ids.executorId }, frameworkId: { value: ids.frameworkId } },
    frameworkInfo: { user: "root", name: "limits", id: { value: ids.frameworkId }, checkpoint: true },
    agentInfo: { hostname: "127.0.0.1", id: { value: "limits-agent" } },
    containerId: { value: "limits-container" }
  }
})

const heartbeat = create(EventSchema, { type: Event_Type.HEARTBEAT })

const message = (data: Uint8Array) => create(EventSchema, { type: Event_Type.MESSAGE, message: { data } })

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

/** The bytes of a MESSAGE event whose record data is exactly `recordBytes` long (at least 16). */
const messageOfRecordSize = (recordBytes: number): Uint8Array => {
  // The framing around the data takes as many bytes for a data length of 2^21 as for up to 2^28.
  const probe = 2 ** 21
  const overhead = encode(message(new Uint8Array(probe))).length - probe
  const dataBytes = recordBytes >= probe ? recordBytes - overhead : recordBytes - 6
  const encoded = encode(message(new Uint8Array(dataBytes).fill(0x61)))
  if (encoded.length !== recordBytes) throw new Error(`a MESSAGE of ${encoded.length} bytes, not ${recordBytes}`)
  return encoded
}

const encode = (event: MesosExecutor.Event): Uint8Array => {
  const encoded = WireCodec.protobuf.encodeEvent(event)
  if (encoded._tag === "Failure") throw new Error(encoded.failure.message)
  return encoded.success
}

// --- scenarios ---------------------------------------------------------------------------------------

export interface OversizedRecord {
  /** The header the first stream ended with. */
  readonly header: string
  /** Why the driver said it disconnected (its warning), which must be the typed RecordIO error. */
  readonly disconnection: string | undefined
  readonly disconnectedCallbacks: number
  /** SUBSCRIBE calls the agent answered: 2 once the driver reconnected. */
  readonly subscriptions: number
  /** From the bad header to the second SUBSCRIBED handled. */
  readonly reconnectMs: number
  /** Array buffers above the start, at the peak. */
  readonly peakArrayBuffers: number
}

/**
 * The agent's first stream declares a record of `header` bytes after SUBSCRIBED; the second is healthy.
 * The decoder must refuse the header before allocating anything, and the driver reconnect.
 */
export const oversizedRecord = (header: string) => {
  const logs: Array<string> = []
  return Effect.scoped(Effect.gen(function*() {
    const agent = yield* RawAgent.listen(async (stream) => {
      await stream.writeEvent(subscribed)
      if (stream.subscription === 1) await stream.write(ascii(`${header}\n`))
    })
    const reregistered = yield* Deferred.make<void>()
    let disconnectedCallbacks = 0
    const executor = Executor.make({
      launchTask: () => Effect.void,
      disconnected: Effect.sync(() => void disconnectedCallbacks++),
      reregistered: () => Deferred.succeed(reregistered, undefined)
    })
    const driver = yield* httpDriver(executor, agent.endpoint)
    collectGarbage()
    const { peak, result } = yield* withPeaks(timed(Effect.andThen(driver.start, Deferred.await(reregistered))))
    return {
      header,
      disconnection: logs.find((line) => line.includes("disconnected from the agent")),
      disconnectedCallbacks,
      subscriptions: agent.subscriptions(),
      reconnectMs: result.ms,
      peakArrayBuffers: peak.arrayBuffers
    } satisfies OversizedRecord
  }).pipe(Effect.provide(captureLogs(logs)), (effect) => within(`oversized record ${header}`, 20, effect)))
}

export interface MessageAtLimit {
  readonly recordBytes: number
  /** The data the frameworkMessage callback got. */
  readonly deliveredBytes: number
  /** Whether the stream went on (a HEARTBEAT after it was read, no reconnection). */
  readonly streamContinued: boolean
  readonly ms: number
  /**
   * Array buffers and heap above the level before the record was sent, when the callback got it:
   * garbage not yet collected (the buffers the record outgrew, the socket's chunks) included.
   */
  readonly arrayBuffersAtDelivery: number
  readonly heapAtDelivery: number
}

/** A MESSAGE event whose record is exactly `recordBytes` long (the limit: `RecordIO.defaultMaxRecordBytes`). */
export const messageAtLimit = (recordBytes: number = RecordIO.defaultMaxRecordBytes) =>
  Effect.scoped(Effect.gen(function*() {
    const framed = RecordIO.encode(messageOfRecordSize(recordBytes))
    const agent = yield* RawAgent.listen(async (stream) => {
      await stream.writeEvent(subscribed)
      await stream.write(framed)
      await stream.writeEvent(heartbeat)
    })
    const delivered = yield* Deferred.make<{ readonly bytes: number; readonly arrayBuffers: number; readonly heap: number }>()
    const executor = Executor.make({
      launchTask: () => Effect.void,
      frameworkMessage: (data) =>
        Effect.suspend(() => {
          const { arrayBuffers, heapUsed } = process.memoryUsage()
          return Deferred.succeed(delivered, { bytes: data.length, arrayBuffers, heap: heapUsed })
        })
    })
    const driver = yield* httpDriver(executor, agent.endpoint)
    const before = yield* settled
    const { ms, result } = yield* timed(Effect.andThen(driver.start, Deferred.await(delivered)))
    // The HEARTBEAT behind it is read by the same connection, or the stream broke.
    yield* Effect.sleep(Duration.millis(100))
    return {
      recordBytes,
      deliveredBytes: result.bytes,
      streamContinued: agent.subscriptions() === 1,
      ms,
      arrayBuffersAtDelivery: result.arrayBuffers - before.arrayBuffers,
      heapAtDelivery: result.heap - before.heapUsed
    } satisfies MessageAtLimit
  }).pipe((effect) => within("message at the limit", 60, effect)))

export interface Flood {
  readonly events: number
  readonly eventBytes: number
  readonly eventBufferSize: number
  /** Events the agent got onto the connection while the callbacks were blocked, until it could write no more. */
  readonly writtenWhileBlocked: number
  /** Heap and array buffers above the level before the flood, after a GC, while blocked. */
  readonly heldHeap: number
  readonly heldArrayBuffers: number
  /** After the callbacks were released: every event, in order. */
  readonly delivered: number
  readonly outOfOrder: number
  readonly drainMs: number
}

/**
 * `events` MESSAGE events of `eventBytes` each, written as fast as the connection takes them, while the
 * first frameworkMessage callback blocks: the driver reads `eventBufferSize` events ahead, then stops
 * reading, so the agent can write no more than that plus what the sockets buffer. Then the callbacks
 * are released and must see every event once, in order.
 */
export const flood = (options: { readonly events: number; readonly eventBytes: number; readonly eventBufferSize?: number }) =>
  Effect.scoped(Effect.gen(function*() {
    const { eventBytes, events } = options
    const eventBufferSize = options.eventBufferSize ?? 4096
    const record = (sequence: number) => {
      const data = new Uint8Array(eventBytes)
      new DataView(data.buffer).setUint32(0, sequence)
      return RawAgent.record(message(data))
    }
    const recordBytes = record(0).length
    let written = 0
    const agent = yield* RawAgent.listen(async (stream) => {
      await stream.writeEvent(subscribed)
      // Records 64 KiB at a time, each write waiting for the socket to drain.
      let batch: Array<Uint8Array> = []
      for (let sequence = 0; sequence < events; sequence++) {
        batch.push(record(sequence))
        if (batch.length * recordBytes >= 64 * 1024 || sequence === events - 1) {
          await stream.write(Buffer.concat(batch))
          written += batch.length
          batch = []
        }
      }
    })
    const registered = yield* Deferred.make<void>()
    const gate = yield* Deferred.make<void>()
    const allDelivered = yield* Deferred.make<void>()
    let delivered = 0
    let outOfOrder = 0
    const executor = Executor.make({
      launchTask: () => Effect.void,
      registered: () => Deferred.succeed(registered, undefined),
      frameworkMessage: (data) =>
        Effect.gen(function*() {
          yield* Deferred.await(gate)
          if (new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0) !== delivered) outOfOrder++
          if (++delivered === events) yield* Deferred.succeed(allDelivered, undefined)
        })
    })
    const before = yield* settled
    const driver = yield* httpDriver(executor, agent.endpoint, { eventBufferSize })
    yield* driver.start
    yield* Deferred.await(registered)
    // Blocked: wait until the agent has written everything, or nothing more for 300 ms.
    let last = -1
    let still = 0
    while (written < events && still < 6) {
      yield* Effect.sleep(Duration.millis(50))
      still = written === last ? still + 1 : 0
      last = written
    }
    const held = yield* settled
    const writtenWhileBlocked = written
    const drain = yield* timed(Effect.andThen(Deferred.succeed(gate, undefined), Deferred.await(allDelivered)))
    return {
      events,
      eventBytes,
      eventBufferSize,
      writtenWhileBlocked,
      heldHeap: held.heapUsed - before.heapUsed,
      heldArrayBuffers: held.arrayBuffers - before.arrayBuffers,
      delivered,
      outOfOrder,
      drainMs: drain.ms
    } satisfies Flood
  }).pipe((effect) => within("flood", 120, effect)))

export interface PendingUpdates {
  readonly updates: number
  readonly tasks: number
  /**
   * The driver's heap per pending update: the heap the run grew by, less what the fake agent keeps of
   * each update it received (measured alone, the same updates sent straight through its client).
   */
  readonly driverBytesPerUpdate: number
  /** Driver and fake agent together. */
  readonly totalBytesPerUpdate: number
  /** The fake agent alone. */
  readonly agentBytesPerUpdate: number
  /** Updates the agent accepted (202), and ACKNOWLEDGED events it sent (none: it withholds them). */
  readonly accepted: number
  readonly acknowledgements: number
  readonly submitMs: number
}

/** The in-memory fake agent that withholds ACKs, with `tasks` tasks for the executor. */
const withholdingAgent = (tasks: number) =>
  Effect.gen(function*() {
    const agent = yield* Layer.build(FakeAgent.layer({
      frameworks: [{ checkpoint: true, id: ids.frameworkId }],
      executors: [{ executorId: ids.executorId }],
      faults: { withholdAcks: true }
    }))
    const model = Context.get(agent, AgentModel.AgentModel)
    for (let task = 0; task < tasks; task++) {
      yield* model.launch({ taskId: { value: `task-${task}` }, name: `task-${task}` })
    }
    return { agent, model }
  })

const taskOf = (update: number, tasks: number) => ({ value: `task-${update % tasks}` })

/** What the fake agent keeps per update: the same UPDATE calls as the driver's, sent through its client. */
const agentBytesPerUpdate = (updates: number, tasks: number) =>
  Effect.scoped(Effect.gen(function*() {
    const { agent, model } = yield* withholdingAgent(tasks)
    const client = Context.get(agent, AgentClient.AgentClient)
    const executor = { frameworkId: { value: ids.frameworkId }, executorId: { value: ids.executorId } }
    yield* client.subscribe(create(CallSchema, { ...executor, type: Call_Type.SUBSCRIBE, subscribe: {} }))
    const before = yield* settled
    for (let i = 0; i < updates; i++) {
      const status = {
        taskId: taskOf(i, tasks),
        state: Mesos.TaskState.TASK_RUNNING,
        uuid: StatusUuid.random(),
        source: Mesos.TaskStatus_Source.EXECUTOR,
        executorId: executor.executorId,
        timestamp: Date.now() / 1000
      }
      yield* client.send(create(CallSchema, { ...executor, type: Call_Type.UPDATE, update: { status } }))
    }
    const after = yield* settled
    if ((yield* model.state).updates.length < updates) return yield* Effect.die(new Error("updates not accepted"))
    return (after.heapUsed - before.heapUsed) / updates
  }))

/**
 * `updates` status updates over `tasks` tasks, accepted (202) by the in-memory fake agent and never
 * acknowledged (`withholdAcks`). The driver resends after an hour here, so nothing moves while measuring.
 */
export const pendingUpdates = (options: { readonly updates: number; readonly tasks: number }) =>
  Effect.gen(function*() {
    const { tasks, updates } = options
    const agentOnly = yield* agentBytesPerUpdate(updates, tasks)
    return yield* Effect.scoped(Effect.gen(function*() {
      const { agent, model } = yield* withholdingAgent(tasks)
      let launched = 0
      const allLaunched = yield* Deferred.make<void>()
      const executor = Executor.make({
        launchTask: () => (++launched === tasks ? Deferred.succeed(allLaunched, undefined) : Effect.void)
      })
      const driver = yield* ExecutorDriver.makeWithConfig(executor, driverConfig, {
        updateRetrySchedule: Schedule.spaced(Duration.hours(1))
      }).pipe(Effect.provideContext(agent))
      yield* driver.start
      yield* Deferred.await(allLaunched)
      const before = yield* settled
      const { ms } = yield* timed(Effect.gen(function*() {
        for (let i = 0; i < updates; i++) {
          // The receipt is dropped: only the driver keeps what a pending update needs.
          yield* driver.sendStatusUpdate({ taskId: taskOf(i, tasks), state: Mesos.TaskState.TASK_RUNNING })
        }
        yield* model.awaitState((state) => (state.updates.length >= updates ? true : undefined))
      }))
      const withPending = yield* settled
      const state = yield* model.state
      const total = (withPending.heapUsed - before.heapUsed) / updates
      return {
        updates,
        tasks,
        driverBytesPerUpdate: total - agentOnly,
        totalBytesPerUpdate: total,
        agentBytesPerUpdate: agentOnly,
        accepted: state.updates.length,
        acknowledgements: state.events.filter((sent) => sent.event.type === Event_Type.ACKNOWLEDGED).length,
        submitMs: ms
      } satisfies PendingUpdates
    }))
  }).pipe((effect) => within("pending updates", 300, effect))

export interface FrameworkMessageOut {
  readonly bytes: number
  readonly contentType: ContentType.ContentType
  /** The body of the MESSAGE call the agent received. */
  readonly bodyBytes: number | undefined
  readonly ms: number
  readonly peakArrayBuffers: number
  readonly peakHeap: number
}

/** `sendFrameworkMessage` with `bytes` of data, over loopback HTTP to an agent that only counts the body. */
export const frameworkMessageOut = (bytes: number, contentType: ContentType.ContentType = ContentType.protobuf) =>
  Effect.scoped(Effect.gen(function*() {
    const agent = yield* RawAgent.listen(async (stream) => {
      await stream.writeEvent(subscribed)
    })
    const registered = yield* Deferred.make<void>()
    const executor = Executor.make({
      launchTask: () => Effect.void,
      registered: () => Deferred.succeed(registered, undefined)
    })
    const driver = yield* httpDriver(executor, agent.endpoint, {}, contentType)
    yield* driver.start
    yield* Deferred.await(registered)
    const payload = new Uint8Array(bytes).fill(0x62)
    collectGarbage()
    const { peak, result } = yield* withPeaks(timed(driver.sendFrameworkMessage(payload)))
    return {
      bytes,
      contentType,
      bodyBytes: agent.calls.at(-1)?.bodyBytes,
      ms: result.ms,
      peakArrayBuffers: peak.arrayBuffers,
      peakHeap: peak.heapUsed
    } satisfies FrameworkMessageOut
  }).pipe((effect) => within("framework message", 120, effect)))
