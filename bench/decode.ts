// Event decoding cost: RecordIO framing + protobuf decode into our typed AgentEvents, against raw
// protobuf-es `fromBinary` on the same LAUNCH event bytes. Prints events/s for both and the ratio.
// Run: npm run build && node bench/decode.ts [events] [--json]   (bench/run.ts runs it with --json)
import { fromBinary } from "@bufbuild/protobuf"
import { readFileSync } from "node:fs"
import { AgentEvent, MesosExecutor, RecordIO, WireCodec } from "effect-mesos-executor"

export interface DecodeRates {
  readonly events: number
  readonly rawEventsPerSecond: number
  readonly oursEventsPerSecond: number
}

/** Best of `rounds` for each, the two alternated so that both see the same machine load. */
export const measure = (events = 200_000, rounds = 5): DecodeRates => {
  const launch = new Uint8Array(readFileSync(new URL("../../shared/mesos/vectors/event-launch.bin", import.meta.url)))
  const body = RecordIO.encodeAll(Array.from({ length: events }, () => launch))
  // The agent writes one record per HTTP chunk; a client reads them in socket-sized pieces.
  const chunks: Array<Uint8Array> = []
  for (let offset = 0; offset < body.length; offset += 65536) chunks.push(body.subarray(offset, offset + 65536))

  const raw = () => {
    for (let i = 0; i < events; i++) fromBinary(MesosExecutor.EventSchema, launch)
  }
  const ours = () => {
    const decoder = RecordIO.makeDecoder()
    const records: Array<Uint8Array> = []
    let decoded = 0
    for (const chunk of chunks) {
      records.length = 0
      decoder.push(chunk, records)
      for (const record of records) if (AgentEvent.decode(WireCodec.protobuf, record)._tag === "Success") decoded++
    }
    if (decoded !== events) throw new Error(`decoded ${decoded} of ${events}`)
  }

  const rate = (run: () => void) => {
    const start = process.hrtime.bigint()
    run()
    return events / (Number(process.hrtime.bigint() - start) / 1e9)
  }

  let best = { raw: 0, ours: 0 }
  for (let round = 0; round < rounds; round++) {
    best = { raw: Math.max(best.raw, rate(raw)), ours: Math.max(best.ours, rate(ours)) }
  }
  return { events, rawEventsPerSecond: best.raw, oursEventsPerSecond: best.ours }
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const count = args.find((arg) => !arg.startsWith("--"))
  const rates = measure(count === undefined ? undefined : Number(count))
  if (args.includes("--json")) {
    console.log(JSON.stringify(rates))
  } else {
    console.log(`raw fromBinary:            ${rates.rawEventsPerSecond.toFixed(0)} events/s`)
    console.log(`RecordIO + AgentEvent:     ${rates.oursEventsPerSecond.toFixed(0)} events/s`)
    console.log(`ratio (ours / raw):        ${(rates.oursEventsPerSecond / rates.rawEventsPerSecond).toFixed(2)}`)
  }
}
