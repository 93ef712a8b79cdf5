// Runs many seeds, a few at a time, and adds up what they did: faults injected by kind, what the faults
// touched, how the runs ended, and every invariant violation with its seed.
import { Cause, Effect, Exit } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import * as Invariants from "./Invariants.ts"
import * as Run from "./Run.ts"
import { describe, type FaultKind, faultKinds, generate, type Scenario } from "./Scenario.ts"

export interface SeedResult {
  readonly scenario: Scenario
  readonly observation: Run.Observation | undefined
  readonly violations: ReadonlyArray<Invariants.Violation>
  readonly seconds: number
}

export interface Report {
  readonly seeds: number
  readonly faultsByKind: ReadonlyMap<FaultKind, number>
  /** Faults that found nothing to act on (a stream cut while the executor had no stream). */
  readonly faultsNotInjected: number
  readonly effects: Run.Observation["proxyEffects"]
  readonly lostAgent: number
  readonly endings: { readonly shutdown: number; readonly tasksEnd: number }
  readonly violations: ReadonlyArray<Invariants.Violation>
  readonly results: ReadonlyArray<SeedResult>
  readonly seconds: number
}

export const faultsInjected = (report: Report): number =>
  [...report.faultsByKind.values()].reduce((sum, count) => sum + count, 0)

/** One seed: the run and its judgement; a run that dies is a violation too, never dropped. */
export const runSeed = (seed: number): Effect.Effect<SeedResult> =>
  Effect.gen(function*() {
    const scenario = generate(seed)
    const started = performance.now()
    const exit = yield* Effect.exit(Run.run(scenario))
    const seconds = (performance.now() - started) / 1000
    if (Exit.isFailure(exit)) {
      return {
        scenario,
        observation: undefined,
        violations: [{ seed, invariant: "run-as-planned", detail: `the run died: ${Cause.pretty(exit.cause)}` }],
        seconds
      }
    }
    return { scenario, observation: exit.value, violations: Invariants.check(exit.value), seconds }
  })

export interface SuiteOptions {
  readonly concurrency: number
  /** Called after each seed, in completion order. */
  readonly onResult?: ((result: SeedResult, done: number) => void) | undefined
}

export const runSeeds = (seeds: ReadonlyArray<number>, options: SuiteOptions): Effect.Effect<Report> =>
  Effect.gen(function*() {
    const started = performance.now()
    let done = 0
    const results = yield* Effect.forEach(
      seeds,
      (seed) => Effect.tap(runSeed(seed), (result) => Effect.sync(() => options.onResult?.(result, ++done))),
      { concurrency: options.concurrency }
    )
    const faultsByKind = new Map<FaultKind, number>(faultKinds.map((kind) => [kind, 0]))
    const effects = FaultProxy.noEffects()
    let faultsNotInjected = 0
    let lostAgent = 0
    for (const { observation } of results) {
      if (observation === undefined) continue
      for (const fault of observation.faults) {
        if (fault.injected) faultsByKind.set(fault.kind, faultsByKind.get(fault.kind)! + 1)
        else faultsNotInjected++
      }
      const touched = observation.proxyEffects
      effects.callsRefused += touched.callsRefused
      effects.recordsStalled += touched.recordsStalled
      effects.answersStalled += touched.answersStalled
      effects.acksRepeated += touched.acksRepeated
      effects.acksReordered += touched.acksReordered
      for (const [type, count] of Object.entries(touched.recordsCut)) {
        effects.recordsCut[type] = (effects.recordsCut[type] ?? 0) + count
      }
      if (observation.lostAgentAt !== undefined) lostAgent++
    }
    const ended = results.filter((result) => result.observation?.endingAt !== undefined)
    return {
      seeds: seeds.length,
      faultsByKind,
      faultsNotInjected,
      effects,
      lostAgent,
      endings: {
        shutdown: ended.filter((result) => result.scenario.ending === "Shutdown").length,
        tasksEnd: ended.filter((result) => result.scenario.ending === "TasksEnd").length
      },
      violations: results.flatMap((result) => result.violations),
      results,
      seconds: (performance.now() - started) / 1000
    }
  })

/** A run's story, for a violation's report: the scenario, then what happened when. */
export const timeline = (result: SeedResult): string => {
  const lines = [describe(result.scenario)]
  const observation = result.observation
  if (observation === undefined) return lines.join("\n")
  const events: Array<{ readonly at: number; readonly what: string }> = []
  if (observation.readyAt !== undefined) events.push({ at: observation.readyAt, what: "every task started" })
  for (const fault of observation.faults) {
    events.push({
      at: fault.at,
      what: `fault ${fault.index + 1}: ${fault.kind}${fault.injected ? "" : " (not injected)"}: ${fault.detail}`
    })
  }
  for (const kill of observation.kills) events.push({ at: kill.at, what: `KILL ${kill.taskId}` })
  if (observation.endingAt !== undefined) {
    events.push({ at: observation.endingAt, what: result.scenario.ending === "Shutdown" ? "SHUTDOWN" : "last kills" })
  }
  const exit = observation.exit
  if (exit !== undefined) {
    events.push({
      at: exit.at,
      what: `executor ${exit._tag === "Exited" ? `exited ${exit.code}` : `killed by ${exit.signal}`}`
    })
  } else {
    lines.push("  the executor never exited by itself")
  }
  for (const event of events.sort((a, b) => a.at - b.at)) {
    lines.push(`  +${((event.at - observation.startedAt) / 1000).toFixed(2)} s ${event.what}`)
  }
  return lines.join("\n")
}
