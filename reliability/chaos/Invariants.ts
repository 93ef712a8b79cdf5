// What must hold after every chaos run, judged from the agent's history, the proxy's log of the wire, the
// executor's exit and output, and /proc. Pure: an observation in, violations out.
//
// What the scenario implies: without a fault the executor cannot survive, every task ends as its command
// says (`true` FINISHED, `exit 3` FAILED, a killed or shut down task KILLED, a task group's survivors
// KILLED when one of them fails), each through the exact sequence of updates the command executor sends,
// and the executor exits 0. When the agent is lost (a restart past the recovery timeout; any disconnection
// without checkpointing) the executor kills its tasks and exits 1, and the agent has the last word on
// the tasks whose end it never heard of: TASK_GONE when the executor did not come back after a restart,
// TASK_FAILED when its process exited, nothing when it forgot a framework that does not checkpoint.
import { Mesos, StatusUuid } from "effect-mesos-executor"
import { AgentModel } from "effect-mesos-executor/testing"
import type { Observation } from "./Run.ts"
import { agentSettings, lossOfAgent, type TaskPlan } from "./Scenario.ts"

const { TaskState } = Mesos

export interface Violation {
  readonly seed: number
  /** Which invariant, for counting. */
  readonly invariant: string
  readonly detail: string
}

const stateName = (state: number | undefined): string =>
  state === undefined ? "none" : TaskState[state] ?? String(state)

/** The updates the command executor sends for a task that ends as its command says. */
const expectedSequence = (task: TaskPlan): ReadonlyArray<Mesos.TaskState> => {
  switch (task.nature) {
    case "Finishes":
      return [TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FINISHED]
    case "Fails":
      return [TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FAILED]
    case "RunsUntilKilled":
      return [TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_KILLING, TaskState.TASK_KILLED]
  }
}

/** How the agent ends the tasks it never heard the end of, when the executor lost it. */
type LossVerdict = Mesos.TaskState | "Forgotten"

const lossVerdict = (observation: Observation): LossVerdict | undefined => {
  const loss = lossOfAgent(observation.scenario)
  if (loss === undefined || observation.lostAgentAt === undefined) return undefined
  const restart = loss.kind === "restart-within-recovery" || loss.kind === "restart-past-recovery"
  if (!observation.scenario.checkpoint) return restart ? "Forgotten" : TaskState.TASK_FAILED
  // The agent's default framework is partition-aware: an executor that does not come back is TASK_GONE.
  return TaskState.TASK_GONE
}

/** Error output that means something was not handled: stack traces, defects, uncaught errors, ERROR logs. */
const unhandledPatterns: ReadonlyArray<RegExp> = [
  /uncaught|unhandled/i,
  /\bdefect\b/i,
  /FiberFailure|\b(Type|Range|Reference|Syntax)Error\b/,
  /^\s+at .+(:\d+:\d+\)?|\(native\))$/m,
  /\] (ERROR|FATAL) \(/
]

/** The message the bin ends with when the executor lost its agent: `ERROR` then the driver's error. */
const lostAgentMessage = (checkpoint: boolean): RegExp =>
  checkpoint
    ? /^ERROR\n\s+executor driver ended \(RecoveryTimeout\)/m
    : /^ERROR\n\s+executor driver ended \(Disconnected\)/m

