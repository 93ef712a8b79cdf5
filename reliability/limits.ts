// Limits and back-pressure, at full size: what the executor holds and does when the agent sends a record
// over the limit (a length header of 2^40 and one of the limit + 1), a MESSAGE event at the limit, a
// flood of events faster than the callbacks run, and 100,000 status updates it never acknowledges; and
// what sending a huge framework message costs. Prints each figure, then one line:
//   limits: <figures>
// and exits non-zero when a bound does not hold. The same scenarios run small in
// test/reliability/limits.test.ts. See docs/RELIABILITY.md.
//
// Run: npm run build && node --expose-gc reliability/limits.ts [--updates 100000] [--flood 100000]
import { Effect } from "effect"
import { ContentType, RecordIO } from "effect-mesos-executor"
import * as Scenarios from "./limits/Scenarios.ts"
import { flag, formatMiB } from "./support.ts"

const updates = flag("--updates", 100_000)
const floodEvents = flag("--flood", 100_000)
const limit = RecordIO.defaultMaxRecordBytes
const KiB = 1024
const formatKiB = (bytes: number): string => (bytes / KiB).toFixed(0)

const problems: Array<string> = []
const expect = (holds: boolean, problem: string) => {
  if (!holds) problems.push(problem)
}

const program = Effect.gen(function*() {
  const summary: Array<string> = []

  for (const header of [String(2 ** 40), String(limit + 1)]) {
    const result = yield* Scenarios.oversizedRecord(header)
    console.log(
      `record header ${header}: ${result.disconnection ?? "no disconnection logged"}; reconnected ` +
        `(${result.subscriptions} SUBSCRIBEs) in ${result.reconnectMs.toFixed(0)} ms, array buffers +` +
        `${formatMiB(result.peakArrayBuffers)} MiB at the peak`
    )
    expect(result.subscriptions === 2 && result.disconnectedCallbacks === 1, `header ${header}: did not reconnect once`)
    expect(/RecordTooLarge|more than maxRecordBytes/.test(result.disconnection ?? ""), `header ${header}: not a RecordTooLarge`)
    expect(result.peakArrayBuffers < 2 ** 20, `header ${header}: allocated ${formatMiB(result.peakArrayBuffers)} MiB`)
    summary.push(`header ${header} +${formatMiB(result.peakArrayBuffers)} MiB`)
  }

  // Warms up the code the flood runs, so that compiling it does not count as memory held.
  yield* Scenarios.flood({ events: 5000, eventBytes: KiB, eventBufferSize: 64 })
  for (const eventBufferSize of [64, 4096, 16384]) {
    const flood = yield* Scenarios.flood({ events: floodEvents, eventBytes: KiB, eventBufferSize })
    console.log(
      `flood of ${flood.events} MESSAGE events of ${flood.eventBytes} bytes, eventBufferSize ${flood.eventBufferSize}, ` +
        `callbacks blocked: the agent could write ${flood.writtenWhileBlocked} events, then no more; held: heap +` +
        `${formatKiB(flood.heldHeap)} KiB, array buffers +${formatKiB(flood.heldArrayBuffers)} KiB; released: ` +
        `${flood.delivered} delivered, ${flood.outOfOrder} out of order, in ${flood.drainMs.toFixed(0)} ms`
    )
    expect(flood.writtenWhileBlocked < flood.events, "the flood was read to its end while the callbacks were blocked")
    expect(flood.delivered === flood.events && flood.outOfOrder === 0, "events lost or reordered")
    summary.push(
      `flood/${eventBufferSize} wrote ${flood.writtenWhileBlocked} of ${flood.events} ` +
        `(+${formatKiB(flood.heldHeap + flood.heldArrayBuffers)} KiB)`
    )
  }

  const atLimit = yield* Scenarios.messageAtLimit(limit)
  console.log(
    `MESSAGE event of exactly ${limit} bytes: delivered ${atLimit.deliveredBytes} bytes of data in ` +
      `${atLimit.ms.toFixed(0)} ms, stream ${atLimit.streamContinued ? "went on" : "broke"}; at delivery array buffers +` +
      `${formatMiB(atLimit.arrayBuffersAtDelivery)} MiB (uncollected garbage included), heap +` +
      `${formatMiB(atLimit.heapAtDelivery)} MiB`
  )
  expect(atLimit.streamContinued && atLimit.deliveredBytes > limit - 16, "the MESSAGE at the limit was not delivered")
  summary.push(`message at limit +${formatMiB(atLimit.arrayBuffersAtDelivery)} MiB`)

  const pending = yield* Scenarios.pendingUpdates({ updates, tasks: 1000 })
  console.log(
    `${pending.updates} pending updates over ${pending.tasks} tasks (${pending.accepted} accepted, ` +
      `${pending.acknowledgements} acknowledged): the driver holds ${pending.driverBytesPerUpdate.toFixed(0)} bytes ` +
      `of heap per pending update (${formatMiB(pending.driverBytesPerUpdate * pending.updates)} MiB): ` +
      `${pending.totalBytesPerUpdate.toFixed(0)} bytes with the fake agent, less ` +
      `${pending.agentBytesPerUpdate.toFixed(0)} for the agent alone; submitted in ${pending.submitMs.toFixed(0)} ms`
  )
  expect(pending.accepted >= pending.updates && pending.acknowledgements === 0, "the updates were not all pending")
  summary.push(`pending ${pending.updates} × ${pending.driverBytesPerUpdate.toFixed(0)} B`)

  for (const [bytes, contentType] of [
    [16 * 2 ** 20, ContentType.protobuf],
    [limit, ContentType.protobuf],
    [16 * 2 ** 20, ContentType.json]
  ] as const) {
    const out = yield* Scenarios.frameworkMessageOut(bytes, contentType)
    console.log(
      `sendFrameworkMessage of ${formatMiB(bytes)} MiB (${contentType}): the agent received a body of ` +
        `${out.bodyBytes ?? "nothing"} bytes in ${out.ms.toFixed(0)} ms; peak array buffers +` +
        `${formatMiB(out.peakArrayBuffers)} MiB, heap +${formatMiB(out.peakHeap)} MiB`
    )
    expect((out.bodyBytes ?? 0) > bytes, `framework message of ${bytes} bytes (${contentType}) not received whole`)
    summary.push(`out ${formatMiB(bytes)} MiB ${contentType === ContentType.json ? "json" : "pb"} ` +
      `${formatMiB(out.peakArrayBuffers)}+${formatMiB(out.peakHeap)} MiB`)
  }

  for (const problem of problems) console.log(`PROBLEM: ${problem}`)
  console.log(`limits: ${summary.join("; ")}; ${problems.length} problems`)
})

await Effect.runPromise(program)
process.exitCode = problems.length === 0 ? 0 : 1
