// Chaos: the command executor (the real bin) against the loopback fake agent, through a fault-injecting
// proxy, with random faults at random moments: agent restarts inside and past the recovery timeout, the
// event stream cut mid-record, records that are not events, 503 windows, stalls, ACKs delayed, withheld,
// duplicated (by the agent and on the wire) and reordered. A seed determines a run: its tasks, faults,
// timings and ending. Every run is checked against the invariants of reliability/chaos/Invariants.ts.
// Ends with one line:
//   chaos: S seeds, F faults injected, V invariant violations
//
// Run: npm run chaos -- --seeds 500   (= npm run build && node --expose-gc reliability/chaos.ts ...)
//      node reliability/chaos.ts [--seeds 100] [--from 1] [--concurrency 4] [--seed N] [--verbose]
//        --seed N runs that seed alone and tells its story.
import { Effect } from "effect"
import * as Suite from "./chaos/Suite.ts"
import { agentSettings, faultKinds } from "./chaos/Scenario.ts"
import { flag, option } from "./support.ts"

const single = option("--seed") === undefined ? undefined : flag("--seed", 0)
const count = flag("--seeds", 100)
const from = flag("--from", 1)
const concurrency = Math.max(1, flag("--concurrency", 4))
const verbose = process.argv.includes("--verbose") || single !== undefined
const seeds = single !== undefined ? [single] : Array.from({ length: count }, (_, index) => from + index)
if (seeds.length === 0) {
  console.error("--seeds must be at least 1")
  process.exit(2)
}

// The runner's own failures are violations too: counted, shown, never swallowed.
const runnerFailures: Array<string> = []
const runnerFailed = (what: string) => (error: unknown) => {
  const text = `${what}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`
  runnerFailures.push(text)
  console.error(`chaos runner: ${text}`)
}
process.on("uncaughtException", runnerFailed("uncaught exception in the chaos runner"))
process.on("unhandledRejection", runnerFailed("unhandled rejection in the chaos runner"))

console.log(
  single !== undefined
    ? `chaos: seed ${single}`
    : `chaos: seeds ${seeds[0]}..${seeds.at(-1)}, ${concurrency} at a time (one seed again: npm run chaos -- --seed N)`
)
const report = await Effect.runPromise(Suite.runSeeds(seeds, {
  concurrency,
  onResult: (result, done) => {
    if (verbose) console.log(Suite.timeline(result))
    for (const violation of result.violations) {
      console.log(`  VIOLATION seed ${violation.seed} [${violation.invariant}] ${violation.detail}`)
    }
    if (!verbose && (done % 25 === 0 || done === seeds.length)) {
      console.error(`  ${done}/${seeds.length} seeds`)
    }
  }
}))

const width = Math.max(...faultKinds.map((kind) => kind.length))
console.log("faults injected, by kind:")
for (const [kind, injected] of report.faultsByKind) console.log(`  ${kind.padEnd(width)} ${String(injected).padStart(6)}`)
if (report.faultsNotInjected > 0) console.log(`  (${report.faultsNotInjected} found no stream to act on)`)
const { acksReordered, acksRepeated, answersStalled, callsRefused, recordsCut, recordsStalled } = report.effects
console.log(
  `what the proxy's faults touched: ${callsRefused} calls refused (503), ${recordsStalled} records and ` +
    `${answersStalled} call answers stalled, ${acksRepeated} ACK records repeated, ${acksReordered} ACK records reordered; ` +
    `records cut: ${Object.entries(recordsCut).map(([type, n]) => `${type} ${n}`).join(", ") || "none"}`
)
console.log(
  `runs: ${report.lostAgent} lost their agent, ${report.endings.shutdown} ended with SHUTDOWN, ` +
    `${report.endings.tasksEnd} with the tasks ending (when the agent stayed); ` +
    `${report.results.filter((result) => result.scenario.checkpoint).length} checkpointing`
)
const spread = (millis: ReadonlyArray<number>): string => {
  if (millis.length === 0) return "no runs"
  const sorted = [...millis].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return `median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted.at(-1)} ms (${sorted.length} runs)`
}
const observations = report.results.flatMap((result) => (result.observation === undefined ? [] : [result.observation]))
const exitAfter = (from: (observation: (typeof observations)[number]) => number | undefined) =>
  observations.flatMap((observation) => {
    const start = from(observation)
    return start === undefined || observation.exit === undefined ? [] : [observation.exit.at - start]
  })
console.log(
  `exit after SHUTDOWN: ${
    spread(exitAfter((o) => (o.scenario.ending === "Shutdown" && o.lostAgentAt === undefined ? o.endingAt : undefined)))
  }`
)
console.log(
  `exit after losing the agent, checkpointing (recovery timeout ${agentSettings.recoveryTimeoutMs} ms): ${
    spread(exitAfter((o) => (o.scenario.checkpoint ? o.lostAgentAt : undefined)))
  }; not checkpointing: ${spread(exitAfter((o) => (o.scenario.checkpoint ? undefined : o.lostAgentAt)))}`
)
const slowest = report.results.reduce((max, result) => (result.seconds > max.seconds ? result : max))
console.log(
  `time: ${report.seconds.toFixed(1)} s wall, ${(report.results.reduce((sum, r) => sum + r.seconds, 0) / report.seeds).toFixed(1)} s ` +
    `per run on average, slowest ${slowest.seconds.toFixed(1)} s (seed ${slowest.scenario.seed})`
)

const violations = report.violations.length + runnerFailures.length
if (violations > 0) {
  console.log("violations:")
  for (const result of report.results) {
    if (result.violations.length === 0) continue
    console.log(Suite.timeline(result))
    for (const violation of result.violations) console.log(`  [${violation.invariant}] ${violation.detail}`)
    console.log(`  rerun: npm run chaos -- --seed ${result.scenario.seed}`)
    const output = result.observation?.output ?? ""
    if (output !== "") console.log(`  executor output (last 3000 characters):\n${output.slice(-3000).replace(/^/gm, "    | ")}`)
  }
  for (const failure of runnerFailures) console.log(`  [runner] ${failure}`)
}
console.log(`chaos: ${report.seeds} seeds, ${Suite.faultsInjected(report)} faults injected, ${violations} invariant violations`)
process.exitCode = violations === 0 ? 0 : 1
