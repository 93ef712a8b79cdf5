// The fuzz runner: runs a target's property for N cases with fast-check, counting every failing case (not
// only the first), timing each case, sampling memory, and shrinking the first failure to a minimal one.
import * as fc from "fast-check"
import { Worker } from "node:worker_threads"
import { formatMiB, gcIfExposed } from "./support.ts"

/**
 * A fuzz target. `check` returns undefined when the case is fine, otherwise what is wrong with it;
 * a throw counts as a failure too.
 */
export interface Target<A> {
  readonly name: string
  readonly description: string
  readonly arbitrary: fc.Arbitrary<A>
  readonly check: (value: A, tally: Tally) => string | undefined
  /** Cases for this target, as a share of `--cases` (default 1). */
  readonly weight?: number
  /** Fixed inputs, each run once instead of `arbitrary` (crafted extremes too slow to draw 100,000 times). */
  readonly fixed?: ReadonlyArray<A>
}

/** What a target saw, beyond pass/fail: outcomes by kind, and error messages that are weak but not wrong. */
export class Tally {
  readonly outcomes = new Map<string, number>()
  readonly weak = new Map<string, { count: number; example: string }>()

  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1)
  }

  /** A message that is acceptable but names no field, variable or offset. */
  weakMessage(message: string): void {
    const shape = messageShape(message)
    const entry = this.weak.get(shape)
    if (entry === undefined) this.weak.set(shape, { count: 1, example: message.slice(0, 240) })
    else entry.count++
  }
}

/** A message with its numbers and quoted parts blanked, to group messages of one kind. */
export const messageShape = (message: string, maxLength = 140): string =>
  message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/'[^']*'/g, "'…'").replace(/\d+/g, "N").slice(0, maxLength)

export interface TargetResult {
  readonly name: string
  readonly description: string
  readonly cases: number
  readonly failures: number
  readonly examples: ReadonlyArray<{ readonly problem: string; readonly input: string }>
  /** Failures grouped by the shape of their problem (numbers and quoted parts blanked). */
  readonly failureKinds: ReadonlyMap<string, number>
  readonly shrunk: { readonly problem: string; readonly input: string } | undefined
  /** The longest case in wall time, which on a busy machine includes time the process did not run. */
  readonly maxCaseMs: number
  /** The longest case in CPU time (the process's, GC threads included): what the budget applies to. */
  readonly maxCaseCpuMs: number
  readonly slowestInput: string
  readonly meanCaseUs: number
  readonly seconds: number
  readonly rssPeak: number
  readonly heapPeak: number
  readonly heapStart: number
  readonly heapEnd: number
  readonly tally: Tally
}

export interface RunOptions {
  readonly cases: number
  readonly seed: number
  /**
   * A case that uses more CPU time fails (the process is not interrupted: see the watchdog). CPU time,
   * not wall time, so that other processes on the machine cannot fail a case.
   */
  readonly caseBudgetMs: number
  readonly heartbeat: Int32Array
}

const describeThrown = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : `non-Error ${typeof error}: ${String(error)}`

export const runTarget = <A>(target: Target<A>, options: RunOptions): TargetResult => {
  const cases = Math.max(1, Math.round(options.cases * (target.weight ?? 1)))
  const tally = new Tally()
  const examples: Array<{ problem: string; input: string }> = []
  const failureKinds = new Map<string, number>()
  let failures = 0
  let done = 0
  let maxCaseMs = 0
  let maxCaseCpuMs = 0
  let slowest: A | undefined
  let totalMs = 0
  gcIfExposed()
  const heapStart = process.memoryUsage().heapUsed
  let rssPeak = process.memoryUsage().rss
  let heapPeak = heapStart
  const started = performance.now()

  const judge = (value: A): string | undefined => {
    try {
      return target.check(value, tally)
    } catch (error) {
      return `threw ${describeThrown(error)}`
    }
  }

  const show = (value: A): string =>
    typeof value === "object" && value !== null && "label" in value ? String(value.label) : fc.stringify(value).slice(0, 2000)

  const runCase = (value: A): boolean => {
    const before = performance.now()
    const cpuBefore = process.cpuUsage()
    let problem = judge(value)
    const cpu = process.cpuUsage(cpuBefore)
    const ms = performance.now() - before
    const cpuMs = (cpu.user + cpu.system) / 1000
    totalMs += ms
    if (ms > maxCaseMs) {
      maxCaseMs = ms
      slowest = value
    }
    if (cpuMs > maxCaseCpuMs) maxCaseCpuMs = cpuMs
    if (problem === undefined && cpuMs > options.caseBudgetMs) {
      problem = `took ${cpuMs.toFixed(0)} ms of CPU, over the ${options.caseBudgetMs} ms budget per case`
    }
    if (problem !== undefined) {
      failures++
      const kind = messageShape(problem, 260)
      failureKinds.set(kind, (failureKinds.get(kind) ?? 0) + 1)
      if (examples.length < (target.fixed === undefined ? 3 : 20)) examples.push({ problem, input: show(value) })
    }
    Atomics.add(options.heartbeat, 0, 1)
    if (++done % 500 === 0 || target.fixed !== undefined) {
      const { heapUsed, rss } = process.memoryUsage()
      if (rss > rssPeak) rssPeak = rss
      if (heapUsed > heapPeak) heapPeak = heapUsed
    }
    return true
  }

  if (target.fixed !== undefined) target.fixed.forEach(runCase)
  const details = target.fixed !== undefined
    ? { failed: false as const }
    : fc.check(fc.property(target.arbitrary, runCase), { numRuns: cases, seed: options.seed })
  if (details.failed) {
    // Only the runner itself can get here (fast-check's own error): report it as a failure.
    failures++
    examples.push({ problem: `fast-check: ${String(details.errorInstance)}`, input: "" })
  }
  const seconds = (performance.now() - started) / 1000
  const { heapUsed, rss } = process.memoryUsage()
  rssPeak = Math.max(rssPeak, rss)
  heapPeak = Math.max(heapPeak, heapUsed)

  // Shrink the first failure to a minimal input, with the same seed.
  let shrunk: TargetResult["shrunk"]
  if (failures > 0 && !details.failed && target.fixed === undefined) {
    const again = fc.check(fc.property(target.arbitrary, (value) => judge(value) === undefined), {
      numRuns: cases,
      seed: options.seed
    })
    if (again.failed && again.counterexample !== null) {
      const [value] = again.counterexample
      shrunk = { problem: judge(value) ?? "(passes when run alone)", input: fc.stringify(value).slice(0, 2000) }
    }
  }
  gcIfExposed()
  return {
    name: target.name,
    description: target.description,
    cases: done,
    failures,
    examples,
    failureKinds,
    shrunk,
    maxCaseMs,
    maxCaseCpuMs,
    slowestInput: slowest === undefined ? "" : show(slowest).slice(0, 160),
    meanCaseUs: (totalMs / Math.max(1, done)) * 1000,
    seconds,
    rssPeak,
    heapPeak,
    heapStart,
    heapEnd: process.memoryUsage().heapUsed,
    tally
  }
}

