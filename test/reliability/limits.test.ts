// Limits and back-pressure, small: a real driver over loopback HTTP against an agent that sends a record
// over the limit, one at the limit, or a flood faster than the callbacks run; 3,000 updates the in-memory
// agent never acknowledges; a large framework message. The same scenarios run at full size, with their
// figures printed, in reliability/limits.ts (docs/RELIABILITY.md).
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ContentType, RecordIO } from "effect-mesos-executor"
import * as Scenarios from "../../reliability/limits/Scenarios.ts"

const MiB = 2 ** 20

describe("limits", () => {
  const oversized = [
    ["a length header of 2^40", String(2 ** 40)],
    ["a MESSAGE record one byte over the limit", String(RecordIO.defaultMaxRecordBytes + 1)]
  ] as const
  for (const [name, header] of oversized) {
    it.live(`${name}: refused from the header, before allocating; the driver reconnects`, () =>
      Effect.gen(function*() {
        const result = yield* Scenarios.oversizedRecord(header)
        assert.include(result.disconnection, "(Undecodable)")
        assert.include(result.disconnection, `is ${header} bytes, more than maxRecordBytes (67108864)`)
        assert.strictEqual(result.disconnectedCallbacks, 1)
        assert.strictEqual(result.subscriptions, 2, "subscribed again, and the second stream was read")
        assert.isBelow(result.peakArrayBuffers, MiB)
      }))
  }

  it.live("a MESSAGE record of exactly the limit is delivered whole, and the stream goes on", () =>
    Effect.gen(function*() {
      const result = yield* Scenarios.messageAtLimit(RecordIO.defaultMaxRecordBytes)
      assert.strictEqual(result.deliveredBytes, RecordIO.defaultMaxRecordBytes - 12)
      assert.isTrue(result.streamContinued)
    }))

  it.live("a flood faster than the callbacks: eventBufferSize events read ahead, the rest left to TCP, none lost", () =>
    Effect.gen(function*() {
      const events = 4000
      const small = yield* Scenarios.flood({ events, eventBytes: 1024, eventBufferSize: 64 })
      const large = yield* Scenarios.flood({ events, eventBytes: 1024, eventBufferSize: 2048 })
      for (const flood of [small, large]) {
        assert.strictEqual(flood.delivered, events)
        assert.strictEqual(flood.outOfOrder, 0)
      }
      // What else the agent wrote waits in the kernel's socket buffers, which Linux grows to tens of MiB on
      // loopback (reliability/limits.ts floods past them). What the process holds follows eventBufferSize:
      // about 1 KiB per event read ahead, in array buffers.
      assert.isBelow(small.heldArrayBuffers, 1.5 * MiB)
      const perExtraEvent = (large.heldArrayBuffers - small.heldArrayBuffers) / (2048 - 64)
      assert.isAbove(perExtraEvent, 512)
      assert.isBelow(perExtraEvent, 2048)
    }))

  it.live("3,000 updates never acknowledged stay pending in bounded memory per update", () =>
    Effect.gen(function*() {
      const result = yield* Scenarios.pendingUpdates({ updates: 3000, tasks: 100 })
      assert.strictEqual(result.accepted, 3000)
      assert.strictEqual(result.acknowledgements, 0)
      assert.isBelow(result.driverBytesPerUpdate, 2048)
    }))

  for (const contentType of [ContentType.protobuf, ContentType.json] as const) {
    it.live(`sendFrameworkMessage of 8 MiB (${contentType}) reaches the agent whole`, () =>
      Effect.gen(function*() {
        const result = yield* Scenarios.frameworkMessageOut(8 * MiB, contentType)
        // JSON carries bytes as base64: 4 characters for 3 bytes.
        const expected = contentType === ContentType.json ? Math.ceil((8 * MiB) / 3) * 4 : 8 * MiB
        assert.isAbove(result.bodyBytes ?? 0, expected)
        assert.isBelow(result.bodyBytes ?? 0, expected + 200)
      }))
  }
})
