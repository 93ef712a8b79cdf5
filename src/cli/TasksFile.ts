/**
 * The tasks file of `effect-mesos-executor local`: what the local agent launches, what the scheduler
 * behind it does (kills, shutdowns), and what each task is expected to end as.
 *
 * ```jsonc
 * {
 *   // FrameworkInfo in Mesos JSON; optional. `user` and `name` default; without `capabilities` the
 *   // framework has those of mesos-execute (TASK_KILLING_STATE, PARTITION_AWARE, ...).
 *   "framework": { "name": "local", "checkpoint": false, "capabilities": [{ "type": "TASK_KILLING_STATE" }] },
 *   "executors": [
 *     {
 *       // ExecutorInfo in Mesos JSON; optional. `executor_id` defaults to `executor-<index>`,
 *       // `shutdown_grace_period` sets MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD.
 *       "executor": { "executor_id": { "value": "examples" } },
 *       "shutdown_at": 20,        // optional: seconds after SUBSCRIBED, the agent sends SHUTDOWN
 *       "expect_exit_code": 0,    // optional, default 0: how the executor process must exit
 *       "launches": [
 *         // A TaskInfo in Mesos JSON (agent_id may be omitted: it is the local agent's), and its expected end.
 *         { "task": { "task_id": { "value": "hello" }, "command": { "value": "echo hello" } },
 *           "expect": "TASK_FINISHED" },
 *         // The scheduler kills it `kill_at` seconds after the agent delivered it, with `kill_policy` on the KILL.
 *         { "task": { ... }, "kill_at": 1, "kill_policy": { "grace_period": { "nanoseconds": 500000000 } },
 *           "expect": { "state": "TASK_KILLED", "reason": "REASON_TASK_KILLED_DURING_LAUNCH" } },
 *         // A TaskGroupInfo (one LAUNCH_GROUP); `expect` by task id; `kill_task` names the task `kill_at` kills.
 *         { "task_group": { "tasks": [ ... ] }, "expect": { "a": "TASK_FAILED", "b": "TASK_KILLED" } },
 *         // `healthy: true`: some update of the task must have reported it healthy.
 *         { "task": { ... }, "expect": { "state": "TASK_FINISHED", "healthy": true } }
 *       ]
 *     }
 *   ]
 * }
 * ```
 *
 * Every launch is given to the agent before its executor starts, so it is delivered right after SUBSCRIBED,
 * as a real agent delivers the tasks it queued for a registering executor.
 */
