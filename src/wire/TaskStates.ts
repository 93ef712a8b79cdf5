/**
 * Facts about `TaskState` values that the schema does not say: which states end a task (SPEC §3.5).
 */
import { TaskState } from "../gen/mesos/v1/mesos_pb.js"

/** The states after which no update changes a task's state, in declaration order. */
export const terminal = [
  TaskState.TASK_FINISHED,
  TaskState.TASK_FAILED,
  TaskState.TASK_KILLED,
  TaskState.TASK_ERROR,
  TaskState.TASK_LOST,
  TaskState.TASK_DROPPED,
  TaskState.TASK_GONE,
  TaskState.TASK_GONE_BY_OPERATOR
] as const

const terminalSet: ReadonlySet<TaskState> = new Set(terminal)

/** Whether the task has ended: no update can change its state any more. */
export const isTerminal = (state: TaskState): boolean => terminalSet.has(state)
