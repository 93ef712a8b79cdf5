// Crafted extremes, each run once: deep nesting, megabyte inputs, the largest allocation a header can ask
// for. Same checks as the random targets, plus what each costs.
import { WireCodec } from "effect-mesos-executor"
import * as fc from "fast-check"
import type { Tally, Target } from "../runner.ts"
import { checkDecodes } from "./codecs.ts"
import { checkConfig, checkDuration, type Env } from "./config.ts"
import { checkDecoding } from "./recordio.ts"

interface Crafted {
  readonly label: string
  readonly run: (tally: Tally) => string | undefined
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)
const nestedArrays = (depth: number): string => "[".repeat(depth) + "]".repeat(depth)
const MiB = 2 ** 20

/** Unknown field 100 as nested protobuf groups (start-group tags, then as many end-group tags). */
const nestedGroups = (depth: number): Uint8Array => {
  const bytes = new Uint8Array(depth * 4)
  for (let i = 0; i < depth; i++) bytes.set([0xa3, 0x06], 2 * i)
  for (let i = 0; i < depth; i++) bytes.set([0xa4, 0x06], 2 * (depth + i))
  return bytes
}

const cases: ReadonlyArray<Crafted> = [
  {
    label: "json: a list field nested 10,000 arrays deep (launch.task.resources)",
    run: (tally) =>
      checkDecodes(WireCodec.json, ascii(`{"type":"LAUNCH","launch":{"task":{"resources":${nestedArrays(10_000)}}}}`), tally)
  },
  {
    label: "json: an unknown key holding arrays nested 100,000 deep",
    run: (tally) => checkDecodes(WireCodec.json, ascii(`{"type":"NEW_TYPE","x":${nestedArrays(100_000)}}`), tally)
  },
  {
    label: "json: a 19-digit integer, and an unknown key holding arrays nested 10,000 deep",
    run: (tally) =>
      checkDecodes(WireCodec.json, ascii(`{"type":"HEARTBEAT","n":1234567890123456789,"x":${nestedArrays(10_000)}}`), tally)
  },
  {
    label: "json: an unknown key holding objects nested 100,000 deep",
    run: (tally) =>
      checkDecodes(WireCodec.json, ascii(`{"type":"HEARTBEAT","x":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`), tally)
  },
  {
    label: "protobuf: an unknown field as groups nested 100,000 deep",
    run: (tally) => checkDecodes(WireCodec.protobuf, nestedGroups(100_000), tally)
  },
  {
    label: "protobuf: 1 MiB of 0xff",
    run: (tally) => checkDecodes(WireCodec.protobuf, new Uint8Array(MiB).fill(0xff), tally)
  },
  {
    label: "duration: 1,000,000 digits then secs",
    run: (tally) => checkDuration(`${"9".repeat(1_000_000)}secs`, tally)
  },
  {
    label: "duration: 1. then 100,000 fraction digits then secs",
    run: (tally) => checkDuration(`1.${"9".repeat(100_000)}secs`, tally)
  },
  {
    label: "config: every MESOS_* variable 1 MiB long",
    run: (tally) => {
      const value = "9".repeat(MiB)
      const names = [
        "MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT", "MESOS_SLAVE_PID", "MESOS_DOMAIN_SOCKET",
        "MESOS_SLAVE_ID", "MESOS_DIRECTORY", "MESOS_SANDBOX", "MESOS_CHECKPOINT", "MESOS_RECOVERY_TIMEOUT",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
      ]
      return checkConfig(Object.fromEntries(names.map((name) => [name, value])) as Env, tally)
    }
  },
  {
    label: "recordio: header 67108864 (the default limit) and 1 byte of data, in two chunks",
    run: (tally) => {
      const before = process.memoryUsage().arrayBuffers
      const problem = checkDecoding(ascii("67108864\nx"), [0.95], undefined, tally)
      const grown = (process.memoryUsage().arrayBuffers - before) / MiB
      if (grown > 1) tally.count(`10 input bytes allocated ${grown.toFixed(0)} MiB`)
      return problem
    }
  },
  {
    label: "recordio: 1 MiB of digits",
    run: (tally) => checkDecoding(ascii("7".repeat(MiB)), [0.1, 0.5], undefined, tally)
  },
  {
    label: "recordio: 100,000 empty records",
    run: (tally) => checkDecoding(ascii("0\n".repeat(100_000)), [0.3, 0.31, 0.9], undefined, tally)
  }
]

export const crafted: Target<Crafted> = {
  name: "crafted",
  description: "Crafted extremes, each once: nesting 10^4-10^5 deep, megabyte inputs, the largest RecordIO allocation",
  arbitrary: fc.constantFrom(...cases),
  fixed: cases,
  check: (item, tally) => item.run(tally)
}
