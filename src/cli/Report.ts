/**
 * The verdict of a local run: how each task ended against what the tasks file expects, how each
 * executor process ended, and the protocol mistakes the executors made, as the real agent would have
 * rejected or dropped them.
 */
import { isFieldSet } from "@bufbuild/protobuf"
import type { Duration } from "effect"
import { Call_Type, Event_Type } from "../gen/mesos/v1/executor/executor_pb.js"
import { TaskState, TaskStatus_Reason, TaskStatusSchema } from "../gen/mesos/v1/mesos_pb.js"
import * as MesosDuration from "../config/MesosDuration.js"
import { type AgentState, findTask } from "../testing/AgentModel.js"
import { describeDestruction, describeRejection, describeStatus, describeUpdate } from "./Activity.js"
import { describeExit, type ProcessExit } from "./ExecutorContainer.js"
import { type Expectation, reasonName, stateName, type TasksFile } from "./TasksFile.js"
import * as StatusUuid from "../wire/StatusUuid.js"

export interface TaskResult {
  readonly executorId: string
  readonly taskId: string
  /** The last state the agent accepted; TASK_STAGING when the task never got an update. */
  readonly state: TaskState
  readonly reason: TaskStatus_Reason | undefined
  readonly message: string | undefined
  /** Whether some update said the task was healthy. */
  readonly healthy: boolean
  readonly expected: Expectation
  readonly ok: boolean
}

export interface ExecutorResult {
  readonly executorId: string
  readonly sandbox: string
  readonly subscribed: boolean
  /** Undefined when the process was not reaped (the run timed out and it survived SIGKILL). */
  readonly exit: ProcessExit | undefined
  readonly expectedExitCode: number
  readonly ok: boolean
}

export interface Problem {
  readonly executorId: string | undefined
  readonly text: string
}

export interface Report {
  readonly tasks: ReadonlyArray<TaskResult>
  readonly executors: ReadonlyArray<ExecutorResult>
  readonly problems: ReadonlyArray<Problem>
  /** Set when the run did not end by itself within its deadline. */
  readonly timedOut: Duration.Duration | undefined
  /** Every task and executor ended as expected, in time (and, when strict, without protocol mistakes). */
  readonly ok: boolean
}

export interface ExecutorRun {
  readonly executorId: string
  readonly sandbox: string
  readonly exit: ProcessExit | undefined
}

export const make = (input: {
  readonly tasksFile: TasksFile
  readonly state: AgentState
  readonly executors: ReadonlyArray<ExecutorRun>
  readonly timedOut: Duration.Duration | undefined
  /** Protocol mistakes fail the run too. */
  readonly strict: boolean
}): Report => {
  const { state } = input
  const tasks = input.tasksFile.executors.flatMap((plan) =>
    plan.launches.flatMap((launch) => launch.expectations.map((expected) => taskResult(state, plan.executorId, expected)))
  )
  const executors = input.tasksFile.executors.map((plan): ExecutorResult => {
    const run = input.executors.find((candidate) => candidate.executorId === plan.executorId)
    const exit = run?.exit
    // An executor whose container had to be destroyed did not end by itself, whatever its exit says.
    const destroyed = input.timedOut !== undefined ||
      state.destroyedContainers.some((container) => container.executorId === plan.executorId)
    return {
      executorId: plan.executorId,
      sandbox: run?.sandbox ?? "",
      subscribed: state.subscriptions.some((subscription) => subscription.executorId === plan.executorId),
      exit,
      expectedExitCode: plan.expectedExitCode,
      ok: !destroyed && exit?._tag === "Exited" && exit.code === plan.expectedExitCode
    }
  })
  const problems = [
    ...protocolProblems(state),
    ...executorProblems(state, executors, input.timedOut !== undefined)
  ]
  return {
    tasks,
    executors,
    problems,
    timedOut: input.timedOut,
    ok: input.timedOut === undefined && tasks.every((task) => task.ok) && executors.every((executor) => executor.ok) &&
      (!input.strict || problems.length === 0)
  }
}

const taskResult = (state: AgentState, executorId: string, expected: Expectation): TaskResult => {
  const updates = state.updates.filter((update) => update.taskId === expected.taskId && update.outcome === "Forwarded")
  const last = updates.at(-1)?.status
  const finalState = findTask(state, expected.taskId)?.state ?? TaskState.TASK_STAGING
  const reason = last !== undefined && isFieldSet(last, TaskStatusSchema.field.reason) ? last.reason : undefined
  const healthy = updates.some((update) =>
    isFieldSet(update.status, TaskStatusSchema.field.healthy) && update.status.healthy
  )
  return {
    executorId,
    taskId: expected.taskId,
    state: finalState,
    reason,
    message: last?.message === "" ? undefined : last?.message,
    healthy,
    expected,
    ok: finalState === expected.state && (expected.reason === undefined || reason === expected.reason) &&
      (!expected.healthy || healthy)
  }
}

