// The benchmark (npm run bench): one agent process (this one, serving the library's loopback HTTP fake
// agent in protobuf, a fresh agent per measurement) and, in turn, three executor processes doing the
// same work against it: ours (bench/executors/ours.ts, the public API), floor (bench/executors/floor.ts,
// plain node:http and hand-written protobuf) and mesos-go (bench/executors/mesos-go/main.go). Then the
// command executor end to end and the event decode micro-benchmark. Prints one table and writes
// bench/results/latest.json and a dated copy. Method and latest figures: bench/README.md.
//
//   node bench/run.ts           the full run (about 3 minutes on 2 cores)
//   node bench/run.ts --quick   a smoke run with small counts
//   node bench/run.ts --only=throughput,memory --peers=ours,mesos-go   some figures only
//   (quick and partial runs write bench/results/partial.json.tmp instead of latest.json)
//   --keep keeps the executors' logs; --profile writes a CPU profile of each Node executor to bench/profiles/
import { create } from "@bufbuild/protobuf"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Result } from "effect"
import { Mesos, MesosExecutor } from "effect-mesos-executor"
import type { HttpFakeAgent } from "effect-mesos-executor/testing"
import {
  BenchFailure,
  type Command,
  type ExecutorProcess,
  now,
  spawnExecutor,
  startAgent,
  Tracker,
  waitUntil
} from "./lib/harness.ts"
import { bundleExecutor } from "./lib/bundle.ts"
import * as Inspector from "./lib/inspector.ts"
import * as MesosGo from "./lib/mesosgo.ts"
import { cpuModel, cpuSample, rssMiB, threadDelta } from "./lib/proc.ts"
import { median, percentile, round } from "./lib/stats.ts"

const quick = process.argv.includes("--quick")
const keep = process.argv.includes("--keep")
/** `--only=cold,throughput,memory,command,decode` and `--peers=ours,floor,mesos-go`, for working on one figure. */
const listArg = (name: string): ReadonlyArray<string> | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3).split(",")
const only = listArg("only")
const runs = (phase: "cold" | "throughput" | "memory" | "command" | "decode") => only === undefined || only.includes(phase)
const profile = process.argv.includes("--profile")
const partial = only !== undefined || listArg("peers") !== undefined || profile

/** How much of everything; the figures unless --quick. */
const plan = quick
  ? { coldStarts: 3, throughputRounds: 1, warmupTasks: 20, tasks: 200, memoryRounds: 1, memoryTasks: 1000, commandTasks: 20, decodeEvents: 20_000 }
  : { coldStarts: 20, throughputRounds: 3, warmupTasks: 2000, tasks: 1000, memoryRounds: 3, memoryTasks: 10_000, commandTasks: 200, decodeEvents: 60_000 }

type Peer = "ours" | "floor" | "mesos-go"
const peers: ReadonlyArray<Peer> = ["ours", "floor", "mesos-go"]

const here = (path: string) => new URL(path, import.meta.url).pathname
const node = process.execPath
const workDir = mkdtempSync(join(tmpdir(), "effect-mesos-executor-bench-"))
const sandbox = join(workDir, "sandbox")
mkdirSync(sandbox)

const log = (line: string) => console.log(line)

/** The executor's environment: what the agent sets, and a PATH. */
const environment = (agent: HttpFakeAgent.HttpFakeAgentShape) =>
  agent.environment({ sandbox }).pipe(
    Effect.map((env): Record<string, string> => ({ ...env, PATH: process.env["PATH"] ?? "/usr/bin:/bin" })),
    Effect.mapError((error) => new BenchFailure({ message: error.message }))
  )

const taskIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)

const launchAll = (agent: HttpFakeAgent.HttpFakeAgentShape, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) => agent.model.launch({ taskId: { value: id }, name: id }), { discard: true }).pipe(
    Effect.mapError((error) => new BenchFailure({ message: error.message }))
  )

let spawned = 0
const profiles = here("profiles")
/** Starts the executor; `nodeFlags` go to Node executors only. */
const started = (peer: string, agent: HttpFakeAgent.HttpFakeAgentShape, command: Command, nodeFlags: ReadonlyArray<string> = []) =>
  Effect.flatMap(environment(agent), (env) => {
    const name = `${String(++spawned).padStart(3, "0")}-${peer}`
    const isNode = command.file === node
    // --profile: Node executors write a CPU profile each (bench/profiles/, ignored by git).
    const profiled = profile && isNode
    const flags = [
      ...(isNode ? nodeFlags : []),
      ...(profiled ? ["--cpu-prof", `--cpu-prof-dir=${profiles}`, `--cpu-prof-name=${name}.cpuprofile`] : [])
    ]
    return spawnExecutor({ file: command.file, args: [...flags, ...command.args] }, env, join(workDir, `${name}.log`), profiled)
  })

