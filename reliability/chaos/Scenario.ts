// One chaos run, as a seed determines it: the agent's settings, the tasks (commands and how each must end),
// the faults in the order they are injected, and how the run ends. Pure data: `Run` plays it, `Invariants`
// judges what happened against it.
import * as Prng from "./Prng.ts"

/** Every kind of fault, with where it comes from: the agent model, or the fault proxy on the wire. */
export const faultKinds = [
  "restart-within-recovery", // model: the agent restarts and is back well inside the recovery timeout
  "restart-past-recovery", // model: the agent stays down past the executor's recovery timeout
  "stream-cut", // proxy: the event stream is cut in the middle of a record
  "garbage-record", // proxy: a well-framed record that is not an Event
  "unavailable", // proxy: 503 to every call for a while
  "stall", // proxy: the agent stops writing (events and call answers are held, then flushed)
  "ack-delay", // model: ACKs written late
  "ack-withhold", // model: no ACKs at all for a while
  "ack-duplicate", // model: every ACK written twice
  "ack-duplicate-on-stream", // proxy: every ACK record repeated on the wire
  "ack-reorder" // proxy: ACK records held, then released in reverse order
] as const

export type FaultKind = typeof faultKinds[number]

/** Faults that end the executor's subscription. */
export const disconnects = (kind: FaultKind): boolean =>
  kind === "restart-within-recovery" || kind === "restart-past-recovery" || kind === "stream-cut" ||
  kind === "garbage-record"

/** Faults that last a while: a window the next fault may fall into. */
export const isWindow = (kind: FaultKind): boolean =>
  kind === "unavailable" || kind === "stall" || kind.startsWith("ack-")

/**
 * Whether `next` may begin while `window` is still open. Not the same kind twice (the first one's end
 * would end both), and not a restart the executor must come back from while calls are refused or held:
 * it could then miss its recovery timeout, and the scenario could no longer say how the run must end.
 */
const mayOverlap = (window: FaultKind, next: FaultKind): boolean =>
  isWindow(window) && window !== next &&
  !((window === "unavailable" || window === "stall") && next === "restart-within-recovery")

export interface FaultPlan {
  readonly kind: FaultKind
  /**
   * After the previous fault settled (or the run became ready, for the first); or, when `overlaps`, after
   * the previous fault (a window) began.
   */
  readonly gapBeforeMs: number
  /** Begins while the previous fault, a window, is still open. */
  readonly overlaps: boolean
  /** How long a window fault lasts; for a restart, how long the agent is down. */
  readonly durationMs: number
  /** `ack-delay`: the delay. */
  readonly ackDelayMs: number
  /** Restarts: 404 (routes not installed), then 503 (containerizer recovery), after being down. */
  readonly notFoundForMs: number
  readonly unavailableForMs: number
  /** `garbage-record`: which of the garbage payloads. */
  readonly garbage: number
  /** `stream-cut`: the record to cut: the next one, or the next ACKNOWLEDGED. */
  readonly cutTarget: "Any" | "Acknowledged"
}

/** How a task ends by itself, if it is left alone. */
export type TaskNature = "Finishes" | "Fails" | "RunsUntilKilled"

export interface TaskPlan {
  readonly id: string
  readonly command: string
  readonly nature: TaskNature
  /** The task group it is launched in (LAUNCH_GROUP), if any. */
  readonly group: string | undefined
  /** `KillPolicy.grace_period`; the executor's default (3 s) when undefined. */
  readonly killGraceMs: number | undefined
  /**
   * The scheduler kills it while this fault (an index into the faults) is under way, `killOffsetMs` after
   * it began, so that the KILL, TASK_KILLING, TASK_KILLED and their ACKs cross the fault; undefined if only
   * the end of the run (or its group) ends it.
   */
  readonly killDuring: number | undefined
  readonly killOffsetMs: number
}

export type Ending = "Shutdown" | "TasksEnd"

