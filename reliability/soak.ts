// Soak: N status updates (default 1,000,000) through ONE long-lived ExecutorDriver against a fake agent,
// on the real clock, waiting for every ACK. Prints RSS, heap and open handles at start, peak and end, and
// ends with one line:
//   soak: N updates, rss start/peak/end X/Y/Z MiB, handles start/end A/B
//
// The agent model keeps its whole history (every call, event and update, and every task of an
// executor), a few KB per update that belong to the fake agent, not the driver. So one model serves a
// batch of tasks (--batch-tasks, default 500) and is then replaced by a fresh one: the old agent goes away,
// and the driver (checkpointing) subscribes again, to the new agent, which launches the next batch. The
// driver, its ledger and its fibers live for the whole run. See docs/RELIABILITY.md.
//
// By default the agent is the in-memory FakeAgent; with --http it is the loopback HttpFakeAgent, reached
// through the real HttpAgentClient (pipelined calls, RecordIO, protobuf), every batch on a new server on
// the same port.
//
// Run: npm run soak  (= npm run build && node --expose-gc reliability/soak.ts)
//      node --expose-gc reliability/soak.ts [--updates 1000000] [--batch-tasks 500] [--updates-per-task 2] [--http]
import { Deferred, Duration, Effect, Exit, Logger, Scope } from "effect"
import { AgentClient, Executor, ExecutorConfig, ExecutorDriver, HttpAgentClient, Mesos } from "effect-mesos-executor"
import { AgentModel, FakeAgent, HttpFakeAgent } from "effect-mesos-executor/testing"
import { flag, formatMiB, gcIfExposed, type MemorySample, sampleMemory } from "./support.ts"

const updatesWanted = flag("--updates", 1_000_000)
const batchTasks = Math.max(1, flag("--batch-tasks", 500))
const http = process.argv.includes("--http")
const updatesPerTask = Math.max(2, flag("--updates-per-task", 2))

const { TaskState } = Mesos
// RUNNING (updatesPerTask - 1 times, each a new update), then FINISHED.
const states = [...Array.from({ length: updatesPerTask - 1 }, () => TaskState.TASK_RUNNING), TaskState.TASK_FINISHED]
const totalTasks = Math.ceil(updatesWanted / updatesPerTask)
const totalUpdates = totalTasks * updatesPerTask
if (totalTasks === 0) {
  console.error("--updates must be at least 1")
  process.exit(2)
}

// --- measurement ------------------------------------------------------------------------------

const handles = (): number => process.getActiveResourcesInfo().length
const handleKinds = (): string => {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return [...counts].map(([kind, n]) => `${kind}×${n}`).join(", ") || "none"
}

/** Lets pending callbacks and timers of closed scopes run, then collects garbage (with --expose-gc). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  gcIfExposed()
  await new Promise<void>((resolve) => setImmediate(resolve))
}

// --- the run ----------------------------------------------------------------------------------

interface Progress {
  /** Updates acknowledged (their receipt's `acknowledged` succeeded). */
  acknowledged: number
  /** Updates whose receipt failed, or could not be sent. */
  failed: number
  firstFailure: string | undefined
  /** Tasks of the current batch still to finish. */
  batchLeft: number
  batchDone: Deferred.Deferred<void>
}

