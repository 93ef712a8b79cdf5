/**
 * What happens during a local run, as the displays show it: what the agent saw and did (every request
 * with its answer, every event it wrote, every status update it handled, every container it destroyed),
 * read from its history as it grows, and what the local agent itself did around it (starting and
 * reaping executor processes, the scheduler's kills and shutdowns, the deadline).
 */
import { isFieldSet } from "@bufbuild/protobuf"
import { Duration } from "effect"
import {
  type Call,
  Call_Type,
  Call_TypeSchema,
  CallSchema,
  type Event,
  Event_Type,
  Event_TypeSchema
} from "../gen/mesos/v1/executor/executor_pb.js"
import { type TaskStatus, TaskStatusSchema } from "../gen/mesos/v1/mesos_pb.js"
import * as MesosDuration from "../config/MesosDuration.js"
import type {
  AgentState,
  DestroyedContainer,
  HistoryMark,
  ReceivedCall,
  SentEvent,
  StatusUpdateRecord
} from "../testing/AgentModel.js"
import { describeExit, type OutputStream, type ProcessExit } from "./ExecutorContainer.js"
import { reasonName, stateName } from "./TasksFile.js"

export type Activity =
  | { readonly _tag: "AgentStarted"; readonly at: number; readonly url: string; readonly workDir: string }
  | {
    readonly _tag: "ExecutorLaunched"
    readonly at: number
    readonly executorId: string
    readonly pid: number
    readonly sandbox: string
    readonly command: string
  }
  | { readonly _tag: "ExecutorExited"; readonly at: number; readonly executorId: string; readonly exit: ProcessExit }
  | {
    readonly _tag: "ExecutorOutput"
    readonly at: number
    readonly executorId: string
    readonly stream: OutputStream
    readonly line: string
  }
  /** A kill or shutdown the scheduler asked for, or one it let go. */
  | { readonly _tag: "SchedulerAction"; readonly at: number; readonly executorId: string; readonly action: string }
  | { readonly _tag: "CallReceived"; readonly at: number; readonly call: ReceivedCall }
  | { readonly _tag: "EventSent"; readonly at: number; readonly event: SentEvent }
  | { readonly _tag: "UpdateHandled"; readonly at: number; readonly update: StatusUpdateRecord }
  | { readonly _tag: "ContainerDestroyed"; readonly at: number; readonly container: DestroyedContainer }
  | { readonly _tag: "TimedOut"; readonly at: number; readonly after: Duration.Duration }

/**
 * What the agent saw and did after `seen` (a mark of an earlier state) up to `state`, in the order it
 * happened; within one instant, causes before effects: a request, a destroyed container, the status
 * updates they brought, the events (ACKNOWLEDGED) those caused.
 */
export const agentChanges = (seen: HistoryMark, state: AgentState): Array<Activity> => {
  const activities: Array<Activity> = [
    ...state.calls.slice(seen.calls).map((call): Activity => ({ _tag: "CallReceived", at: call.at, call })),
    ...state.destroyedContainers.slice(seen.destroyedContainers).map((container): Activity => ({
      _tag: "ContainerDestroyed",
      at: container.at,
      container
    })),
    ...state.updates.slice(seen.updates).map((update): Activity => ({ _tag: "UpdateHandled", at: update.at, update })),
    ...state.events.slice(seen.events).map((event): Activity => ({ _tag: "EventSent", at: event.at, event }))
  ]
  // A stable sort keeps the order above within one instant.
  return activities.sort((a, b) => a.at - b.at)
}

/**
 * How an activity reads: `Problem` for what the real agent would reject or drop, or what a well-behaved
 * executor never causes; `Notable` for what changes the course of the run; `Detail` for the rest.
 */
export interface Line {
  readonly executorId: string | undefined
  readonly kind: "Problem" | "Notable" | "Detail"
  readonly text: string
}

/** The activity as a line of text; undefined for an accepted UPDATE, which its `UpdateHandled` tells. */
export const describe = (activity: Activity): Line | undefined => {
  switch (activity._tag) {
    case "AgentStarted":
      return notable(undefined, `agent listening on ${activity.url}; sandboxes under ${activity.workDir}`)
    case "ExecutorLaunched":
      return notable(
        activity.executorId,
        `started pid ${activity.pid}: ${activity.command}\n  sandbox ${activity.sandbox}`
      )
    case "ExecutorExited":
      return notable(activity.executorId, `executor ${describeExit(activity.exit)}`)
    case "ExecutorOutput":
      return { executorId: activity.executorId, kind: "Detail", text: `${activity.stream}: ${activity.line}` }
    case "SchedulerAction":
      return notable(activity.executorId, activity.action)
    case "TimedOut":
      return {
        executorId: undefined,
        kind: "Problem",
        text: `timed out after ${MesosDuration.format(activity.after)}: destroying every container`
      }
    case "CallReceived": {
      const { call } = activity
      const executorId = call.call?.executorId?.value
      if (call.status >= 400) return { executorId, kind: "Problem", text: describeRejection(call) }
      if (call.call?.type === Call_Type.UPDATE) return undefined
      return { executorId, kind: "Detail", text: `→ ${describeCall(call.call)} → ${call.status}` }
    }
    case "UpdateHandled":
      return describeUpdateLine(activity.update)
    case "EventSent":
      return { executorId: activity.event.executorId, kind: "Detail", text: `← ${describeEvent(activity.event.event)}` }
    case "ContainerDestroyed":
      return {
        executorId: activity.container.executorId,
        kind: "Problem",
        text: `the agent destroyed the container: ${describeDestruction(activity.container)}`
      }
  }
}