export interface Scenario {
  readonly seed: number
  readonly checkpoint: boolean
  readonly tasks: ReadonlyArray<TaskPlan>
  readonly faults: ReadonlyArray<FaultPlan>
  /** After the faults: SHUTDOWN, or the scheduler kills what still runs and the executor stops by itself. */
  readonly ending: Ending
}

/** The agent's settings, the same for every run; short, so that a run takes a few seconds. */
export const agentSettings = {
  /** `MESOS_RECOVERY_TIMEOUT`. */
  recoveryTimeoutMs: 2500,
  /** `--executor_reregistration_timeout`: also `MESOS_SUBSCRIPTION_BACKOFF_MAX`, the executor's retry spread. */
  reregistrationTimeoutMs: 500,
  /** The re-registration window after a restart the executor must come back in. */
  restartWindowMs: 2000,
  /** After a restart the executor cannot come back from: the window only delays the agent's verdict. */
  lostRestartWindowMs: 500,
  /** `--executor_shutdown_grace_period`: the executor kills its tasks with 1 s of it (3 s less 2 s). */
  shutdownGracePeriodMs: 3000
} as const

/** A restart within the recovery timeout leaves the executor this much time to spare at least. */
const restartMarginMs = 900

/** The well-framed records `garbage-record` injects: none decodes as an Event. */
export const garbagePayloads: ReadonlyArray<Uint8Array> = [
  // Field 1 (type), wire type 7: no such wire type.
  Uint8Array.of(0x0f, 0x01),
  // Field 2 (subscribed), length 100, with two bytes behind it.
  Uint8Array.of(0x12, 0x64, 0x01, 0x02),
  // A varint that never ends.
  Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
  // Text, as a misconfigured proxy would send.
  new TextEncoder().encode("<html>502 Bad Gateway</html>")
]

const faultPlan = (random: Prng.Prng, kind: FaultKind, previous: FaultPlan | undefined): FaultPlan => {
  const { recoveryTimeoutMs, reregistrationTimeoutMs } = agentSettings
  const notFoundForMs = random.int(0, 100)
  const unavailableForMs = random.int(50, 150)
  const durationMs = (() => {
    switch (kind) {
      case "restart-within-recovery":
        // Down, 404 and 503, then the executor's next attempt (within the backoff max), with room to spare.
        return random.int(200, recoveryTimeoutMs - restartMarginMs - notFoundForMs - unavailableForMs - reregistrationTimeoutMs)
      case "restart-past-recovery":
        return recoveryTimeoutMs + random.int(700, 1200)
      case "stream-cut":
      case "garbage-record":
        return 0
      case "unavailable":
      case "ack-withhold":
        return random.int(300, 1000)
      case "stall":
      case "ack-reorder":
        return random.int(300, 1200)
      case "ack-delay":
      case "ack-duplicate":
      case "ack-duplicate-on-stream":
        return random.int(500, 1500)
    }
  })()
  const overlaps = previous !== undefined && mayOverlap(previous.kind, kind) && random.chance(0.4)
  return {
    kind,
    gapBeforeMs: previous === undefined
      ? random.int(0, 600)
      : overlaps
      ? random.int(0, Math.floor(previous.durationMs * 0.8))
      : random.int(200, 700),
    overlaps,
    durationMs,
    ackDelayMs: random.int(100, 800),
    notFoundForMs,
    unavailableForMs,
    garbage: random.int(0, garbagePayloads.length - 1),
    cutTarget: random.chance(0.5) ? "Any" : "Acknowledged"
  }
}

/** Whether the executor cannot survive this fault: it loses its agent, kills its tasks and exits 1. */
export const losesAgent = (scenario: Pick<Scenario, "checkpoint">, kind: FaultKind): boolean =>
  kind === "restart-past-recovery" || (!scenario.checkpoint && disconnects(kind))

