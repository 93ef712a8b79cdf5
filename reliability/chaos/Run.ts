// Plays one scenario: a loopback fake agent with the scenario's tasks queued, the fault proxy in front of
// it, and the real bin (`effect-mesos-executor command`) started against the proxy as an agent starts an
// executor. Once every task has started, the faults follow one another (each waits for the executor to
// have recovered from the previous one), the scheduler kills tasks at their moments, and the run ends
// with SHUTDOWN or with the tasks ending; then it waits for the executor to exit and lets the agent notice.
// What every party saw is the `Observation` that `Invariants` judges.
import { Duration, Effect, Exit, Fiber, Option } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TaskStates } from "effect-mesos-executor"
import { AgentModel, HttpFakeAgent } from "effect-mesos-executor/testing"
import * as ExecutorProcess from "./ExecutorProcess.ts"
import * as FaultProxy from "./FaultProxy.ts"
import { agentSettings, type FaultKind, type FaultPlan, garbagePayloads, losesAgent, type Scenario, type TaskPlan } from "./Scenario.ts"

export interface InjectedFault {
  /** Its place among the scenario's faults. */
  readonly index: number
  readonly kind: FaultKind
  readonly at: number
  /** False when there was nothing to inject it into (no stream to cut). */
  readonly injected: boolean
  readonly detail: string
}

export interface Observation {
  readonly scenario: Scenario
  readonly startedAt: number
  /** When every task had started; undefined if they did not. */
  readonly readyAt: number | undefined
  readonly faults: ReadonlyArray<InjectedFault>
  /** When the fault the executor cannot survive was injected. */
  readonly lostAgentAt: number | undefined
  /** Every KILL the scheduler asked for. */
  readonly kills: ReadonlyArray<{ readonly taskId: string; readonly at: number }>
  /** When the run's ending began (SHUTDOWN sent, or the last tasks killed). */
  readonly endingAt: number | undefined
  /** Undefined: still running at the deadline (then SIGKILLed). */
  readonly exit: ExecutorProcess.ProcessExit | undefined
  readonly output: string
  /** Processes of the executor's tasks still alive once it had exited. */
  readonly survivors: ReadonlyArray<ExecutorProcess.Survivor>
  readonly agent: AgentModel.AgentState
  readonly calls: ReadonlyArray<FaultProxy.ObservedCall>
  readonly delivered: ReadonlyArray<FaultProxy.DeliveredEvent>
  readonly proxyEffects: FaultProxy.Effects
  /** What went wrong on the agent's side of the run (fake agent, proxy, runner): not the executor's doing. */
  readonly anomalies: ReadonlyArray<string>
}

const millis = (ms: number) => Duration.millis(ms)

/** How long the tasks get to start, the executor to recover from a fault, the short tasks to end. */
const startTimeout = millis(15_000)
const recoverTimeout = millis(10_000)
const shortTasksTimeout = millis(20_000)
/** Past the end of the run (or the loss of the agent) and what it may take, the executor must be gone. */
const exitSlackMs = 8_000
/** How long a stream cut waits for the record it is to cut (then it cuts a HEARTBEAT of its own). */
const cutPatience = 1_500
/** Before the ending, for updates refused or unacknowledged during the last fault to be resent. */
const settleBeforeEndingMs = 1_200

const taskInfo = (task: TaskPlan) => ({
  taskId: { value: task.id },
  name: task.id,
  command: { value: task.command },
  ...(task.killGraceMs === undefined
    ? {}
    : { killPolicy: { gracePeriod: { nanoseconds: BigInt(task.killGraceMs) * 1_000_000n } } })
})

const terminalAtAgent = (state: AgentModel.AgentState, taskId: string): boolean => {
  const task = AgentModel.findTask(state, taskId)
  return task !== undefined && TaskStates.isTerminal(task.state)
}