import { create, type DescEnum, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf"
import { Duration, Effect, FileSystem, Result, Schema, SchemaIssue } from "effect"
import {
  ExecutorIDSchema,
  type ExecutorInfo,
  ExecutorInfoSchema,
  type FrameworkInfo,
  FrameworkInfoSchema,
  type KillPolicy,
  KillPolicySchema,
  TaskGroupInfoSchema,
  TaskInfoSchema,
  TaskState,
  TaskStateSchema,
  TaskStatus_Reason,
  TaskStatus_ReasonSchema
} from "../gen/mesos/v1/mesos_pb.js"
import * as MesosJson from "../wire/MesosJson.js"
import * as WireCodec from "../wire/WireCodec.js"
import * as TaskStates from "../wire/TaskStates.js"
import type { QueuedWork } from "../testing/AgentModel.js"

/** What a task must end as. */
export interface Expectation {
  readonly taskId: string
  readonly state: TaskState
  /** When set, the reason of the task's last update. */
  readonly reason: TaskStatus_Reason | undefined
  /** When true, some update of the task must have said `healthy: true`. */
  readonly healthy: boolean
}

/** What the scheduler does to a launched task. */
export interface Kill {
  readonly taskId: string
  /** After the agent delivered the task (LAUNCH or LAUNCH_GROUP). */
  readonly after: Duration.Duration
  /** `Event.Kill.kill_policy`: overrides the task's own kill policy. */
  readonly killPolicy: KillPolicy | undefined
}

/** A task or a task group, as the agent queues it for an executor. */
export type Work = QueuedWork

export interface Launch {
  readonly work: Work
  readonly kill: Kill | undefined
  /** One per task of the launch. */
  readonly expectations: ReadonlyArray<Expectation>
}

export interface ExecutorPlan {
  readonly executorId: string
  /** The executor's `ExecutorInfo`, with its id set. */
  readonly info: ExecutorInfo
  /** After SUBSCRIBED, the agent sends SHUTDOWN. */
  readonly shutdownAfter: Duration.Duration | undefined
  readonly expectedExitCode: number
  readonly launches: ReadonlyArray<Launch>
}

export interface TasksFile {
  /** FrameworkInfo fields given in the file; `capabilities` only when the file gives them. */
  readonly framework: MessageInitShape<typeof FrameworkInfoSchema>
  readonly executors: ReadonlyArray<ExecutorPlan>
}

/** The tasks file cannot be read, or does not describe a run. Every problem found is listed. */
export class TasksFileError extends Schema.TaggedError<TasksFileError>()("TasksFileError", {
  path: Schema.String,
  problems: Schema.NonEmptyArray(Schema.String)
}) {
  override get message(): string {
    return `The tasks file ${this.path} cannot be used:\n${this.problems.map((problem) => `  ${problem}`).join("\n")}`
  }
}

/** Task ids as the expectations of a launch name them. */
export const taskIds = (work: Work): ReadonlyArray<string> =>
  work._tag === "Task" ? [work.task.taskId?.value ?? ""] : work.group.tasks.map((task) => task.taskId?.value ?? "")

/** The Mesos name of a task state (`TASK_FINISHED`). */
export const stateName = (state: TaskState): string => enumName(TaskStateSchema, state)

/** The Mesos name of a reason (`REASON_COMMAND_EXECUTOR_FAILED`). */
export const reasonName = (reason: TaskStatus_Reason): string => enumName(TaskStatus_ReasonSchema, reason)

const enumName = (schema: DescEnum, value: number): string => schema.value[value]?.name ?? String(value)

const TerminalStateName = Schema.Literals(TaskStates.terminal.map(stateName))
const ReasonName = Schema.Literals(TaskStatus_ReasonSchema.values.map((value) => value.name))
const MesosObject = Schema.Record(Schema.String, Schema.Unknown)
const Seconds = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

const ExpectationInput = Schema.Union([
  TerminalStateName,
  Schema.Struct({
    state: TerminalStateName,
    reason: Schema.optional(ReasonName),
    healthy: Schema.optional(Schema.Boolean)
  })
])

const LaunchInput = Schema.Struct({
  task: Schema.optional(MesosObject),
  task_group: Schema.optional(MesosObject),
  kill_at: Schema.optional(Seconds),
  kill_task: Schema.optional(Schema.String),
  kill_policy: Schema.optional(MesosObject),
  expect: Schema.Union([ExpectationInput, Schema.Record(Schema.String, ExpectationInput)])
})

const ExecutorInput = Schema.Struct({
  executor: Schema.optional(MesosObject),
  shutdown_at: Schema.optional(Seconds),
  expect_exit_code: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))),
  launches: Schema.Array(LaunchInput)
})

const DocumentInput = Schema.Struct({
  framework: Schema.optional(MesosObject),
  executors: Schema.NonEmptyArray(ExecutorInput)
})

type LaunchInput = typeof LaunchInput.Type
type ExpectationInput = typeof ExpectationInput.Type

/** Collects the problems of one reading; a failed part yields `undefined` and the reading goes on. */
class Problems {
  readonly list: Array<string> = []

  add(at: string, problem: string): undefined {
    this.list.push(`${at}: ${problem}`)
    return undefined
  }

  /** A Mesos JSON object as `schema`, with every required field set except those in `filled`. */
  mesos<Desc extends DescMessage>(
    schema: Desc,
    value: unknown,
    at: string,
    filled: ReadonlyArray<string> = []
  ): MessageShape<Desc> | undefined {
    const parsed = MesosJson.fromJsonValue(schema, value)
    if (Result.isFailure(parsed)) {
      const { path, reason } = parsed.failure
      return this.add(path === "" ? at : `${at}.${path}`, reason)
    }
    const missing = WireCodec.missingRequiredFields(schema, parsed.success).filter((field) => !filled.includes(field))
    return missing.length === 0 ? parsed.success : this.add(at, `required fields not set: ${missing.join(", ")}`)
  }
}