export const check = (observation: Observation): Array<Violation> => {
  const { scenario } = observation
  const violations: Array<Violation> = []
  const violation = (invariant: string, detail: string) => violations.push({ seed: scenario.seed, invariant, detail })
  const verdict = lossVerdict(observation)
  const lost = verdict !== undefined

  for (const anomaly of observation.anomalies) violation("run-as-planned", anomaly)

  // --- the executor's exit ----------------------------------------------------------------------
  const expectedCode = lost ? 1 : 0
  const exit = observation.exit
  if (exit === undefined) {
    violation("exits", "still running at the deadline (killed by the chaos runner)")
  } else if (exit._tag === "Signaled") {
    violation("exit-code", `killed by ${exit.signal}; expected exit code ${expectedCode}`)
  } else if (exit.code !== expectedCode) {
    violation("exit-code", `exit code ${exit.code}; expected ${expectedCode}${lost ? " (it lost its agent)" : ""}`)
  }
  if (
    scenario.ending === "Shutdown" && !lost && observation.endingAt !== undefined && exit !== undefined &&
    exit.at - observation.endingAt > agentSettings.shutdownGracePeriodMs
  ) {
    violation(
      "exits",
      `exited ${exit.at - observation.endingAt} ms after SHUTDOWN, past the ` +
        `${agentSettings.shutdownGracePeriodMs} ms shutdown grace period`
    )
  }
  for (const survivor of observation.survivors) {
    violation("no-survivors", `task process ${survivor.pid} (${survivor.commandLine}) outlived the executor`)
  }
  for (const pattern of unhandledPatterns) {
    const match = pattern.exec(observation.output)
    if (match !== null) violation("nothing-unhandled", `output matches ${pattern}: ${excerpt(observation.output, match.index)}`)
  }
  if (lost && exit?._tag === "Exited" && exit.code === 1 && !lostAgentMessage(scenario.checkpoint).test(observation.output)) {
    violation("exit-code", `exit code 1 without the expected reason (${lostAgentMessage(scenario.checkpoint)})`)
  }

  // --- status updates, from the executor's side (the wire) and the agent's ----------------------------
  const { agent } = observation
  const executorRecords = agent.updates.filter((update) => update.origin === "Executor")
  const recordsByUuid = new Map<string, Array<AgentModel.StatusUpdateRecord>>()
  for (const record of executorRecords) {
    const key = StatusUuid.toHex(record.status.uuid)
    recordsByUuid.set(key, [...recordsByUuid.get(key) ?? [], record])
  }
  const sent = new Map<string, { readonly taskId: string; readonly state: number }>()
  for (const call of observation.calls) {
    if (call.type === "undecodable") violation("calls-accepted", `the executor sent a call the proxy could not decode`)
    for (const update of call.updates) sent.set(update.uuid, update)
  }
  for (const [uuid, update] of sent) {
    if (update.state === TaskState.TASK_STAGING) violation("no-staging", `${update.taskId}: TASK_STAGING sent (${uuid})`)
  }
  for (const [uuid, records] of recordsByUuid) {
    const [first] = records
    const forwarded = records.filter((record) => record.outcome === "Forwarded").length
    const others = records.filter((record) => record.outcome !== "Forwarded" && record.outcome !== "Duplicate" &&
      record.outcome !== "Inconsistent")
    if (first?.outcome !== "Forwarded" || forwarded !== 1 || others.length > 0) {
      violation(
        "acknowledged-once",
        `${first?.taskId} ${stateName(first?.status.state)} (${uuid}): the agent's outcomes ` +
          records.map((record) => record.outcome).join(", ")
      )
    }
  }
  if (!lost) {
    const acknowledged = new Set(observation.delivered.flatMap((event) => (event.ack === undefined ? [] : [event.ack.uuid])))
    for (const [uuid, update] of sent) {
      const what = `${update.taskId} ${stateName(update.state)} (${uuid})`
      if (!recordsByUuid.has(uuid)) violation("delivered", `${what}: sent, never reached the agent`)
      else if (!acknowledged.has(uuid)) violation("delivered", `${what}: reached the agent, no ACK reached the executor`)
    }
  }
  for (const record of executorRecords) {
    if (!sent.has(StatusUuid.toHex(record.status.uuid))) {
      violation("delivered", `${record.taskId}: the agent has an update the proxy never saw (${StatusUuid.toHex(record.status.uuid)})`)
    }
  }

  // --- each SUBSCRIBE after the first lists what is unacknowledged (SPEC §4.3) ---------------------
  // Judged by the order in which the proxy received calls and wrote events: an update on the wire (or a
  // task launched) before a SUBSCRIBE, with no ACK of it (or of any update of the task) written before
  // the SUBSCRIBE arrived, is still owed to the agent, so the SUBSCRIBE must carry it.
  const onTheWire: Array<{ readonly taskId: string; readonly uuid: string; readonly state: number }> = []
  const incomplete: Array<string> = []
  let subscriptions = 0
  for (const call of observation.calls) {
    if (call.type === "SUBSCRIBE" && subscriptions++ > 0) {
      const before = observation.delivered.filter((event) => event.at <= call.at)
      const acked = new Set(before.flatMap((event) => (event.ack === undefined ? [] : [event.ack.uuid])))
      const ackedTasks = new Set(before.flatMap((event) => (event.ack === undefined ? [] : [event.ack.taskId])))
      const listed = new Set(call.updates.map((update) => update.uuid))
      const missing = [
        ...onTheWire
          .filter((update) => !acked.has(update.uuid) && !listed.has(update.uuid))
          .map((update) => `update ${update.taskId} ${stateName(update.state)} (${update.uuid})`),
        ...[...new Set(before.flatMap((event) => event.launched))]
          .filter((taskId) => !ackedTasks.has(taskId) && !call.tasks.includes(taskId))
          .map((taskId) => `task ${taskId}`)
      ]
      if (missing.length > 0) incomplete.push(`SUBSCRIBE ${subscriptions} does not carry ${missing.join(", ")}`)
    }
    for (const update of call.updates) if (!onTheWire.some((seen) => seen.uuid === update.uuid)) onTheWire.push(update)
  }
  if (incomplete.length > 0) {
    violation(
      "resubscribe-lists-unacknowledged",
      `${incomplete[0]}, unacknowledged${incomplete.length > 1 ? ` (and ${incomplete.length - 1} later SUBSCRIBEs)` : ""}`
    )
  }

  // --- the agent's answers and verdicts ------------------------------------------------------------
  for (const call of agent.calls) {
    if (![200, 202, 404, 503].includes(call.status)) {
      violation("calls-accepted", `the agent answered ${call.status} to ${call.call === undefined ? "a request" : call.call.type}: ${call.body}`)
    }
  }
  for (const destroyed of agent.destroyedContainers) {
    const whileRunning = exit === undefined || destroyed.at < exit.at
    const expected = destroyed.reason === "Orphaned"
      ? verdict === "Forgotten"
      : destroyed.reason === "ReregistrationTimeout" && lost
    if (whileRunning && !expected) {
      violation("exits", `the agent destroyed the container while the executor ran (${destroyed.reason})`)
    }
  }

  // --- each task's end -----------------------------------------------------------------------------
  const killedBeforeLoss = (task: TaskPlan) =>
    observation.kills.some((kill) => kill.taskId === task.id && kill.at < (observation.lostAgentAt ?? Infinity))
  for (const task of scenario.tasks) {
    const natural = expectedSequence(task)
    const sequence = executorRecords
      .filter((record) => record.taskId === task.id && record.outcome === "Forwarded")
      .map((record) => record.status.state)
    const final = AgentModel.findTask(agent, task.id)?.state
    const fits = lost
      ? sequence.every((state, index) => natural[index] === state)
      : sequence.length === natural.length && sequence.every((state, index) => natural[index] === state)
    if (!fits) {
      violation(
        "update-sequence",
        `${task.id}: the executor reported ${sequence.map(stateName).join(", ") || "nothing"}; expected ` +
          `${lost ? "the start of " : ""}${natural.map(stateName).join(", ")}`
      )
    }
    const allowed = new Set<Mesos.TaskState>()
    if (!lost) {
      allowed.add(natural.at(-1)!)
    } else if (verdict === "Forgotten") {
      for (const state of natural) allowed.add(state)
    } else {
      allowed.add(verdict)
      const killed = task.nature === "RunsUntilKilled" && (killedBeforeLoss(task) || task.group !== undefined)
      if (task.nature !== "RunsUntilKilled" || killed) allowed.add(natural.at(-1)!)
    }
    if (final === undefined || !allowed.has(final)) {
      violation(
        "final-state",
        `${task.id} (${task.command}): ${stateName(final)} at the agent; expected ` +
          [...allowed].map(stateName).join(" or ")
      )
    }
  }
  if (verdict === "Forgotten" && agent.frameworks.some((framework) => framework.status !== "Removed")) {
    violation("final-state", "the agent restarted but did not forget the framework that does not checkpoint")
  }
  return violations
}

const excerpt = (text: string, index: number): string =>
  JSON.stringify(text.slice(Math.max(0, index - 120), index + 200))