/** Subscribed, then a batch of tasks so that the code paths are warm and the connections open. */
const warmUp = (agent: HttpFakeAgent.HttpFakeAgentShape, tracker: Tracker, executor: ExecutorProcess) =>
  Effect.gen(function*() {
    yield* waitUntil(agent, tracker, executor, "SUBSCRIBED", () => tracker.subscribedAt !== undefined)
    yield* Effect.sleep(Duration.millis(200))
    yield* launchAll(agent, taskIds("warmup", plan.warmupTasks))
    yield* waitUntil(agent, tracker, executor, "warm-up", () =>
      tracker.terminalAckAt.size >= plan.warmupTasks && tracker.ackAt.size >= 2 * plan.warmupTasks)
  })

// --- 1. cold start --------------------------------------------------------------------------------

/** Spawn → SUBSCRIBE received by the agent, in milliseconds. */
const coldStart = (command: Command, peer: Peer) =>
  Effect.scoped(Effect.gen(function*() {
    const agent = yield* startAgent()
    const tracker = new Tracker()
    const executor = yield* started(peer, agent, command)
    let subscribeAt = 0
    yield* waitUntil(agent, tracker, executor, "SUBSCRIBE", (state) => {
      const call = state.calls.find((received) => received.call?.type === MesosExecutor.Call_Type.SUBSCRIBE)
      if (call !== undefined) subscribeAt = call.at
      return call !== undefined
    }, { every: Duration.millis(1), timeout: Duration.seconds(30) })
    return subscribeAt - executor.spawnedAt
  }))

// --- 2-4. throughput, latency, CPU per update -------------------------------------------------------

interface ThroughputRun {
  readonly updatesPerSecond: number
  readonly latencyP50Ms: number
  readonly latencyP99Ms: number
  readonly cpuMicrosPerUpdate: number
  readonly cpuMicrosPerUpdateFromStat: number
  /** CPU µs per update on the main thread and on the others (V8 helpers, libuv pool; Go runtime threads). */
  readonly cpuMicrosPerUpdateByThread: Record<string, number>
  /** The agent's CPU per acknowledged update (its whole process: HTTP, model, event stream). */
  readonly agentCpuMicrosPerUpdate: number
  /** The agent's user and system CPU, % of one core. */
  readonly agentUserPercent: number
  readonly agentSystemPercent: number
  readonly agentCpuPercent: number
  readonly seconds: number
  /** Updates the agent received again (resent by the executor). */
  readonly resent: number
}

const throughput = (command: Command, peer: Peer) =>
  Effect.scoped(Effect.gen(function*() {
    const agent = yield* startAgent()
    const tracker = new Tracker()
    const executor = yield* started(peer, agent, command)
    yield* warmUp(agent, tracker, executor)
    yield* Effect.sleep(Duration.millis(200))

    const ids = taskIds("task", plan.tasks)
    const updates = 2 * plan.tasks
    const cpuBefore = cpuSample(executor.pid)
    const agentCpuBefore = process.cpuUsage()
    const startedAt = now()
    yield* launchAll(agent, ids)
    yield* waitUntil(agent, tracker, executor, `${plan.tasks} tasks`, () =>
      tracker.terminalAckAt.size >= plan.warmupTasks + plan.tasks &&
      tracker.ackAt.size >= 2 * plan.warmupTasks + updates)
    const endedAt = now()
    const agentCpu = process.cpuUsage(agentCpuBefore)
    // The ACKs written last are still being read.
    yield* Effect.sleep(Duration.millis(100))
    const cpuAfter = cpuSample(executor.pid)

    const firstLaunch = Math.min(...ids.map((id) => tracker.launchAt.get(id)!))
    const latencies = ids.map((id) => tracker.terminalAckAt.get(id)! - tracker.launchAt.get(id)!)
    const notFinished = ids.filter((id) => tracker.finalState.get(id) !== Mesos.TaskState.TASK_FINISHED)
    if (notFinished.length > 0) {
      return yield* new BenchFailure({ message: `${notFinished.length} tasks did not end TASK_FINISHED` })
    }
    const state = yield* agent.model.state
    return {
      updatesPerSecond: updates / ((tracker.lastAckAt - firstLaunch) / 1000),
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      cpuMicrosPerUpdate: (cpuAfter.micros - cpuBefore.micros) / updates,
      cpuMicrosPerUpdateFromStat: (cpuAfter.statMicros - cpuBefore.statMicros) / updates,
      cpuMicrosPerUpdateByThread: threadDelta(cpuBefore, cpuAfter, updates),
      agentCpuMicrosPerUpdate: (agentCpu.user + agentCpu.system) / updates,
      agentUserPercent: (agentCpu.user / 1000 / (endedAt - startedAt)) * 100,
      agentSystemPercent: (agentCpu.system / 1000 / (endedAt - startedAt)) * 100,
      agentCpuPercent: ((agentCpu.user + agentCpu.system) / 1000 / (endedAt - startedAt)) * 100,
      seconds: (tracker.lastAckAt - firstLaunch) / 1000,
      resent: state.updates.filter((update) => update.origin === "Executor" && update.outcome !== "Forwarded").length
    } satisfies ThroughputRun
  }))