/** The scenario of `seed`. */
export const generate = (seed: number): Scenario => {
  const random = Prng.make(seed)
  const checkpoint = random.chance(0.8)

  const faults: Array<FaultPlan> = []
  for (let n = random.int(1, 4); n > 0; n--) {
    const fault = faultPlan(random, random.pick(faultKinds), faults.at(-1))
    faults.push(fault)
    // Nothing follows the loss of the agent.
    if (losesAgent({ checkpoint }, fault.kind)) break
  }

  const tasks: Array<TaskPlan> = []
  const add = (
    task: Pick<TaskPlan, "command" | "nature"> & Partial<Pick<TaskPlan, "group" | "killGraceMs">>,
    name: string
  ) => {
    const killed = task.nature === "RunsUntilKilled" && task.group === undefined && random.chance(0.7)
    const killDuring = killed ? random.int(0, faults.length - 1) : undefined
    const window = killDuring === undefined ? 0 : faults[killDuring]!.durationMs
    tasks.push({
      group: undefined,
      killGraceMs: undefined,
      ...task,
      id: `${name}-${tasks.length + 1}`,
      killDuring,
      // Within the first half of a window; a restart's KILL lands while the agent is down (and is ignored).
      killOffsetMs: random.int(0, Math.max(100, Math.floor(window / 2)))
    })
  }
  // Short tasks end at random moments among the faults.
  const sleep = () => (random.next() * 2).toFixed(2)
  const shortTasks = [
    () => add({ command: "true", nature: "Finishes" }, "true"),
    () => add({ command: `sleep ${sleep()}`, nature: "Finishes" }, "sleep"),
    () => add({ command: "exit 3", nature: "Fails" }, "exit3"),
    () => add({ command: `sleep ${sleep()}; exit 3`, nature: "Fails" }, "sleep-exit3")
  ]
  for (let i = random.int(1, 3); i > 0; i--) random.pick(shortTasks)()
  for (let i = random.int(1, 2); i > 0; i--) add({ command: "exec sleep 60", nature: "RunsUntilKilled" }, "polite")
  if (random.chance(0.5)) {
    // Ignores SIGTERM (an ignored signal stays ignored across exec): only SIGKILL, after the grace, ends it.
    add(
      { command: "trap '' TERM; exec sleep 60", nature: "RunsUntilKilled", killGraceMs: random.int(300, 1000) },
      "stubborn"
    )
  }
  if (random.chance(0.35)) {
    const group = `group-${tasks.length + 1}`
    if (random.chance(0.5)) {
      // One task fails: the executor kills the rest of the group.
      add({ command: `sleep ${sleep()}; exit 1`, nature: "Fails", group }, "group-fails")
      add({ command: "exec sleep 60", nature: "RunsUntilKilled", group }, "group-sibling")
    } else {
      add({ command: `sleep ${sleep()}`, nature: "Finishes", group }, "group-a")
      add({ command: `sleep ${sleep()}`, nature: "Finishes", group }, "group-b")
    }
  }

  return { seed, checkpoint, tasks, faults, ending: random.chance(0.5) ? "Shutdown" : "TasksEnd" }
}

/** The fault that makes the executor lose its agent, if the scenario has one (always its last). */
export const lossOfAgent = (scenario: Scenario): FaultPlan | undefined =>
  scenario.faults.find((fault) => losesAgent(scenario, fault.kind))

/** One line per scenario, for reports. */
export const describe = (scenario: Scenario): string =>
  `seed ${scenario.seed}: ${scenario.checkpoint ? "checkpoint" : "no checkpoint"}; tasks ` +
  scenario.tasks.map((task) =>
    `${task.id}${task.group === undefined ? "" : `@${task.group}`} (${task.command}` +
    `${task.killGraceMs === undefined ? "" : `, grace ${task.killGraceMs} ms`}` +
    `${task.killDuring === undefined ? "" : `, killed ${task.killOffsetMs} ms into fault ${task.killDuring + 1}`})`
  ).join(", ") +
  `; faults ${
    scenario.faults.map((fault, index) =>
      `${index + 1}. ${fault.kind}${fault.durationMs > 0 ? ` ${fault.durationMs} ms` : ""}` +
      `${fault.overlaps ? ` (${fault.gapBeforeMs} ms into ${index})` : ""}`
    ).join(", ")
  }` +
  `; then ${scenario.ending === "Shutdown" ? "SHUTDOWN" : "the tasks end"}`