/** What the agent rejected or dropped, and updates it never acknowledged. */
const protocolProblems = (state: AgentState): Array<Problem> => {
  const problems: Array<Problem> = []
  for (const call of state.calls) {
    if (call.status >= 400) problems.push({ executorId: call.call?.executorId?.value, text: describeRejection(call) })
  }
  for (const update of state.updates) {
    if (update.origin === "Executor" && update.outcome !== "Forwarded" && update.outcome !== "Duplicate") {
      problems.push({ executorId: update.executorId, text: describeUpdate(update) })
    }
  }
  // An update is acknowledged when an ACKNOWLEDGED with its uuid went to a stream the executor still read.
  // Times are in milliseconds: an ACK in the millisecond its stream ended gets the benefit of the doubt.
  const delivered = new Set<string>()
  for (const sent of state.events) {
    if (sent.event.type !== Event_Type.ACKNOWLEDGED || sent.event.acknowledged === undefined) continue
    const stream = state.subscriptions.find((subscription) => subscription.id === sent.subscription)
    if (stream?.ended === undefined || stream.ended.at >= sent.at) delivered.add(StatusUuid.toHex(sent.event.acknowledged.uuid))
  }
  const reported = new Set<string>()
  for (const update of state.updates) {
    const key = StatusUuid.toHex(update.status.uuid)
    if (update.origin !== "Executor" || delivered.has(key) || reported.has(key)) continue
    if (update.outcome === "UnknownTask" || update.outcome === "AgentIdMismatch") continue // reported above
    reported.add(key)
    problems.push({
      executorId: update.executorId,
      text: `UPDATE ${describeStatus(update.status)} was never acknowledged: the executor closed its stream before the ACK`
    })
  }
  return problems
}

/** Executors that never subscribed, were destroyed, or left tasks running. */
const executorProblems = (
  state: AgentState,
  executors: ReadonlyArray<ExecutorResult>,
  timedOut: boolean
): Array<Problem> => {
  const problems: Array<Problem> = []
  for (const executor of executors) {
    const { executorId } = executor
    if (!executor.subscribed) {
      const sentSubscribe = state.calls.some((call) =>
        call.call?.type === Call_Type.SUBSCRIBE && call.call.executorId?.value === executorId
      )
      problems.push({
        executorId,
        text: sentSubscribe
          ? "never subscribed: every SUBSCRIBE was rejected"
          : "never subscribed: no SUBSCRIBE reached the agent" +
            (executor.exit === undefined
              ? ""
              : ` before the executor ${executor.exit._tag === "Signaled" ? "was " : ""}${describeExit(executor.exit)}`) +
            ` (see ${executor.sandbox}/stderr)`
      })
    }
    for (const destroyed of state.destroyedContainers) {
      if (destroyed.executorId !== executorId) continue
      const flags = state.flags
      const limit = destroyed.reason === "RegistrationTimeout"
        ? ` (${MesosDuration.format(flags.registrationTimeout)})`
        : destroyed.reason === "ShutdownGracePeriodElapsed"
        ? ` (${MesosDuration.format(executorGracePeriod(state, executorId) ?? flags.executorShutdownGracePeriod)})`
        : ""
      problems.push({ executorId, text: `the agent destroyed the container: ${describeDestruction(destroyed)}${limit}` })
    }
    // Tasks the agent failed because the executor ended by itself (not destroyed, not timed out).
    const destroyed = timedOut || state.destroyedContainers.some((container) => container.executorId === executorId)
    const abandoned = destroyed ? [] : state.updates.filter((update) =>
      update.origin === "Agent" && update.executorId === executorId &&
      update.status.reason === TaskStatus_Reason.EXECUTOR_TERMINATED
    )
    if (abandoned.length > 0) {
      problems.push({
        executorId,
        text: `the executor ended while tasks were still running: ${abandoned.map((update) => update.taskId).join(", ")}`
      })
    }
  }
  return problems
}

const executorGracePeriod = (state: AgentState, executorId: string) =>
  state.executors.find((executor) => executor.executorId === executorId)?.shutdownGracePeriod


/** The expectation as the tasks file writes it. */
export const describeExpectation = (expected: Expectation): string =>
  stateName(expected.state) +
  (expected.reason === undefined ? "" : ` [${reasonName(expected.reason)}]`) +
  (expected.healthy ? " (healthy)" : "")

/** The outcome in the expectation's terms. */
export const describeOutcome = (task: TaskResult): string =>
  stateName(task.state) + (task.reason === undefined ? "" : ` [${reasonName(task.reason)}]`) +
  (task.healthy ? " (healthy)" : "")