// --- 5. memory --------------------------------------------------------------------------------------

interface MemoryRun {
  readonly rssRestMiB: number
  readonly rssPendingMiB: number
  readonly rssAfterAckMiB: number
  readonly pendingUpdates: number
  readonly bytesPerPendingUpdate: number
  /** RSS every 500 ms after the last ACK, until within 10 % of rest or for 5 s. */
  readonly afterSeries: ReadonlyArray<number>
  /** Node executors: RSS after a full GC once everything is acknowledged. */
  readonly rssAfterGcMiB: number | undefined
  /** Node executors: live V8 heap after a full GC, at rest, pending and after (MiB). */
  readonly heapRestMiB: number | undefined
  readonly heapPendingMiB: number | undefined
  readonly heapAfterMiB: number | undefined
  /** Node executors: live heap per pending update. */
  readonly heapBytesPerPendingUpdate: number | undefined
  /** Updates the executor sent again while the ACKs were withheld (the agent's duplicates and inconsistent ones). */
  readonly resentWhilePending: number
  /** Launch of the tasks → every update received; ACKs released → all received. */
  readonly pendingSeconds: number
  readonly releaseSeconds: number
  readonly seconds: number
}

/**
 * RSS idle after a warm-up, with `memoryTasks` tasks' updates pending (the agent withholds ACKs), and
 * after they are all acknowledged. The withheld updates are then acknowledged as the agent would
 * acknowledge a resend of each: the bench hands the agent each update again (same uuid), so executors
 * that do not resend on their own get their ACKs too.
 */
const memory = (command: Command, peer: Peer) =>
  Effect.scoped(Effect.gen(function*() {
    const begun = now()
    const agent = yield* startAgent()
    const tracker = new Tracker()
    const executor = yield* started(peer, agent, command, ["--inspect=127.0.0.1:0"])
    // Node executors: the live heap after a full GC too, through the inspector.
    const inspector = command.file === node
      ? yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => Inspector.connect(executor.logFile),
          catch: (error) => new BenchFailure({ message: `inspector: ${String(error)}` })
        }),
        (inspector) => Effect.sync(inspector.close)
      )
      : undefined
    const heapMiB = inspector === undefined ? Effect.succeed(undefined) : Effect.tryPromise({
      try: async () => (await inspector.heapUsedAfterGc()) / (1024 * 1024),
      catch: (error) => new BenchFailure({ message: `inspector: ${String(error)}` })
    })
    yield* warmUp(agent, tracker, executor)
    yield* Effect.sleep(Duration.seconds(1))
    const rssRestMiB = rssMiB(executor.pid)
    const heapRestMiB = yield* heapMiB

    yield* agent.model.setFaults({ withholdAcks: true })
    const ids = taskIds("pending", plan.memoryTasks)
    const pendingUpdates = 2 * plan.memoryTasks
    const receivedBefore = tracker.received.length
    const launchedAt = now()
    yield* launchAll(agent, ids)
    yield* waitUntil(agent, tracker, executor, `${pendingUpdates} pending updates`, () =>
      tracker.received.length >= receivedBefore + pendingUpdates, { every: Duration.millis(20), timeout: Duration.minutes(3) })
    const pendingSeconds = (now() - launchedAt) / 1000
    yield* Effect.sleep(Duration.millis(500))
    const rssPendingMiB = rssMiB(executor.pid)
    const heapPendingMiB = yield* heapMiB
    const resentWhilePending = (yield* agent.model.state).updates.filter((update) =>
      update.origin === "Executor" && update.outcome !== "Forwarded"
    ).length
    const releasedAt = now()

    yield* agent.model.setFaults({ withholdAcks: false })
    const owner = yield* agent.model.executor().pipe(Effect.mapError((error) => new BenchFailure({ message: error.message })))
    const callIds = { executorId: { value: owner.executorId }, frameworkId: { value: owner.frameworkId } }
    for (const update of tracker.received.slice(receivedBefore)) {
      if (tracker.ackAt.has(update.key)) continue
      yield* agent.model.handle({
        call: create(MesosExecutor.CallSchema, {
          ...callIds,
          type: MesosExecutor.Call_Type.UPDATE,
          update: { status: update.status }
        })
      })
    }
    yield* waitUntil(agent, tracker, executor, "ACKs of the pending updates", () =>
      tracker.ackAt.size >= 2 * plan.warmupTasks + pendingUpdates, { every: Duration.millis(20), timeout: Duration.minutes(3) })
    const releaseSeconds = (now() - releasedAt) / 1000
    // Up to 5 s for the memory to come back (within 10 % of rest), sampled every 500 ms.
    const afterSeries: Array<number> = []
    for (let i = 0; i < 10; i++) {
      yield* Effect.sleep(Duration.millis(500))
      afterSeries.push(rssMiB(executor.pid))
      if (afterSeries[afterSeries.length - 1]! <= rssRestMiB * 1.1) break
    }
    const heapAfterMiB = yield* heapMiB
    const rssAfterGcMiB = inspector === undefined ? undefined : rssMiB(executor.pid)
    return {
      rssRestMiB,
      rssPendingMiB,
      rssAfterAckMiB: afterSeries[afterSeries.length - 1]!,
      pendingUpdates,
      bytesPerPendingUpdate: ((rssPendingMiB - rssRestMiB) * 1024 * 1024) / pendingUpdates,
      afterSeries,
      rssAfterGcMiB,
      heapRestMiB,
      heapPendingMiB,
      heapAfterMiB,
      heapBytesPerPendingUpdate: heapRestMiB === undefined || heapPendingMiB === undefined
        ? undefined
        : ((heapPendingMiB - heapRestMiB) * 1024 * 1024) / pendingUpdates,
      resentWhilePending,
      pendingSeconds,
      releaseSeconds,
      seconds: (now() - begun) / 1000
    } satisfies MemoryRun
  }))