/** Reads a tasks file's text; `path` only names it in errors. */
export const parse = (path: string, text: string): Result.Result<TasksFile, TasksFileError> => {
  const fail = (problems: ReadonlyArray<string>) =>
    Result.fail(new TasksFileError({ path, problems: problems as [string, ...Array<string>] }))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return fail([`not JSON: ${error instanceof Error ? error.message : String(error)}`])
  }
  const document = Schema.decodeUnknownResult(DocumentInput, { errors: "all" })(json)
  if (Result.isFailure(document)) {
    return fail(issueFormatter(document.failure.issue).issues.map(({ message, path }) =>
      path === undefined || path.length === 0 ? message : `${formatPath(path)}: ${message}`
    ))
  }

  const problems = new Problems()
  const framework = readFramework(problems, document.success.framework)
  const executors = document.success.executors.map((input, index) =>
    readExecutor(problems, input, `executors[${index}]`, index)
  )
  checkUnique(problems, "executor id", executors.map((executor, index) => [`executors[${index}]`, executor?.executorId]))
  checkUnique(
    problems,
    "task id",
    executors.flatMap((executor, index) =>
      (executor?.launches ?? []).flatMap((launch, launchIndex) =>
        taskIds(launch.work).map((id) => [`executors[${index}].launches[${launchIndex}]`, id] as const)
      )
    )
  )
  if (problems.list.length > 0) return fail(problems.list)
  return Result.succeed({ framework, executors: executors as Array<ExecutorPlan> })
}

const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** `executors[0].launches[2].task`, as the problems of Mesos JSON name fields too. */
const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.map((segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `[${key}]` : `.${String(key)}`
  }).join("").replace(/^\./, "")

/** Reads the tasks file at `path`. */
export const read = (path: string): Effect.Effect<TasksFile, TasksFileError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.mapError((error) => new TasksFileError({ path, problems: [`cannot be read: ${error.message}`] })),
    Effect.flatMap((text) => Effect.fromResult(parse(path, text)))
  )

const readFramework = (
  problems: Problems,
  input: Record<string, unknown> | undefined
): MessageInitShape<typeof FrameworkInfoSchema> => {
  if (input === undefined) return {}
  // `user` and `name` are required, but the local agent has defaults for them.
  const info: FrameworkInfo | undefined = problems.mesos(FrameworkInfoSchema, input, "framework", ["user", "name"])
  if (info === undefined) return {}
  // Without `capabilities`, the agent model gives the framework the capabilities of mesos-execute.
  const { $typeName: _, capabilities, ...fields } = info
  return "capabilities" in input ? { ...fields, capabilities } : fields
}

const readExecutor = (
  problems: Problems,
  input: typeof ExecutorInput.Type,
  at: string,
  index: number
): ExecutorPlan | undefined => {
  // The agent fills in the framework id.
  const info = problems.mesos(ExecutorInfoSchema, input.executor ?? {}, `${at}.executor`, ["executor_id"])
  const launches = input.launches.map((launch, launchIndex) => readLaunch(problems, launch, `${at}.launches[${launchIndex}]`))
  if (info === undefined || launches.some((launch) => launch === undefined)) return undefined
  const executorId = info.executorId?.value ?? `executor-${index}`
  info.executorId = create(ExecutorIDSchema, { value: executorId })
  return {
    executorId,
    info,
    shutdownAfter: input.shutdown_at === undefined ? undefined : Duration.seconds(input.shutdown_at),
    expectedExitCode: input.expect_exit_code ?? 0,
    launches: launches as Array<Launch>
  }
}

