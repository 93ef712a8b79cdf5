// Fuzzing with fast-check: the RecordIO decoder, the protobuf and JSON codecs, MesosDuration.parse and
// ExecutorConfig.load, at least 100,000 cases per target by default. Every function must return a Result
// (or, for ExecutorConfig.load, fail with its typed error), never throw or die; every rejection must be a
// typed error whose message is non-empty, names what was wrong and shows no "[object Object]" or
// "undefined". Cases are timed one by one (a watchdog thread kills the run if one hangs) and memory is
// sampled every 500 cases. Ends with one line:
//   fuzz: N cases, F failures
//
// Run: npm run fuzz  (= npm run build && node --expose-gc reliability/fuzz.ts)
//      node --expose-gc reliability/fuzz.ts [--cases 100000] [--seed N] [--target name[,name]] [--markdown]
//        [--case-budget-ms 1000] [--vectors dir] [--list]
import { formatResult, runTarget, type Target, type TargetResult, startWatchdog } from "./runner.ts"
import { flag, formatMiB, option } from "./support.ts"
import { loadVectors } from "./targets/codecs.ts"
import * as codecs from "./targets/codecs.ts"
import * as config from "./targets/config.ts"
import { crafted } from "./targets/crafted.ts"
import * as recordio from "./targets/recordio.ts"

const shared = new URL("../../shared/mesos/", import.meta.url)
const vectorsDirectory = option("--vectors") === undefined
  ? new URL("vectors/", shared)
  : new URL(`file://${option("--vectors")!.replace(/\/?$/, "/")}`)
const vectors = loadVectors(vectorsDirectory)

// The fuzz target type is invariant in its input; the runner only passes a target's own values back.
const targets: ReadonlyArray<Target<any>> = [
  recordio.arbitraryBytes,
  recordio.validPrefix,
  codecs.protobufArbitrary,
  codecs.protobufMutated(vectors.binary),
  codecs.jsonArbitrary,
  codecs.jsonMutated(vectors.json),
  codecs.jsonShaped,
  codecs.jsonAnything,
  codecs.encodeCall,
  config.durationArbitrary,
  config.durationNearMiss,
  config.executorConfig(new URL("real-agent/env.txt", shared)),
  crafted
]

if (process.argv.includes("--list")) {
  for (const target of targets) console.log(`${target.name}: ${target.description}`)
  process.exit(0)
}

const cases = flag("--cases", 100_000)
const seed = flag("--seed", Math.floor(Math.random() * 2 ** 31))
const caseBudgetMs = flag("--case-budget-ms", 1000)
const only = option("--target")?.split(",")
const selected = only === undefined ? targets : targets.filter((target) => only.includes(target.name))
if (selected.length === 0) {
  console.error(`no target named ${only!.join(", ")}; --list shows them`)
  process.exit(2)
}

console.log(`fuzzing ${selected.length} targets, ${cases} cases each, seed ${seed} (rerun: --seed ${seed})`)
const heartbeat = new Int32Array(new SharedArrayBuffer(4))
let running = "(starting)"
const watchdog = startWatchdog(heartbeat, 60, () => running)
const started = performance.now()
const results: Array<TargetResult> = []
for (const target of selected) {
  running = `${target.name} (seed ${seed})`
  watchdog.setStatus(running)
  const result = runTarget(target, { cases, seed, caseBudgetMs, heartbeat })
  results.push(result)
  console.log(formatResult(result))
}
watchdog.stop()

const total = results.reduce((sum, result) => sum + result.cases, 0)
const failures = results.reduce((sum, result) => sum + result.failures, 0)
const rssPeak = Math.max(...results.map((result) => result.rssPeak))
const maxCase = results.reduce((max, result) => (result.maxCaseCpuMs > max.maxCaseCpuMs ? result : max))
console.log(
  `total: ${((performance.now() - started) / 1000).toFixed(1)} s, rss peak ${formatMiB(rssPeak)} MiB, ` +
    `slowest case ${maxCase.maxCaseCpuMs.toFixed(1)} ms of CPU (${maxCase.name}), seed ${seed}`
)
if (process.argv.includes("--markdown")) {
  console.log(
    "\n| target | cases | failures | mean µs/case | max case ms (CPU) | heap start/peak/end MiB | rss peak MiB | s |"
  )
  console.log("|---|---:|---:|---:|---:|---|---:|---:|")
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.cases} | ${r.failures} | ${r.meanCaseUs.toFixed(0)} | ` +
        `${r.maxCaseMs.toFixed(1)} (${r.maxCaseCpuMs.toFixed(1)}) | ` +
        `${formatMiB(r.heapStart)}/${formatMiB(r.heapPeak)}/${formatMiB(r.heapEnd)} | ${formatMiB(r.rssPeak)} | ` +
        `${r.seconds.toFixed(1)} |`
    )
  }
  console.log()
}
console.log(`fuzz: ${total} cases, ${failures} failures`)
process.exitCode = failures === 0 ? 0 : 1