// --- the command executor end to end ------------------------------------------------------------------

/** `commandTasks` tasks of `true`, queued before the executor starts: tasks/s from SUBSCRIBED to the last terminal ACK. */
const commandExecutor = Effect.scoped(Effect.gen(function*() {
  const agent = yield* startAgent()
  const tracker = new Tracker()
  const ids = taskIds("true", plan.commandTasks)
  yield* Effect.forEach(ids, (id) => agent.model.launch({ taskId: { value: id }, name: id, command: { value: "true" } }), {
    discard: true
  }).pipe(Effect.mapError((error) => new BenchFailure({ message: error.message })))
  const executor = yield* started("command", agent, { file: node, args: [here("../dist/cli/main.js"), "command"] })
  const allEnded = () => tracker.terminalAckAt.size >= plan.commandTasks
  yield* waitUntil(agent, tracker, executor, `${plan.commandTasks} command tasks`, allEnded, {
    every: Duration.millis(20),
    timeout: Duration.minutes(2)
  })
  const finished = ids.filter((id) => tracker.finalState.get(id) === Mesos.TaskState.TASK_FINISHED).length
  if (finished !== ids.length) return yield* new BenchFailure({ message: `${ids.length - finished} tasks did not finish` })
  const last = Math.max(...tracker.terminalAckAt.values())
  return {
    tasksPerSecond: plan.commandTasks / ((last - tracker.subscribedAt!) / 1000),
    secondsFromSpawn: (last - executor.spawnedAt) / 1000
  }
}))

// --- decode -------------------------------------------------------------------------------------------

/** bench/decode.ts in a process of its own (no agent, no other JIT state). */
const decode = Effect.suspend(() => {
  const result = spawnSync(node, [here("decode.ts"), String(plan.decodeEvents), "--json"], { encoding: "utf8" })
  return result.status === 0
    ? Effect.succeed(JSON.parse(result.stdout) as { rawEventsPerSecond: number; oursEventsPerSecond: number })
    : Effect.fail(new BenchFailure({ message: `bench/decode.ts failed: ${result.stderr.trim()}` }))
})

// --- the run --------------------------------------------------------------------------------------------

/** Rotates the peers each round, so that none always runs first (or right after the same one). */
const rotation = (round: number, available: ReadonlyArray<Peer>) =>
  available.map((_, i) => available[(i + round) % available.length]!)

const attempt = <A>(effect: Effect.Effect<A, BenchFailure>) =>
  Effect.result(effect).pipe(Effect.map((result) => Result.isSuccess(result) ? result.success : result.failure))