const readLaunch = (problems: Problems, input: LaunchInput, at: string): Launch | undefined => {
  if ((input.task === undefined) === (input.task_group === undefined)) {
    return problems.add(at, "give exactly one of 'task' and 'task_group'")
  }
  // The agent fills in `agent_id`, and `name` from the task id when it is empty.
  const filled = ["agent_id", "name"]
  const work: Work | undefined = input.task !== undefined
    ? mapDefined(problems.mesos(TaskInfoSchema, input.task, `${at}.task`, filled), (task) => ({ _tag: "Task", task }))
    : mapDefined(
      problems.mesos(
        TaskGroupInfoSchema,
        input.task_group,
        `${at}.task_group`,
        input.task_group?.["tasks"] === undefined ? [] : taskGroupFilled(input.task_group["tasks"])
      ),
      (group) => ({ _tag: "TaskGroup", group })
    )
  const killPolicy = input.kill_policy === undefined
    ? undefined
    : problems.mesos(KillPolicySchema, input.kill_policy, `${at}.kill_policy`)
  if (work === undefined || (input.kill_policy !== undefined && killPolicy === undefined)) return undefined

  const ids = taskIds(work)
  if (work._tag === "TaskGroup" && ids.length === 0) return problems.add(`${at}.task_group`, "has no tasks")
  const expectations = readExpectations(problems, input.expect, ids, work._tag, `${at}.expect`)
  let kill: Kill | undefined
  if (input.kill_at !== undefined) {
    const taskId = input.kill_task ?? ids[0]!
    if (!ids.includes(taskId)) return problems.add(`${at}.kill_task`, `'${taskId}' is not a task of this launch`)
    kill = { taskId, after: Duration.seconds(input.kill_at), killPolicy }
  } else if (input.kill_task !== undefined || input.kill_policy !== undefined) {
    return problems.add(at, "'kill_task' and 'kill_policy' need 'kill_at'")
  }
  return expectations === undefined ? undefined : { work, kill, expectations }
}

/** The fields the agent fills in, for each task of a group. */
const taskGroupFilled = (tasks: unknown): ReadonlyArray<string> =>
  Array.isArray(tasks) ? tasks.flatMap((_, index) => [`tasks[${index}].agent_id`, `tasks[${index}].name`]) : []

const readExpectations = (
  problems: Problems,
  input: LaunchInput["expect"],
  ids: ReadonlyArray<string>,
  kind: Work["_tag"],
  at: string
): ReadonlyArray<Expectation> | undefined => {
  if (kind === "Task") {
    return isExpectation(input)
      ? [expectation(ids[0]!, input)]
      : problems.add(at, "a task's expectation is a state name or { \"state\": ..., \"reason\": ..., \"healthy\": ... }")
  }
  if (isExpectation(input)) return problems.add(at, "a task group's expectation names a state for each task id")
  const unknown = Object.keys(input).filter((id) => !ids.includes(id))
  const missing = ids.filter((id) => !(id in input))
  if (unknown.length > 0) return problems.add(at, `not tasks of the group: ${unknown.join(", ")}`)
  if (missing.length > 0) return problems.add(at, `no expectation for: ${missing.join(", ")}`)
  return ids.map((id) => expectation(id, input[id]!))
}

const isExpectation = (input: LaunchInput["expect"]): input is ExpectationInput =>
  typeof input === "string" || ("state" in input && typeof input.state === "string")

const expectation = (taskId: string, input: ExpectationInput): Expectation => {
  const { healthy, reason, state } = typeof input === "string" ? { state: input, reason: undefined, healthy: false } : input
  return {
    taskId,
    state: TaskStateSchema.values.find((value) => value.name === state)!.number,
    reason: reason === undefined ? undefined : TaskStatus_ReasonSchema.values.find((value) => value.name === reason)!.number,
    healthy: healthy === true
  }
}

const checkUnique = (
  problems: Problems,
  what: string,
  entries: ReadonlyArray<readonly [at: string, id: string | undefined]>
): void => {
  const seen = new Set<string>()
  for (const [at, id] of entries) {
    if (id === undefined) continue
    if (seen.has(id)) problems.add(at, `the ${what} '${id}' is used twice`)
    seen.add(id)
  }
}

const mapDefined = <A, B>(value: A | undefined, f: (value: A) => B): B | undefined =>
  value === undefined ? undefined : f(value)