const main = async () => {
  await settle()
  const start = { memory: sampleMemory(), handles: handles(), kinds: handleKinds() }
  const startedAt = performance.now()
  let peak: MemorySample = start.memory
  let peakHandles = start.handles
  // The peak RSS, sampled every 50 ms (this timer is one of the handles open during the run).
  const sampler = setInterval(() => {
    const sample = sampleMemory()
    if (sample.rss > peak.rss) peak = sample
  }, 50)
  // Heap after a full GC, every `gcEvery` batches: the figure that shows a leak as a slope.
  const heapAfterGc: Array<{ readonly updates: number; readonly heapMiB: number; readonly rssMiB: number }> = []
  const batches = Math.ceil(totalTasks / batchTasks)
  const gcEvery = Math.max(1, Math.floor(batches / 20))

  const progress: Progress = {
    acknowledged: 0,
    failed: 0,
    firstFailure: undefined,
    batchLeft: 0,
    batchDone: Deferred.makeUnsafe<void>()
  }

  const fail = (what: string) => {
    progress.failed++
    progress.firstFailure ??= what
  }

  // An executor written with the public API: each task reports its states and waits for their ACKs.
  const executor = Executor.make({
    launchTask: (task) =>
      Effect.gen(function*() {
        const driver = yield* ExecutorDriver.ExecutorDriver
        const taskId = task.taskId!
        yield* driver.runTask(
          taskId,
          Effect.gen(function*() {
            const receipts = []
            for (const state of states) receipts.push(yield* driver.sendStatusUpdate({ taskId, state }))
            for (const receipt of receipts) {
              yield* receipt.acknowledged.pipe(
                Effect.match({
                  onFailure: (error) => fail(`update of ${taskId.value} not acknowledged: ${error.message}`),
                  onSuccess: () => void progress.acknowledged++
                })
              )
            }
          }).pipe(
            Effect.catch((error) => Effect.sync(() => fail(`task ${taskId.value}: ${error.message}`))),
            Effect.ensuring(Effect.sync(() => {
              if (--progress.batchLeft === 0) Deferred.doneUnsafe(progress.batchDone, Exit.void)
            }))
          )
        )
      })
  })

  // The agent of the current batch: a fresh model, or a fresh HTTP server with its model.
  interface Agent {
    readonly model: AgentModel.AgentModelShape
    readonly scope: Scope.Closeable
    readonly port: number
    /** In memory: the client that talks to `model`. */
    readonly client: AgentClient.AgentClientShape
  }
  const frameworks = [{ checkpoint: true }]
  const modelOptions = { frameworks }

  const launchBatch = (model: AgentModel.AgentModelShape, batch: number, tasks: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < tasks; i++) {
        const id = `task-${batch}-${i}`
        yield* model.launch({ taskId: { value: id }, name: id })
      }
    })

  /** Replaces `previous` (if any) with a new agent that has `tasks` tasks for the executor. */
  const nextAgent = (previous: Agent | undefined, batch: number, tasks: number) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      if (!http) {
        const model = yield* AgentModel.AgentModel.make(modelOptions).pipe(Scope.provide(scope))
        yield* launchBatch(model, batch, tasks)
        const agent: Agent = { model, scope, port: 0, client: FakeAgent.makeClient(model) }
        if (previous !== undefined) {
          // The old agent drops the stream; the driver subscribes again, to whichever agent is current.
          current = agent
          yield* Effect.orDie(previous.model.dropStream())
          yield* Scope.close(previous.scope, Exit.void)
        }
        return agent
      }
      // The old server goes away (connections cut, the port freed); the new one listens on the same port.
      if (previous !== undefined) yield* Scope.close(previous.scope, Exit.void)
      const agent = yield* Effect.orDie(HttpFakeAgent.make({ ...modelOptions, port: previous?.port ?? 0 })).pipe(
        Scope.provide(scope)
      )
      yield* launchBatch(agent.model, batch, tasks)
      return { model: agent.model, scope, port: agent.port, client: inMemoryClient }
    })

  // In memory, the driver's AgentClient talks to whichever model is current.
  let current: Agent
  const inMemoryClient = AgentClient.AgentClient.of({
    subscribe: (call) => Effect.suspend(() => current.client.subscribe(call)),
    send: (call) => Effect.suspend(() => current.client.send(call))
  })

  const program = Effect.gen(function*() {
    const driverScope = yield* Scope.make()
    let launched = 0
    const firstTasks = Math.min(batchTasks, totalTasks)
    current = yield* nextAgent(undefined, 0, firstTasks)
    const client = http
      ? yield* HttpAgentClient.make(
        ExecutorConfig.make({
          frameworkId: "fake-framework-0000",
          executorId: "fake-executor",
          agent: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port: current.port })
        })
      ).pipe(Scope.provide(driverScope))
      : inMemoryClient
    const driver = yield* ExecutorDriver.makeWithConfig(executor, {
      frameworkId: "fake-framework-0000",
      executorId: "fake-executor",
      checkpoint: true,
      recoveryTimeout: Duration.minutes(1),
      subscriptionBackoffMax: Duration.millis(1),
      shutdownGracePeriod: Duration.seconds(5)
    }).pipe(Scope.provide(driverScope), Effect.provideService(AgentClient.AgentClient, client))

    for (let batch = 0; batch < batches; batch++) {
      const tasks = Math.min(batchTasks, totalTasks - launched)
      launched += tasks
      progress.batchLeft = tasks
      progress.batchDone = Deferred.makeUnsafe<void>()
      if (batch === 0) {
        yield* driver.start
      } else {
        current = yield* nextAgent(current, batch, tasks)
      }
      yield* Deferred.await(progress.batchDone)

      const sample = sampleMemory()
      if (sample.rss > peak.rss) peak = sample
      peakHandles = Math.max(peakHandles, handles())
      if ((batch + 1) % gcEvery === 0 || batch === batches - 1) {
        gcIfExposed()
        const { heapUsed, rss } = process.memoryUsage()
        heapAfterGc.push({ updates: progress.acknowledged, heapMiB: heapUsed / 2 ** 20, rssMiB: rss / 2 ** 20 })
        const seconds = (performance.now() - startedAt) / 1000
        console.error(
          `  ${progress.acknowledged} updates acknowledged, ${(progress.acknowledged / seconds).toFixed(0)}/s, ` +
            `rss ${formatMiB(sample.rss)} MiB, heap after GC ${heapAfterGc.at(-1)!.heapMiB.toFixed(1)} MiB, ` +
            `handles ${handles()}`
        )
      }
    }

    // The end of the run: the agent shuts the executor down; the driver stops.
    yield* Effect.orDie(current.model.shutdownExecutor())
    const end: Exit.Exit<ExecutorDriver.DriverEnd, unknown> = yield* Effect.exit(driver.await)
    yield* Scope.close(driverScope, Exit.void)
    yield* Scope.close(current.scope, Exit.void)
    return end
  })

  const driverEnd = await Effect.runPromise(
    program.pipe(
      // The driver logs a warning at every reconnection (one per batch): keep the output to the figures.
      Effect.provide(Logger.layer([])),
    )
  )
  const seconds = (performance.now() - startedAt) / 1000
  clearInterval(sampler)
  await settle()
  await new Promise((resolve) => setTimeout(resolve, 50))
  await settle()
  const end = { memory: sampleMemory(), handles: handles(), kinds: handleKinds() }

  const lines = [
    `updates: ${progress.acknowledged} acknowledged of ${totalUpdates} (${totalTasks} tasks × ${updatesPerTask}, ` +
    `batches of ${batchTasks} tasks, ${batches} ${http ? "loopback HTTP fake agents" : "in-memory fake agents"}), ` +
    `${progress.failed} failed`,
    `time: ${seconds.toFixed(1)} s, ${(progress.acknowledged / seconds).toFixed(0)} updates/s`,
    `driver ended: ${Exit.isSuccess(driverEnd) ? driverEnd.value : "failure"}`,
    `rss start/peak/end: ${formatMiB(start.memory.rss)}/${formatMiB(peak.rss)}/${formatMiB(end.memory.rss)} MiB`,
    `heap used start/end: ${formatMiB(start.memory.heapUsed)}/${formatMiB(end.memory.heapUsed)} MiB` +
    (typeof globalThis.gc === "function" ? " (after GC)" : " (no --expose-gc: not collected)"),
    `heap after GC during the run (MiB, every ${gcEvery} batches): ${heapAfterGc.map(({ heapMiB }) => heapMiB.toFixed(1)).join(" ")}`,
    `rss during the run (MiB, same points): ${heapAfterGc.map(({ rssMiB }) => rssMiB.toFixed(0)).join(" ")}`,
    `handles start/peak/end: ${start.handles}/${peakHandles}/${end.handles} (start: ${start.kinds}; end: ${end.kinds})`
  ]
  for (const line of lines) console.log(line)
  if (progress.firstFailure !== undefined) console.log(`first failure: ${progress.firstFailure}`)
  console.log(
    `soak: ${progress.acknowledged} updates, rss start/peak/end ${formatMiB(start.memory.rss)}/` +
      `${formatMiB(peak.rss)}/${formatMiB(end.memory.rss)} MiB, handles start/end ${start.handles}/${end.handles}`
  )
  const ok = progress.failed === 0 && progress.acknowledged === totalUpdates && Exit.isSuccess(driverEnd) &&
    end.handles <= start.handles
  process.exitCode = ok ? 0 : 1
}

await main()