const main = Effect.gen(function*() {
  const runStarted = now()
  const phaseSeconds: Record<string, number> = {}
  const phase = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      const begun = now()
      log(`- ${name}`)
      return Effect.tap(effect, () => Effect.sync(() => (phaseSeconds[name] = round((now() - begun) / 1000))))
    })

  log(`effect-mesos-executor bench${quick ? " (quick)" : ""}: node ${process.version}, ${cpuModel()}`)
  const reasons: Record<Peer, Array<string>> = { ours: [], floor: [], "mesos-go": [] }
  const commands: Partial<Record<Peer, Command>> = {
    floor: { file: node, args: [here("executors/floor.ts")] }
  }
  // Ours runs bundled, as deployed; `--ours=source` runs the TypeScript source instead. Either way the
  // source's cold start is measured too, for the record.
  const oursSource: Command = { file: node, args: [here("executors/ours.ts")] }
  if (process.argv.includes("--ours=source")) {
    commands.ours = oursSource
  } else {
    const bundled = join(workDir, "ours.mjs")
    const { kib } = yield* Effect.promise(() => bundleExecutor(here("executors/ours.ts"), bundled))
    log(`  ours: bundled with rolldown, ${kib} KiB`)
    commands.ours = { file: node, args: [bundled] }
  }
  const chosen = listArg("peers")
  const toolchain: MesosGo.Prepared = chosen === undefined || chosen.includes("mesos-go")
    ? yield* phase("mesos-go: toolchain and build", Effect.sync(() => MesosGo.prepare((line) => log(`  ${line}`))))
    : { _tag: "Unavailable", reason: "not run (--peers)" }
  if (toolchain._tag === "Ready") {
    commands["mesos-go"] = { file: toolchain.binary, args: [] }
    log(`  ${toolchain.note}`)
  } else {
    reasons["mesos-go"].push(toolchain.reason)
    log(`  mesos-go cannot run: ${toolchain.reason}`)
  }
  const available = peers.filter((peer) => commands[peer] !== undefined && (chosen === undefined || chosen.includes(peer)))
  const fail = (peer: Peer, what: string, failure: BenchFailure) => {
    reasons[peer].push(`${what}: ${failure.message}`)
    log(`  ${peer} ${what} failed: ${failure.message}`)
  }

  const coldStarts: Record<Peer, Array<number>> = { ours: [], floor: [], "mesos-go": [] }
  const oursSourceColdStarts: Array<number> = []
  yield* phase(`cold start x ${plan.coldStarts}`, Effect.gen(function*() {
    for (let round = 0; round < (runs("cold") ? plan.coldStarts : 0); round++) {
      for (const peer of rotation(round, available)) {
        if (coldStarts[peer].length < round) continue // failed before
        const result = yield* attempt(coldStart(commands[peer]!, peer))
        if (result instanceof BenchFailure) fail(peer, "cold start", result)
        else coldStarts[peer].push(result)
      }
      if (available.includes("ours") && commands.ours !== oursSource) {
        const result = yield* attempt(coldStart(oursSource, "ours"))
        if (!(result instanceof BenchFailure)) oursSourceColdStarts.push(result)
      }
    }
  }))

  const throughputRuns: Record<Peer, Array<ThroughputRun>> = { ours: [], floor: [], "mesos-go": [] }
  yield* phase(`throughput: ${plan.tasks} tasks x ${plan.throughputRounds} rounds`, Effect.gen(function*() {
    // One run that is not counted, so that the first counted one does not meet a cold agent.
    const warmer = available.includes("floor") ? "floor" : available[0]
    if (runs("throughput") && warmer !== undefined) yield* Effect.ignore(throughput(commands[warmer]!, warmer))
    for (let round = 0; round < (runs("throughput") ? plan.throughputRounds : 0); round++) {
      for (const peer of rotation(round, available)) {
        if (throughputRuns[peer].length < round) continue
        const result = yield* attempt(throughput(commands[peer]!, peer))
        if (result instanceof BenchFailure) fail(peer, "throughput", result)
        else {
          throughputRuns[peer].push(result)
          log(`  ${peer.padEnd(8)} ${result.updatesPerSecond.toFixed(0)} updates/s, p99 ${result.latencyP99Ms.toFixed(1)} ms, ` +
            `${result.cpuMicrosPerUpdate.toFixed(1)} µs CPU/update, agent ${result.agentCpuPercent.toFixed(0)}% CPU`)
        }
      }
    }
  }))

  // RSS is noisy (it follows V8's heap headroom, not only what is kept): each peer's figures are those of
  // its median round by bytes per pending update, with every round in `details.memoryRounds`.
  const memoryRuns: Partial<Record<Peer, MemoryRun>> = {}
  const memoryRounds: Record<Peer, Array<MemoryRun>> = { ours: [], floor: [], "mesos-go": [] }
  yield* phase(`memory: ${plan.memoryTasks} tasks' updates pending x ${plan.memoryRounds} rounds`, Effect.gen(function*() {
    for (let round = 0; round < (runs("memory") ? plan.memoryRounds : 0); round++) {
      for (const peer of rotation(round, available)) {
        if (memoryRounds[peer].length < round) continue // failed before
        const result = yield* attempt(memory(commands[peer]!, peer))
        if (result instanceof BenchFailure) {
          fail(peer, "memory", result)
          continue
        }
        memoryRounds[peer].push(result)
        const heap = result.heapRestMiB === undefined
          ? ""
          : `; live heap ${result.heapRestMiB.toFixed(1)} / ${result.heapPendingMiB!.toFixed(1)} / ${result.heapAfterMiB!.toFixed(1)} MiB`
        log(`  ${peer.padEnd(8)} RSS rest ${result.rssRestMiB.toFixed(1)} / pending ${result.rssPendingMiB.toFixed(1)} / ` +
          `after ${result.rssAfterAckMiB.toFixed(1)} MiB${heap} (${result.seconds.toFixed(0)} s)`)
      }
    }
    for (const peer of available) {
      const sorted = [...memoryRounds[peer]].sort((a, b) => a.bytesPerPendingUpdate - b.bytesPerPendingUpdate)
      const middle = sorted[Math.floor((sorted.length - 1) / 2)]
      if (middle !== undefined) memoryRuns[peer] = middle
    }
  }))
  const command = runs("command")
    ? yield* phase(`command executor: ${plan.commandTasks} tasks of true`, attempt(commandExecutor))
    : new BenchFailure({ message: "not run (--only)" })
  if (command instanceof BenchFailure) log(`  command executor: ${command.message}`)
  const notDecoded = { rawEventsPerSecond: Number.NaN, oursEventsPerSecond: Number.NaN }
  const decodeResult = runs("decode") ? yield* phase("decode", attempt(decode)) : notDecoded
  if (decodeResult instanceof BenchFailure) log(`  decode: ${decodeResult.message}`)
  const decoded = decodeResult instanceof BenchFailure ? notDecoded : decodeResult

  // --- figures ---
  const figures = (peer: Peer) => {
    const runs = throughputRuns[peer]
    const mem = memoryRuns[peer]
    if (coldStarts[peer].length === 0 && runs.length === 0 && mem === undefined) return null
    const med = (pick: (run: ThroughputRun) => number) => (runs.length === 0 ? null : round(median(runs.map(pick)), 2))
    return {
      coldStartMs: coldStarts[peer].length === 0 ? null : round(median(coldStarts[peer]), 1),
      updatesPerSecond: med((run) => run.updatesPerSecond),
      latencyP50Ms: med((run) => run.latencyP50Ms),
      latencyP99Ms: med((run) => run.latencyP99Ms),
      cpuMicrosPerUpdate: med((run) => run.cpuMicrosPerUpdate),
      rssRestMiB: mem === undefined ? null : round(mem.rssRestMiB, 1),
      rssPendingMiB: mem === undefined ? null : round(mem.rssPendingMiB, 1),
      rssAfterAckMiB: mem === undefined ? null : round(mem.rssAfterAckMiB, 1)
    }
  }
  const executors = Object.fromEntries(peers.map((peer) => [peer, figures(peer)])) as Record<Peer, ReturnType<typeof figures>>
  const medianOfRuns = (peer: Peer, pick: (run: ThroughputRun) => number) =>
    throughputRuns[peer].length === 0 ? null : round(median(throughputRuns[peer].map(pick)), 0)
  const agentCpuByExecutor = Object.fromEntries(available.map((peer) => [peer, medianOfRuns(peer, (run) => run.agentCpuPercent)]))
  const agentMicrosByExecutor = Object.fromEntries(
    available.map((peer) => [peer, medianOfRuns(peer, (run) => run.agentCpuMicrosPerUpdate)])
  )
  const agentCpus = Object.values(agentCpuByExecutor).filter((value): value is number => value !== null)

  const ours = executors.ours
  const go = executors["mesos-go"]
  const floor = executors.floor
  // Judged unrounded, shown to 3 decimals: 1.002 is not "<= 1.0".
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a / b) ? null : a / b
  const oursMemory = memoryRuns.ours
  const targets = [
    {
      name: "throughput vs mesos-go",
      target: ">= 1.0x",
      value: ratio(ours?.updatesPerSecond, go?.updatesPerSecond),
      pass: (v: number) => v >= 1.0
    },
    {
      name: "throughput vs floor",
      target: ">= 0.6x",
      value: ratio(ours?.updatesPerSecond, floor?.updatesPerSecond),
      pass: (v: number) => v >= 0.6
    },
    {
      name: "CPU per update vs mesos-go",
      target: "<= 1.5x",
      value: ratio(ours?.cpuMicrosPerUpdate, go?.cpuMicrosPerUpdate),
      pass: (v: number) => v <= 1.5
    },
    {
      name: "p99 latency vs mesos-go",
      target: "<= 1.0x",
      value: ratio(ours?.latencyP99Ms, go?.latencyP99Ms),
      pass: (v: number) => v <= 1.0
    },
    {
      name: "cold start vs floor",
      target: "<= 1.5x",
      value: ratio(ours?.coldStartMs, floor?.coldStartMs),
      pass: (v: number) => v <= 1.5
    },
    {
      name: "decode vs raw fromBinary",
      target: ">= 0.8x",
      value: ratio(decoded.oursEventsPerSecond, decoded.rawEventsPerSecond),
      pass: (v: number) => v >= 0.8
    },
    {
      name: "bytes per pending update",
      target: "<= 2048",
      value: oursMemory === undefined ? null : round(oursMemory.bytesPerPendingUpdate, 0),
      pass: (v: number) => v <= 2048
    },
    {
      name: "RSS after ACKs vs rest",
      target: "<= 1.10x",
      value: oursMemory === undefined ? null : oursMemory.rssAfterAckMiB / oursMemory.rssRestMiB,
      pass: (v: number) => v <= 1.1
    },
    // The same two on the live heap after a forced GC (Node executors): retained memory, not the heap V8
    // keeps after a burst of garbage.
    {
      name: "heap bytes per pending update",
      target: "<= 2048",
      value: oursMemory?.heapBytesPerPendingUpdate === undefined ? null : round(oursMemory.heapBytesPerPendingUpdate, 0),
      pass: (v: number) => v <= 2048
    },
    {
      name: "heap after ACKs vs rest",
      target: "<= 1.10x",
      value: oursMemory?.heapAfterMiB === undefined || oursMemory.heapRestMiB === undefined
        ? null
        : oursMemory.heapAfterMiB / oursMemory.heapRestMiB,
      pass: (v: number) => v <= 1.1
    }
  ].map(({ pass, ...target }) => ({
    ...target,
    value: target.value === null ? null : round(target.value, 3),
    pass: target.value === null ? null : pass(target.value)
  }))

  const date = new Date()
  const results = {
    date: date.toISOString(),
    node: process.version,
    cpu: cpuModel(),
    executors,
    decode: {
      oursEventsPerSecond: Math.round(decoded.oursEventsPerSecond),
      rawEventsPerSecond: Math.round(decoded.rawEventsPerSecond),
      ratio: round(decoded.oursEventsPerSecond / decoded.rawEventsPerSecond, 2)
    },
    commandExecutor: command instanceof BenchFailure
      ? { tasksPerSecond: null, reason: command.message }
      : {
        tasksPerSecond: round(command.tasksPerSecond, 1),
        tasks: plan.commandTasks,
        secondsFromSpawn: round(command.secondsFromSpawn, 2)
      },
    /** The agent's CPU during the throughput runs, the highest of the executors' medians (100 = one core). */
    agentCpuPercent: agentCpus.length === 0 ? null : Math.max(...agentCpus),
    reasons: Object.fromEntries(peers.filter((peer) => reasons[peer].length > 0).map((peer) => [peer, reasons[peer]])),
    targets,
    details: {
      plan,
      mesosGo: toolchain._tag === "Ready" ? toolchain.note : null,
      agentCpuPercentByExecutor: agentCpuByExecutor,
      agentCpuMicrosPerUpdateByExecutor: agentMicrosByExecutor,
      coldStartMs: Object.fromEntries(available.map((peer) => [peer, summary(coldStarts[peer])])),
      oursSourceColdStartMs: oursSourceColdStarts.length === 0 ? null : summary(oursSourceColdStarts),
      throughputRuns: Object.fromEntries(available.map((peer) => [peer, throughputRuns[peer].map(roundAll)])),
      memory: Object.fromEntries(available.map((peer) => [peer, memoryRuns[peer] === undefined ? null : roundAll(memoryRuns[peer])])),
      memoryRounds: Object.fromEntries(available.map((peer) => [peer, memoryRounds[peer].map(roundAll)])),
      phaseSeconds,
      totalSeconds: round((now() - runStarted) / 1000)
    }
  }

  printTable(results)
  const dir = here("results")
  mkdirSync(dir, { recursive: true })
  const json = `${JSON.stringify(results, null, 2)}\n`
  if (quick || partial) {
    writeFileSync(join(dir, "partial.json.tmp"), json)
    log(`\nwrote bench/results/partial.json.tmp (a quick or partial run does not replace latest.json)`)
  } else {
    const stamp = results.date.replace(/:/g, "-").replace(/\.\d+Z$/, "Z")
    writeFileSync(join(dir, "latest.json"), json)
    writeFileSync(join(dir, `${stamp}.json`), json)
    recordInReadme(results.date, formatTable(results), results.details.totalSeconds)
    log(`\nwrote bench/results/latest.json and bench/results/${stamp}.json; updated bench/README.md`)
  }
  if (!keep) rmSync(workDir, { recursive: true, force: true })
  else log(`executor logs kept in ${workDir}`)
})