export const run = Effect.fn("chaos.run")(function*(scenario: Scenario) {
  const startedAt = Date.now()
  const anomalies: Array<string> = []
  const faults: Array<InjectedFault> = []
  const kills: Array<{ taskId: string; at: number }> = []
  let lostAgentAt: number | undefined
  let endingAt: number | undefined

  const agent = yield* Effect.orDie(HttpFakeAgent.make({
    frameworks: [{ checkpoint: scenario.checkpoint }],
    recoveryTimeout: millis(agentSettings.recoveryTimeoutMs),
    reregistrationTimeout: millis(agentSettings.reregistrationTimeoutMs),
    executorShutdownGracePeriod: millis(agentSettings.shutdownGracePeriodMs),
    registrationTimeout: Duration.seconds(30)
  }))
  const model = agent.model
  const groups = new Map<string, Array<TaskPlan>>()
  for (const task of scenario.tasks) {
    if (task.group === undefined) yield* Effect.orDie(model.launch(taskInfo(task)))
    else groups.set(task.group, [...groups.get(task.group) ?? [], task])
  }
  for (const members of groups.values()) {
    yield* Effect.orDie(model.launchGroup({ tasks: members.map(taskInfo) }))
  }

  const proxy = yield* FaultProxy.make({ upstreamPort: agent.port })
  const sandbox = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), `chaos-${scenario.seed}-`))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const endpoint = `127.0.0.1:${proxy.port}`
  const environment = {
    ...(yield* Effect.orDie(agent.environment({ sandbox }))),
    MESOS_AGENT_ENDPOINT: endpoint,
    MESOS_SLAVE_PID: `slave(1)@${endpoint}`
  }
  const executor = yield* ExecutorProcess.start(environment, sandbox)

  /** Waits until `select` holds for the agent's state, or gives up after `timeout`: whether it held. */
  const awaitAgent = (select: (state: AgentModel.AgentState) => boolean, timeout: Duration.Duration) =>
    Effect.map(
      Effect.timeoutOption(model.awaitState((state) => (select(state) ? true : undefined)), timeout),
      Option.isSome
    )

  const subscriptionOf = (state: AgentModel.AgentState) => state.executors[0]?.subscription

  /**
   * The executor subscribed again (a new stream, at a running agent) after a fault that cut it off, or
   * exited (having nothing left to do, or having given up: its exit code tells).
   */
  const recovered = (fault: FaultKind, before: number | undefined) =>
    Effect.gen(function*() {
      const resubscribed = model.awaitState((state) => {
        const executor = state.executors[0]
        const ok = state.phase === "Running" && executor?.status === "Running" && executor.subscription !== undefined &&
          executor.subscription !== before
        return ok ? true : undefined
      })
      const ok = yield* Effect.timeoutOption(Effect.raceFirst(resubscribed, executor.exit), recoverTimeout)
      if (Option.isNone(ok)) {
        anomalies.push(`${fault}: the executor had not subscribed again ${Duration.format(recoverTimeout)} later`)
      }
    })

  const window = (fault: FaultPlan, on: Effect.Effect<void>, off: Effect.Effect<void>) =>
    Effect.acquireUseRelease(on, () => Effect.sleep(millis(fault.durationMs)), () => off)

  const inject = (fault: FaultPlan, index: number): Effect.Effect<InjectedFault> =>
    Effect.gen(function*() {
      const at = Date.now()
      const done = (injected: boolean, detail: string): InjectedFault => ({
        index,
        kind: fault.kind,
        at,
        injected,
        detail
      })
      const subscriptionBefore = subscriptionOf(yield* model.state)
      const lost = losesAgent(scenario, fault.kind)
      const afterDisconnect = lost ? Effect.void : recovered(fault.kind, subscriptionBefore)
      switch (fault.kind) {
        case "restart-within-recovery":
        case "restart-past-recovery": {
          if (lost) lostAgentAt = at
          yield* model.restart({
            downFor: millis(fault.durationMs),
            notFoundFor: millis(fault.notFoundForMs),
            unavailableFor: millis(fault.unavailableForMs),
            reregistrationTimeout: millis(
              fault.kind === "restart-past-recovery" ? agentSettings.lostRestartWindowMs : agentSettings.restartWindowMs
            )
          })
          yield* afterDisconnect
          return done(true, `down ${fault.durationMs} ms, 404 ${fault.notFoundForMs} ms, 503 ${fault.unavailableForMs} ms`)
        }
        case "stream-cut": {
          const cut = yield* proxy.cutStream(fault.cutTarget, cutPatience)
          if (cut === undefined) return done(false, "no stream to cut")
          // The executor is cut off when the record is, not when the cut was armed.
          if (lost) lostAgentAt = Date.now()
          yield* afterDisconnect
          return done(true, `cut in ${cut}`)
        }
        case "garbage-record": {
          const payload = garbagePayloads[fault.garbage]!
          if (!(yield* proxy.injectGarbage(payload))) return done(false, "no stream to write to")
          if (lost) lostAgentAt = at
          yield* afterDisconnect
          return done(true, `${payload.length} bytes`)
        }
        case "unavailable":
          yield* window(fault, proxy.setUnavailable(true), proxy.setUnavailable(false))
          return done(true, `${fault.durationMs} ms`)
        case "stall":
          yield* window(fault, proxy.setStalled(true), proxy.setStalled(false))
          return done(true, `${fault.durationMs} ms`)
        case "ack-delay":
          yield* window(
            fault,
            model.setFaults({ ackDelay: millis(fault.ackDelayMs) }),
            model.setFaults({ ackDelay: Duration.zero })
          )
          return done(true, `${fault.ackDelayMs} ms for ${fault.durationMs} ms`)
        case "ack-withhold":
          yield* window(fault, model.setFaults({ withholdAcks: true }), model.setFaults({ withholdAcks: false }))
          return done(true, `${fault.durationMs} ms`)
        case "ack-duplicate":
          yield* window(fault, model.setFaults({ duplicateAcks: true }), model.setFaults({ duplicateAcks: false }))
          return done(true, `${fault.durationMs} ms`)
        case "ack-duplicate-on-stream":
          yield* window(fault, proxy.setRepeatingAcks(true), proxy.setRepeatingAcks(false))
          return done(true, `${fault.durationMs} ms`)
        case "ack-reorder":
          yield* window(fault, proxy.setReorderingAcks(true), proxy.setReorderingAcks(false))
          return done(true, `${fault.durationMs} ms`)
      }
    })

  /** The scheduler kills the task, and kills it again while it has not ended (a KILL can be lost). */
  const killUntilEnded = (task: TaskPlan) =>
    Effect.gen(function*() {
      const patience = millis((task.killGraceMs ?? 0) + 2_500)
      while (lostAgentAt === undefined && executor.exited() === undefined) {
        if (terminalAtAgent(yield* model.state, task.id)) return
        kills.push({ taskId: task.id, at: Date.now() })
        const refused = yield* Effect.flip(model.kill(task.id)).pipe(Effect.option)
        // The agent no longer knows the executor: nothing left to kill.
        if (Option.isNone(refused)) return
        yield* awaitAgent((state) => terminalAtAgent(state, task.id), patience)
      }
    })

  const started = yield* awaitAgent(
    (state) =>
      scenario.tasks.every((task) =>
        state.updates.some((update) => update.taskId === task.id && update.origin === "Executor")
      ),
    startTimeout
  )
  const readyAt = started ? Date.now() : undefined
  if (!started) anomalies.push(`the tasks had not all started ${Duration.format(startTimeout)} after launch`)

  if (started) {
    const killers: Array<Fiber.Fiber<void>> = []
    // The window a fault that overlaps it began in, still open.
    let open: Fiber.Fiber<void> | undefined
    for (const [index, fault] of scenario.faults.entries()) {
      yield* Effect.sleep(millis(fault.gapBeforeMs))
      // Every task ended and was acknowledged before the faults were over: the executor is gone.
      if (executor.exited() !== undefined) break
      for (const task of scenario.tasks.filter((task) => task.killDuring === index)) {
        killers.push(yield* Effect.forkScoped(Effect.andThen(Effect.sleep(millis(task.killOffsetMs)), killUntilEnded(task))))
      }
      const injection = Effect.flatMap(inject(fault, index), (injected) => Effect.sync(() => void faults.push(injected)))
      const window = open
      if (scenario.faults[index + 1]?.overlaps === true) {
        open = yield* Effect.forkScoped(injection)
      } else {
        open = undefined
        yield* injection
      }
      if (window !== undefined) yield* Fiber.join(window)
      if (lostAgentAt !== undefined) break
    }
    if (open !== undefined) yield* Fiber.join(open)
    if (lostAgentAt === undefined) {
      yield* Effect.sleep(millis(settleBeforeEndingMs))
      const shortTasks = scenario.tasks.filter((task) => task.nature !== "RunsUntilKilled")
      const ended = yield* awaitAgent(
        (state) => shortTasks.every((task) => terminalAtAgent(state, task.id)),
        shortTasksTimeout
      )
      if (!ended) anomalies.push(`short tasks not ended at the agent ${Duration.format(shortTasksTimeout)} after the faults`)
      endingAt = Date.now()
      if (scenario.ending === "Shutdown") {
        yield* Effect.orDie(model.shutdownExecutor())
      } else {
        yield* Effect.forEach(
          scenario.tasks.filter((task) => task.nature === "RunsUntilKilled"),
          (task) => Effect.forkScoped(killUntilEnded(task))
        )
      }
    }
    yield* Effect.forEach(killers, Fiber.interrupt)
  }

  const deadline = (lostAgentAt ?? endingAt ?? Date.now()) +
    (lostAgentAt !== undefined && scenario.checkpoint ? agentSettings.recoveryTimeoutMs : 0) + exitSlackMs
  const exit = yield* Effect.timeoutOption(executor.exit, millis(Math.max(0, deadline - Date.now())))
  // An executor that would not exit is killed; then whatever it left is, once recorded.
  const survivors = Option.isSome(exit) ? executor.leftBehind() : ExecutorProcess.survivors(sandbox, executor.pid)
  if (Option.isNone(exit)) ExecutorProcess.killGroup(executor.pid)
  for (const survivor of ExecutorProcess.survivors(sandbox, executor.pid)) ExecutorProcess.killGroup(survivor.pid)

  // The agent notices that the executor is gone (once it is back up, after a restart).
  if (!(yield* awaitAgent((state) => state.phase === "Running", recoverTimeout))) {
    anomalies.push(`the agent was not running ${Duration.format(recoverTimeout)} after the executor exited`)
  }
  const noticed = yield* Effect.exit(model.executorExited())
  if (Exit.isFailure(noticed)) anomalies.push(`the agent could not mark the executor exited: ${String(noticed.cause)}`)

  return {
    scenario,
    startedAt,
    readyAt,
    faults: faults.sort((a, b) => a.index - b.index),
    lostAgentAt,
    kills,
    endingAt,
    exit: Option.getOrUndefined(exit),
    output: executor.output(),
    survivors,
    agent: yield* model.state,
    calls: proxy.calls,
    delivered: proxy.delivered,
    proxyEffects: { ...proxy.effects },
    anomalies: [...anomalies, ...proxy.anomalies]
  } satisfies Observation
}, Effect.scoped)