const notable = (executorId: string | undefined, text: string): Line => ({ executorId, kind: "Notable", text })

/** A rejected request: what it was, the status, and the agent's words. */
export const describeRejection = (call: ReceivedCall): string =>
  `→ ${call.call === undefined ? `request (${call.contentType ?? "no Content-Type"})` : describeCall(call.call)} ` +
  `rejected: ${call.status} ${call.body}`

export const describeCall = (call: Call | undefined): string => {
  if (call === undefined) return "request"
  const type = isFieldSet(call, CallSchema.field.type)
    ? enumName(Call_TypeSchema.value[call.type]?.name, call.type)
    : "call without a type"
  switch (call.type) {
    case Call_Type.SUBSCRIBE: {
      const updates = call.subscribe?.unacknowledgedUpdates.length ?? 0
      const tasks = call.subscribe?.unacknowledgedTasks.length ?? 0
      return updates + tasks === 0
        ? type
        : `${type} with ${updates} unacknowledged update(s) and ${tasks} unacknowledged task(s)`
    }
    case Call_Type.UPDATE: {
      const status = call.update?.status
      return status === undefined ? type : `${type} ${describeStatus(status)}`
    }
    case Call_Type.MESSAGE:
      return `${type} of ${call.message?.data.length ?? 0} byte(s)`
    default:
      return type
  }
}

/** `task-1 TASK_RUNNING (healthy) [REASON_...]: message`, with only what the status says. */
export const describeStatus = (status: TaskStatus): string =>
  [`${status.taskId?.value ?? "?"} ${stateName(status.state)}`, ...statusDetails(status)].join(" ")
    .replace(/ (: )/, "$1")

/** `(healthy)`, `[REASON_...]` and `: message`, each when the status has it. */
export const statusDetails = (status: TaskStatus): Array<string> => [
  ...(isFieldSet(status, TaskStatusSchema.field.healthy) ? [status.healthy ? "(healthy)" : "(unhealthy)"] : []),
  ...(isFieldSet(status, TaskStatusSchema.field.reason) ? [`[${reasonName(status.reason)}]`] : []),
  ...(status.message === "" ? [] : [`: ${status.message}`])
]

const describeUpdateLine = (update: StatusUpdateRecord): Line => {
  const text = describeUpdate(update)
  if (update.origin === "Agent") return { executorId: update.executorId, kind: "Notable", text }
  return {
    executorId: update.executorId,
    kind: update.outcome === "Forwarded" ? "Detail" : update.outcome === "Duplicate" ? "Notable" : "Problem",
    text
  }
}

/** A status update and what the agent did with it. */
export const describeUpdate = (update: StatusUpdateRecord): string => {
  const status = describeStatus(update.status)
  if (update.origin === "Agent") return `agent: ${status}`
  switch (update.outcome) {
    case "Forwarded":
      return `→ UPDATE ${status}`
    case "Duplicate":
      return `→ UPDATE ${status}: a resend of an update already received; acknowledged again, not forwarded`
    case "Inconsistent":
      return `→ UPDATE ${status}: the task had already ended (or was still queued); acknowledged, then dropped`
    case "UnknownTask":
      return `→ UPDATE ${status}: no executor of this agent has the task; forwarded, never acknowledged`
    case "AgentIdMismatch":
      return `→ UPDATE ${status}: its agent_id names another agent; dropped without a word, never acknowledged`
    case "FrameworkTerminating":
      return `→ UPDATE ${status}: the framework is terminating; dropped, never acknowledged`
  }
}

export const describeEvent = (event: Event): string => {
  const type = enumName(Event_TypeSchema.value[event.type]?.name, event.type)
  switch (event.type) {
    case Event_Type.LAUNCH:
      return `${type} ${event.launch?.task?.taskId?.value ?? "?"}`
    case Event_Type.LAUNCH_GROUP:
      return `${type} ${event.launchGroup?.taskGroup?.tasks.map((task) => task.taskId?.value ?? "?").join(", ") ?? ""}`
    case Event_Type.KILL: {
      const grace = event.kill?.killPolicy?.gracePeriod
      return `${type} ${event.kill?.taskId?.value ?? "?"}` +
        (grace === undefined ? "" : ` (grace period ${MesosDuration.format(Duration.nanos(grace.nanoseconds))})`)
    }
    case Event_Type.ACKNOWLEDGED:
      return `${type} ${event.acknowledged?.taskId?.value ?? "?"}`
    case Event_Type.MESSAGE:
      return `${type} of ${event.message?.data.length ?? 0} byte(s)`
    default:
      return type
  }
}

export const describeDestruction = (container: DestroyedContainer): string => {
  switch (container.reason) {
    case "RegistrationTimeout":
      return "the executor did not subscribe within the registration timeout"
    case "ShutdownGracePeriodElapsed":
      return "the executor was still running when its shutdown grace period ended"
    case "ReregistrationTimeout":
      return "the executor did not re-subscribe after the agent restarted"
    case "Orphaned":
      return "its framework was not checkpointing, so the restarted agent did not recover it"
  }
}

const enumName = (name: string | undefined, value: number): string => name ?? `unknown type ${value}`