/**
 * A thread that kills the process when the main thread has made no progress for `stallSeconds` (a case
 * that hangs cannot be interrupted from inside a synchronous property): it prints what was running and
 * the summary line with the hang counted as a failure.
 */
export const startWatchdog = (heartbeat: Int32Array, stallSeconds: number, status: () => string): {
  readonly setStatus: (text: string) => void
  readonly stop: () => void
} => {
  const shared = new Int32Array(new SharedArrayBuffer(4 * 260))
  const setStatus = (text: string) => {
    const bytes = new TextEncoder().encode(text.slice(0, 250))
    shared[0] = bytes.length
    for (let i = 0; i < bytes.length; i++) shared[4 + i] = bytes[i]!
  }
  setStatus(status())
  const worker = new Worker(
    `
    const { workerData } = require("node:worker_threads")
    const { writeSync } = require("node:fs")
    const { heartbeat, shared, stallSeconds } = workerData
    let last = -1, since = Date.now()
    setInterval(() => {
      const now = Atomics.load(heartbeat, 0)
      if (now !== last) { last = now; since = Date.now(); return }
      if (Date.now() - since < stallSeconds * 1000) return
      const bytes = Uint8Array.from(Array.from(shared.subarray(4, 4 + shared[0])))
      const status = new TextDecoder().decode(bytes)
      writeSync(2, "watchdog: no case finished for " + stallSeconds + " s while running " + status + "\\n")
      writeSync(1, "fuzz: " + now + " cases, 1 failures (hang in " + status + ")\\n")
      process.kill(process.pid, "SIGKILL")
    }, 1000)
    `,
    { eval: true, workerData: { heartbeat, shared, stallSeconds } }
  )
  worker.unref()
  return { setStatus, stop: () => void worker.terminate() }
}

export const formatResult = (result: TargetResult): string => {
  const lines = [
    `${result.name}: ${result.cases} cases, ${result.failures} failures, ${result.seconds.toFixed(1)} s, ` +
    `mean ${result.meanCaseUs.toFixed(0)} µs, max case ${result.maxCaseMs.toFixed(1)} ms ` +
    `(${result.maxCaseCpuMs.toFixed(1)} ms CPU), ` +
    `heap start/peak/end ${formatMiB(result.heapStart)}/${formatMiB(result.heapPeak)}/${formatMiB(result.heapEnd)} MiB, ` +
    `rss peak ${formatMiB(result.rssPeak)} MiB`,
    `  outcomes: ${[...result.tally.outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`
  ]
  if (result.maxCaseMs > 50) lines.push(`  slowest case: ${result.slowestInput}`)
  if (result.tally.weak.size > 0) {
    lines.push(`  weak messages (no field, variable or offset named):`)
    const weak = [...result.tally.weak].sort((a, b) => b[1].count - a[1].count)
    for (const [shape, { count, example }] of weak.slice(0, 12)) {
      lines.push(`    ${count} × ${shape}    e.g. ${JSON.stringify(example)}`)
    }
    if (weak.length > 12) lines.push(`    ... and ${weak.length - 12} more kinds`)
  }
  if (result.failures > 0) {
    lines.push(`  failures by kind:`)
    for (const [kind, count] of [...result.failureKinds].sort((a, b) => b[1] - a[1])) lines.push(`    ${count} × ${kind}`)
  }
  for (const { input, problem } of result.examples) lines.push(`  FAILURE: ${problem}\n    input: ${input}`)
  if (result.shrunk !== undefined) {
    lines.push(`  SHRUNK: ${result.shrunk.problem}\n    input: ${result.shrunk.input}`)
  }
  return lines.join("\n")
}