const summary = (values: ReadonlyArray<number>) =>
  values.length === 0 ? null : {
    n: values.length,
    min: round(Math.min(...values), 1),
    median: round(median(values), 1),
    max: round(Math.max(...values), 1)
  }

const roundAll = <A extends object>(record: A): A =>
  Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      typeof value === "number"
        ? round(value, 2)
        : Array.isArray(value)
        ? value.map((v) => (typeof v === "number" ? round(v, 1) : v))
        : typeof value === "object" && value !== null
        ? roundAll(value)
        : value
    ])
  ) as A

type Results = {
  readonly executors: Record<Peer, Record<string, number | null> | null>
  readonly decode: { readonly oursEventsPerSecond: number; readonly rawEventsPerSecond: number; readonly ratio: number }
  readonly commandExecutor: { readonly tasksPerSecond: number | null }
  readonly agentCpuPercent: number | null
  readonly reasons: Record<string, ReadonlyArray<string>>
  readonly targets: ReadonlyArray<
    { readonly name: string; readonly target: string; readonly value: number | null; readonly pass: boolean | null }
  >
  readonly details: {
    readonly totalSeconds: number
    readonly agentCpuPercentByExecutor: Record<string, number | null>
    readonly agentCpuMicrosPerUpdateByExecutor: Record<string, number | null>
    readonly oursSourceColdStartMs: { readonly median: number } | null
  }
}

