// The benchmark's floor: the same executor as bench/executors/ours.ts with no framework at all. Plain
// node:http (one keep-alive connection for calls, as the Mesos library and ours use, and one for the
// event stream), protobuf bytes written by hand around pre-encoded parts, and a hand-rolled reader that
// looks only at the fields it needs. It answers each LAUNCH with TASK_RUNNING then TASK_FINISHED, keeps
// every update until the agent ACKNOWLEDGEs it, and exits on SHUTDOWN or when the stream ends.
import { randomFillSync } from "node:crypto"
import { Agent, request } from "node:http"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`missing environment variable ${name}`)
  return value
}
const [host, port] = splitEndpoint(env("MESOS_AGENT_ENDPOINT"))
const path = "/api/v1/executor"
const contentType = "application/x-protobuf"

// --- encoding: constant parts once, then bytes around them ----------------------------------------

function splitEndpoint(endpoint: string): [string, number] {
  const colon = endpoint.lastIndexOf(":")
  return [endpoint.slice(0, colon).replace(/^\[|\]$/g, ""), Number(endpoint.slice(colon + 1))]
}

const varintLength = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4)

const writeVarint = (buffer: Buffer, offset: number, n: number): number => {
  while (n >= 0x80) {
    buffer[offset++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  buffer[offset++] = n
  return offset
}

/** `tag, length, bytes` of a length-delimited field. */
const field = (tag: number, bytes: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(1 + varintLength(bytes.length) + bytes.length)
  out[0] = tag
  bytes.copy(out, writeVarint(out, 1, bytes.length))
  return out
}
/** `{ value: id }` of an id message (FrameworkID, ExecutorID, TaskID). */
const idMessage = (value: string): Buffer => field(0x0a, Buffer.from(value))

const executorIdMessage = idMessage(env("MESOS_EXECUTOR_ID"))
const ids = Buffer.concat([field(0x0a, executorIdMessage), field(0x12, idMessage(env("MESOS_FRAMEWORK_ID")))])
// Call: executor_id = 1, framework_id = 2, type = 3 (SUBSCRIBE = 1, UPDATE = 2), subscribe = 4, update = 5.
const subscribeCall = Buffer.concat([ids, Buffer.from([0x18, 0x01, 0x22, 0x00])])
const updateCallHead = Buffer.concat([ids, Buffer.from([0x18, 0x02])])
// TaskStatus after task_id and state: executor_id = 7, source = 9 (SOURCE_EXECUTOR = 2), then
// timestamp = 6 (double) and uuid = 11 (16 bytes) filled per update.
const statusTail = Buffer.concat([field(0x3a, executorIdMessage), Buffer.from([0x48, 0x02])])
const TASK_RUNNING = 1
const TASK_FINISHED = 2

/** A whole UPDATE call for `taskId` (its TaskID message bytes) in `state`; the uuid is at `uuidAt`. */
const updateCall = (taskId: Buffer, state: number): { readonly bytes: Buffer; readonly uuid: Buffer } => {
  const statusLength = 1 + varintLength(taskId.length) + taskId.length + 2 + statusTail.length + 9 + 18
  const updateLength = 1 + varintLength(statusLength) + statusLength
  const total = updateCallHead.length + 1 + varintLength(updateLength) + updateLength
  const bytes = Buffer.allocUnsafe(total)
  let offset = updateCallHead.copy(bytes, 0)
  bytes[offset++] = 0x2a
  offset = writeVarint(bytes, offset, updateLength)
  bytes[offset++] = 0x0a
  offset = writeVarint(bytes, offset, statusLength)
  bytes[offset++] = 0x0a
  offset = writeVarint(bytes, offset, taskId.length)
  offset += taskId.copy(bytes, offset)
  bytes[offset++] = 0x10
  bytes[offset++] = state
  offset += statusTail.copy(bytes, offset)
  bytes[offset++] = 0x31
  offset = bytes.writeDoubleLE(Date.now() / 1000, offset)
  bytes[offset++] = 0x5a
  bytes[offset++] = 16
  const uuid = bytes.subarray(offset, offset + 16)
  randomFillSync(uuid)
  uuid[6] = (uuid[6]! & 0x0f) | 0x40
  uuid[8] = (uuid[8]! & 0x3f) | 0x80
  return { bytes, uuid }
}

// --- decoding: only the fields this executor reads -------------------------------------------------

let position = 0
const readVarint = (buffer: Buffer): number => {
  let result = 0
  let shift = 0
  let byte: number
  do {
    byte = buffer[position++]!
    result += (byte & 0x7f) * 2 ** shift
    shift += 7
  } while (byte & 0x80)
  return result
}
const skip = (buffer: Buffer, wireType: number): void => {
  if (wireType === 0) readVarint(buffer)
  else if (wireType === 1) position += 8
  else if (wireType === 2) {
    const length = readVarint(buffer) // read before adding: `position += readVarint()` adds to the old position
    position += length
  }
  else if (wireType === 5) position += 4
  else throw new Error(`unsupported wire type ${wireType}`)
}
/** The (start, end) of length-delimited field `number` inside `[start, end)`, or undefined. */
const find = (buffer: Buffer, start: number, end: number, number: number): [number, number] | undefined => {
  position = start
  while (position < end) {
    const key = readVarint(buffer)
    if (key >>> 3 === number && (key & 7) === 2) {
      const length = readVarint(buffer)
      return [position, position + length]
    }
    skip(buffer, key & 7)
  }
  return undefined
}
const eventType = (buffer: Buffer): number => {
  position = 0
  while (position < buffer.length) {
    const key = readVarint(buffer)
    if (key === 0x08) return readVarint(buffer)
    skip(buffer, key & 7)
  }
  return 0
}

// --- the executor -------------------------------------------------------------------------------

/** Updates the agent has not acknowledged, by uuid; they would go into the next SUBSCRIBE. */
const unacknowledged = new Map<string, Buffer>()

const calls = new Agent({ keepAlive: true, maxSockets: 1 })
const post = (body: Buffer): void => {
  const call = request(
    {
      host,
      port,
      path,
      method: "POST",
      agent: calls,
      headers: { "content-type": contentType, accept: contentType, "content-length": body.length }
    },
    (response) => {
      if (response.statusCode !== 202) fail(`call answered ${response.statusCode}`)
      response.resume()
    }
  )
  call.on("error", (error) => fail(`call failed: ${error.message}`))
  call.end(body)
}

const sendUpdate = (taskId: Buffer, state: number): void => {
  const { bytes, uuid } = updateCall(taskId, state)
  unacknowledged.set(uuid.toString("latin1"), bytes)
  post(bytes)
}

const onEvent = (event: Buffer): void => {
  switch (eventType(event)) {
    case 2: { // LAUNCH: launch = 4 { task = 1 { task_id = 2 } }
      const launch = find(event, 0, event.length, 4)!
      const task = find(event, launch[0], launch[1], 1)!
      const taskId = find(event, task[0], task[1], 2)!
      const taskIdMessage = Buffer.from(event.subarray(taskId[0], taskId[1]))
      // Both go out on the one connection, in order.
      sendUpdate(taskIdMessage, TASK_RUNNING)
      sendUpdate(taskIdMessage, TASK_FINISHED)
      break
    }
    case 4: { // ACKNOWLEDGED: acknowledged = 3 { uuid = 2 }
      const acknowledged = find(event, 0, event.length, 3)!
      const uuid = find(event, acknowledged[0], acknowledged[1], 2)!
      unacknowledged.delete(event.toString("latin1", uuid[0], uuid[1]))
      break
    }
    case 7: // SHUTDOWN
      process.exit(0)
  }
}

// RecordIO: "<decimal length>\n<bytes>", records split anywhere across chunks.
let pending: Buffer = Buffer.alloc(0)
const onData = (chunk: Buffer): void => {
  let buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
  let offset = 0
  while (true) {
    const newline = buffer.indexOf(0x0a, offset)
    if (newline === -1) break
    const length = Number(buffer.toString("latin1", offset, newline))
    if (buffer.length < newline + 1 + length) break
    onEvent(buffer.subarray(newline + 1, newline + 1 + length))
    offset = newline + 1 + length
  }
  pending = offset === buffer.length ? Buffer.alloc(0) : Buffer.from(buffer.subarray(offset))
}

function fail(message: string): never {
  process.stderr.write(`floor executor: ${message}\n`)
  process.exit(1)
}

const subscribe = request(
  {
    host,
    port,
    path,
    method: "POST",
    agent: false,
    headers: { "content-type": contentType, accept: contentType, "content-length": subscribeCall.length }
  },
  (response) => {
    if (response.statusCode !== 200) fail(`SUBSCRIBE answered ${response.statusCode}`)
    response.on("data", onData)
    response.on("end", () => process.exit(0))
  }
)
subscribe.on("error", (error) => fail(`SUBSCRIBE failed: ${error.message}`))
// Exit normally on SIGTERM, so that `node --cpu-prof` writes its profile.
process.on("SIGTERM", () => process.exit(0))
subscribe.end(subscribeCall)