const rows: ReadonlyArray<readonly [string, string]> = [
  ["coldStartMs", "cold start, ms (median)"],
  ["updatesPerSecond", "updates/s"],
  ["latencyP50Ms", "latency p50, ms"],
  ["latencyP99Ms", "latency p99, ms"],
  ["cpuMicrosPerUpdate", "CPU µs / update"],
  ["rssRestMiB", "RSS at rest, MiB"],
  ["rssPendingMiB", `RSS ${plan.memoryTasks} tasks pending, MiB`],
  ["rssAfterAckMiB", "RSS after ACKs, MiB"]
]

export const formatTable = (results: Results): string => {
  const cell = (value: number | null | undefined) =>
    value === null || value === undefined ? "n/a" : value >= 1000 ? Math.round(value).toLocaleString("en-US") : String(value)
  const lines: Array<string> = []
  const width = 32
  lines.push(`${"".padEnd(width)}${peers.map((peer) => peer.padStart(10)).join("")}`)
  for (const [key, label] of rows) {
    lines.push(`${label.padEnd(width)}${peers.map((peer) => cell(results.executors[peer]?.[key]).padStart(10)).join("")}`)
  }
  lines.push(`${"agent CPU %, throughput runs".padEnd(width)}${peers.map((peer) => cell(results.details.agentCpuPercentByExecutor[peer]).padStart(10)).join("")}`)
  lines.push(`${"agent CPU µs / update".padEnd(width)}${peers.map((peer) => cell(results.details.agentCpuMicrosPerUpdateByExecutor[peer]).padStart(10)).join("")}`)
  lines.push("")
  lines.push(`decode (LAUNCH events/s)        ours ${cell(results.decode.oursEventsPerSecond)}, raw fromBinary ${cell(results.decode.rawEventsPerSecond)} (${results.decode.ratio}x)`)
  lines.push(`command executor                ${cell(results.commandExecutor.tasksPerSecond)} tasks/s (${plan.commandTasks} tasks of true)`)
  lines.push(`ours from source, not bundled   cold start ${cell(results.details.oursSourceColdStartMs?.median)} ms (median)`)
  lines.push("")
  lines.push("targets (ours)")
  for (const target of results.targets) {
    const verdict = target.pass === null ? "n/a" : target.pass ? "ok" : "MISSED"
    lines.push(`  ${target.name.padEnd(32)}${target.target.padEnd(10)}${cell(target.value).padStart(8)}  ${verdict}`)
  }
  for (const [peer, why] of Object.entries(results.reasons)) lines.push(`${peer}: ${why.join("; ")}`)
  return lines.join("\n")
}

const printTable = (results: Results) => log(`\n${formatTable(results)}`)

/** Puts the table of a full run between the results markers of bench/README.md. */
const recordInReadme = (date: string, table: string, seconds: number) => {
  const readme = here("README.md")
  const text = readFileSync(readme, "utf8")
  const begin = "<!-- results:begin -->"
  const end = "<!-- results:end -->"
  const from = text.indexOf(begin)
  const to = text.indexOf(end)
  if (from === -1 || to < from) return
  const block = `${begin}\n${date}, node ${process.version}, ${cpuModel()}, ${Math.round(seconds)} s ` +
    `(\`bench/results/latest.json\`):\n\n\`\`\`\n${table}\n\`\`\`\n`
  writeFileSync(readme, text.slice(0, from) + block + text.slice(to))
}

NodeRuntime.runMain(main)
