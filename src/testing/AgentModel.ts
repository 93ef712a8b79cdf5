/**
 * The agent's side of the Mesos v1 executor API, for one agent hosting any
 * number of executors of any number of frameworks: the one model behind both
 * fake agents (`FakeAgent` in memory, `HttpFakeAgent` over loopback HTTP).
 *
 * It answers decoded calls with the real agent's checks in the real agent's
 * order (`src/slave/http.cpp`), keeps the agent's view of frameworks,
 * executors and tasks, writes events to subscription streams, acknowledges,
 * de-duplicates and drops status updates as `src/slave/slave.cpp` does, and
 * replays agent restarts phase by phase (`real-agent/restart.txt`). Tests and
 * the local agent drive it like the master would (launch, kill, messages,
 * shutdown), inject faults, and inspect everything it saw and did.
 *
 * All timing goes through the `Clock` the model was built with, so under
 * `TestClock` heartbeats, ACK delays, grace periods and restart phases happen
 * in virtual time.
 *
 * ```ts
 * const agent = yield* AgentModel.AgentModel
 * yield* agent.launch({ taskId: { value: "task-1" }, command: { value: "exit 0" } })
 * // ... the executor under test subscribes and runs the task ...
 * const finished = yield* agent.awaitUpdate((update) => update.status.state === TaskState.TASK_FINISHED)
 * yield* agent.restart({ downFor: "2 seconds" })
 * yield* TestClock.adjust("3 seconds")
 * const state = yield* agent.state // calls, events, updates, subscriptions, destroyed containers
 * ```
 */
import {
  clone,
  create,
  type DescMessage,
  isFieldSet,
  isMessage,
  type MessageInitShape,
  type MessageShape
} from "@bufbuild/protobuf"
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  FiberSet,
  Layer,
  Option,
  PubSub,
  Queue,
  Schema,
  Scope,
  Stream
} from "effect"
import {
  type Call,
  Call_Type,
  CallSchema,
  type Call_Subscribe,
  type Event,
  Event_Type,
  EventSchema
} from "../gen/mesos/v1/executor/executor_pb.js"
import {
  AgentIDSchema,
  type AgentInfo,
  AgentInfoSchema,
  CheckInfo_Type,
  type CheckStatusInfo,
  CheckStatusInfoSchema,
  DurationInfoSchema,
  ExecutorIDSchema,
  type ExecutorInfo,
  ExecutorInfoSchema,
  FrameworkIDSchema,
  type FrameworkInfo,
  FrameworkInfoSchema,
  FrameworkInfo_CapabilitySchema,
  FrameworkInfo_Capability_Type,
  type KillPolicy,
  KillPolicySchema,
  type TaskGroupInfo,
  TaskGroupInfoSchema,
  type TaskInfo,
  TaskInfoSchema,
  TaskState,
  type TaskStatus,
  TaskStatusSchema,
  TaskStatus_Reason,
  TaskStatus_Source
} from "../gen/mesos/v1/mesos_pb.js"
import * as MesosDuration from "../config/MesosDuration.js"
import { isTerminal } from "../wire/TaskStates.js"
import * as StatusUuid from "../wire/StatusUuid.js"

// ---------------------------------------------------------------------------------------------
// Options

export interface AgentModelOptions {
  /** Default `fake-agent-S0`. */
  readonly agentId?: string | undefined
  /** `AgentInfo.hostname`; default `127.0.0.1`. */
  readonly hostname?: string | undefined
  /** `AgentInfo.port`; default 5051. */
  readonly port?: number | undefined
  /** Further `AgentInfo` fields (resources, attributes, domain). */
  readonly agentInfo?: MessageInitShape<typeof AgentInfoSchema> | undefined
  /** The frameworks the agent knows; default one, see {@link FrameworkOptions}. */
  readonly frameworks?: ReadonlyArray<FrameworkOptions> | undefined
  /** The executors the agent has launched (each waits for its SUBSCRIBE); default one. */
  readonly executors?: ReadonlyArray<ExecutorOptions> | undefined
  /** Between HEARTBEAT events on a stream, the first one after SUBSCRIBE; default 30 minutes as in the agent. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** `--executor_shutdown_grace_period`, for executors whose `ExecutorInfo` has none; default 5 seconds. */
  readonly executorShutdownGracePeriod?: Duration.Input | undefined
  /** `--executor_registration_timeout`; default 1 minute. `Duration.infinity` never times out. */
  readonly registrationTimeout?: Duration.Input | undefined
  /** `--executor_reregistration_timeout`: the recovery window after a restart; default 2 seconds. */
  readonly reregistrationTimeout?: Duration.Input | undefined
  /** `--recovery_timeout`, given to checkpointing executors (`MESOS_RECOVERY_TIMEOUT`); default 15 minutes. */
  readonly recoveryTimeout?: Duration.Input | undefined
  /**
   * Require `Authorization: Bearer <token>` with the token the agent gave the
   * executor (`ExecutorState.token`), as with `--authenticate_http_executors`.
   * The tokens are opaque strings rather than JWTs, with the same outcomes: 401
   * without a valid token, 403 for another executor's token.
   */
  readonly authentication?: boolean | undefined
  /** Initial faults; none by default. */
  readonly faults?: FaultsInput | undefined
}

export interface FrameworkOptions {
  /** Default `fake-framework-0000` for the first framework, then `-0001`, ... */
  readonly id?: string | undefined
  /** Default `root`. */
  readonly user?: string | undefined
  /** Default `fake framework`. */
  readonly name?: string | undefined
  /** Default false (as `mesos-execute`); only checkpointing frameworks survive a restart. */
  readonly checkpoint?: boolean | undefined
  /**
   * Default those of `mesos-execute`: RESERVATION_REFINEMENT, TASK_KILLING_STATE,
   * REVOCABLE_RESOURCES, PARTITION_AWARE.
   */
  readonly capabilities?: ReadonlyArray<FrameworkInfo_Capability_Type> | undefined
  /** Further `FrameworkInfo` fields. */
  readonly info?: MessageInitShape<typeof FrameworkInfoSchema> | undefined
}

export interface ExecutorOptions {
  /** Default `fake-executor` for the first executor, then `fake-executor-1`, ... */
  readonly executorId?: string | undefined
  /** Default the first framework. */
  readonly frameworkId?: string | undefined
  /** Default `fake-container-<n>`. */
  readonly containerId?: string | undefined
  /** `ExecutorInfo.shutdown_grace_period`; unset by default (the agent's flag applies). */
  readonly shutdownGracePeriod?: Duration.Input | undefined
  /** Further `ExecutorInfo` fields (name, command, resources, type). */
  readonly info?: MessageInitShape<typeof ExecutorInfoSchema> | undefined
  /** The authentication token; default derived from the ids. */
  readonly token?: string | undefined
}

export interface RestartOptions {
  /** The agent process is gone: connections are refused. Default 1 second. */
  readonly downFor?: Duration.Input | undefined
  /** Up, but its HTTP routes are not installed: 404 to everything. Default 0. */
  readonly notFoundFor?: Duration.Input | undefined
  /** Containerizer recovery: 503 "Agent has not finished recovery" to everything. Default 50 milliseconds. */
  readonly unavailableFor?: Duration.Input | undefined
  /** The executor re-registration window; default the model's `reregistrationTimeout`. */
  readonly reregistrationTimeout?: Duration.Input | undefined
}

/** Misbehaviour to inject; the real agent does none of it. */
export interface Faults {
  /** Never acknowledge status updates (as if every ACK was lost). */
  readonly withholdAcks: boolean
  /** Between accepting an update and writing its ACK; the real agent takes 7-56 ms. */
  readonly ackDelay: Duration.Duration
  /** Write every ACK twice. */
  readonly duplicateAcks: boolean
}

/** Faults to change; the others stay as they are. */
export interface FaultsInput {
  readonly withholdAcks?: boolean | undefined
  readonly ackDelay?: Duration.Input | undefined
  readonly duplicateAcks?: boolean | undefined
}

/** Picks an executor; without one, the first live executor (in the order they were added). */
export interface ExecutorRef {
  readonly executorId?: string | undefined
  readonly frameworkId?: string | undefined
}

// ---------------------------------------------------------------------------------------------
// The agent's state, as tests see it

/**
 * Where the agent is in its life:
 *
 * - `Running`: registered and serving.
 * - `Down`: the process is not running; connections are refused.
 * - `Starting`: up, HTTP routes not installed yet; 404 to everything.
 * - `RecoveringContainerizer`: 503 to everything (also the "unavailable" fault).
 * - `Recovering`: executors may re-subscribe (SUBSCRIBE, HEARTBEAT work); other calls get 503.
 */
export type AgentPhase = "Running" | "Down" | "Starting" | "RecoveringContainerizer" | "Recovering"

/**
 * The agent as it is at one moment, except for its history.
 *
 * The history lists (`calls`, `events`, `updates`, `messages`, `destroyedContainers`) are append-only
 * and shared by every state: the agent adds to the same arrays, so a state read earlier sees the
 * entries added since, and an entry never changes once added. This keeps each step O(1) however long
 * the history. To tell what is new since a state, keep its {@link HistoryMark} (the lists' lengths
 * then). Everything else (phase, frameworks, executors and their tasks, subscriptions, faults) is a
 * snapshot that later changes leave alone.
 */
export interface AgentState {
  readonly phase: AgentPhase
  /** How often the agent restarted. */
  readonly restarts: number
  readonly agentInfo: AgentInfo
  readonly flags: AgentFlags
  readonly frameworks: ReadonlyArray<FrameworkState>
  /** In the order they were added; terminated ones stay, with status `Terminated`. */
  readonly executors: ReadonlyArray<ExecutorState>
  readonly faults: Faults
  /** Every request that reached the agent, with its answer, in order. */
  readonly calls: ReadonlyArray<ReceivedCall>
  readonly subscriptions: ReadonlyArray<SubscriptionRecord>
  /** Every event the agent wrote to a stream, in order (including those a dead connection lost). */
  readonly events: ReadonlyArray<SentEvent>
  /** Every status update the agent handled, from executors and its own, with what it did. */
  readonly updates: ReadonlyArray<StatusUpdateRecord>
  /** Framework messages from executors. */
  readonly messages: ReadonlyArray<ExecutorMessage>
  /** Containers the agent destroyed; the local agent kills the executor's process on these. */
  readonly destroyedContainers: ReadonlyArray<DestroyedContainer>
}

/** How far a reader got in each history list of the agent: the lists' lengths in a state it read. */
export interface HistoryMark {
  readonly calls: number
  readonly events: number
  readonly updates: number
  readonly messages: number
  readonly destroyedContainers: number
}

/** The end of each history list of `state`; what comes after was added later. */
export const historyMark = (state: AgentState): HistoryMark => ({
  calls: state.calls.length,
  events: state.events.length,
  updates: state.updates.length,
  messages: state.messages.length,
  destroyedContainers: state.destroyedContainers.length
})

type History = {
  readonly [K in keyof HistoryMark]: AgentState[K]
}

/** The agent's settings that executors see. */
export interface AgentFlags {
  readonly heartbeatInterval: Duration.Duration
  readonly executorShutdownGracePeriod: Duration.Duration
  readonly registrationTimeout: Duration.Duration
  readonly reregistrationTimeout: Duration.Duration
  readonly recoveryTimeout: Duration.Duration
  readonly authentication: boolean
}

export interface FrameworkState {
  readonly id: string
  /** Has `id` set. */
  readonly info: FrameworkInfo
  /** `Terminating` after `shutdownFramework`; `Removed` once the agent forgot it. */
  readonly status: "Active" | "Terminating" | "Removed"
}

/** `Registering` until the executor subscribes (again, after a restart); `Terminated` once removed. */
export type ExecutorStatus = "Registering" | "Running" | "Terminating" | "Terminated"

export interface ExecutorState {
  readonly frameworkId: string
  readonly executorId: string
  readonly info: ExecutorInfo
  readonly containerId: string
  readonly token: string
  /** `ExecutorInfo.shutdown_grace_period` if set, else the agent's flag. */
  readonly shutdownGracePeriod: Duration.Duration
  readonly status: ExecutorStatus
  /** The stream the agent writes to; it does not notice when the executor's end goes away. */
  readonly subscription: number | undefined
  /** Work waiting for the executor to subscribe. */
  readonly queued: ReadonlyArray<QueuedWork>
  /** Delivered tasks, live and terminal. */
  readonly tasks: ReadonlyArray<TaskRecord>
  /** Whether the agent ever had work for it (see the shutdown-on-subscribe rule). */
  readonly assignedWork: boolean
  readonly pendingTermination: Termination | undefined
}

export type QueuedWork =
  | { readonly _tag: "Task"; readonly task: TaskInfo }
  | { readonly _tag: "TaskGroup"; readonly group: TaskGroupInfo }

export interface TaskRecord {
  readonly task: TaskInfo
  readonly group: TaskGroupInfo | undefined
  /** The latest state the agent accepted; `TASK_STAGING` until the first update. */
  readonly state: TaskState
  /** Status uuids received (hex), for de-duplication. */
  readonly uuids: ReadonlyArray<string>
  /** Whether any accepted update came from the executor (the agent's `everSentTask`). */
  readonly reportedByExecutor: boolean
}

/** How the agent ends a container's tasks when it destroys the container. */
export interface Termination {
  readonly state: TaskState
  readonly reason: TaskStatus_Reason
  readonly message: string
}

export interface ReceivedCall {
  /** Clock time, milliseconds. */
  readonly at: number
  /** Undefined when the request never became a call (405, 400, 415). */
  readonly call: Call | undefined
  /** The request's `Content-Type`, when it came over HTTP. */
  readonly contentType: string | undefined
  readonly status: number
  /** The error text; empty for 200 and 202. */
  readonly body: string
}

/**
 * Why a stream ended: the agent closed it (`Resubscribed`, `ShutdownOnSubscribe`,
 * `ExecutorRemoved`), it broke (`AgentExited`, `Dropped`), or the executor
 * closed it (`ClosedByExecutor`, which the agent does not notice).
 */
export type StreamEnd =
  | "Resubscribed"
  | "ShutdownOnSubscribe"
  | "ExecutorRemoved"
  | "AgentExited"
  | "Dropped"
  | "ClosedByExecutor"

export interface SubscriptionRecord {
  readonly id: number
  readonly frameworkId: string
  readonly executorId: string
  readonly at: number
  readonly ended: { readonly at: number; readonly reason: StreamEnd } | undefined
}

export interface SentEvent {
  readonly at: number
  readonly subscription: number
  readonly frameworkId: string
  readonly executorId: string
  readonly event: Event
}

/**
 * What the agent did with a status update:
 *
 * - `Forwarded`: new; sent on to the scheduler and, from an executor, acknowledged;
 * - `Duplicate`: its uuid was seen before: acknowledged, not forwarded;
 * - `Inconsistent`: the task is already terminated (or queued and the update is
 *   not terminal): acknowledged, dropped;
 * - `UnknownTask`: no executor has the task: forwarded, never acknowledged;
 * - `AgentIdMismatch`: `status.agent_id` names another agent: dropped, never acknowledged;
 * - `FrameworkTerminating`: dropped, never acknowledged.
 */
export type UpdateOutcome =
  | "Forwarded"
  | "Duplicate"
  | "Inconsistent"
  | "UnknownTask"
  | "AgentIdMismatch"
  | "FrameworkTerminating"

export interface StatusUpdateRecord {
  readonly at: number
  readonly origin: "Executor" | "Agent"
  readonly frameworkId: string
  /** The executor that owns the task; undefined for an unknown task. */
  readonly executorId: string | undefined
  readonly taskId: string
  /** As the agent forwards it: `agent_id` filled in, `source` set. */
  readonly status: TaskStatus
  readonly outcome: UpdateOutcome
}

export interface ExecutorMessage {
  readonly at: number
  readonly frameworkId: string
  readonly executorId: string
  readonly data: Uint8Array
  /** False when the agent dropped it (framework terminating, agent not registered). */
  readonly forwarded: boolean
}

export type DestructionReason =
  | "ShutdownGracePeriodElapsed"
  | "RegistrationTimeout"
  | "ReregistrationTimeout"
  /** A non-checkpointing framework's container, found orphaned after a restart. */
  | "Orphaned"

export interface DestroyedContainer {
  readonly at: number
  readonly frameworkId: string
  readonly executorId: string
  readonly containerId: string
  readonly reason: DestructionReason
}

// ---------------------------------------------------------------------------------------------
// What the front ends exchange with the model

export interface AgentRequest {
  /**
   * The decoded call, or the answer to a request that could not become one
   * (405, 400, 415): the agent gives it in its place in the order of checks,
   * after authentication and containerizer recovery.
   */
  readonly call: Call | Rejected
  /** SUBSCRIBE: whether `Accept` allows a type the agent writes (406 otherwise). Default true. */
  readonly acceptable?: boolean | undefined
  /** For the record. */
  readonly contentType?: string | undefined
  readonly authorization?: string | undefined
}

export type AgentResponse = Refused | Subscribed | Accepted | Rejected

/** The agent is down: the connection is refused (or reset). */
export interface Refused {
  readonly _tag: "Refused"
}

/** 200: the event stream. */
export interface Subscribed {
  readonly _tag: "Subscribed"
  readonly subscription: Subscription
}

/** 202, empty body. */
export interface Accepted {
  readonly _tag: "Accepted"
}

/** Any other status, with the agent's `text/plain` body. */
export interface Rejected {
  readonly _tag: "Rejected"
  readonly status: number
  readonly body: string
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export const rejected = (
  status: number,
  body: string,
  headers?: Readonly<Record<string, string>>
): Rejected =>
  headers === undefined ? { _tag: "Rejected", status, body } : { _tag: "Rejected", status, body, headers }

/** A stream broke instead of ending: the agent died, or the connection was dropped. */
export class StreamBroken extends Schema.TaggedError<StreamBroken>()("StreamBroken", {
  reason: Schema.Literals(["AgentExited", "Dropped"])
}) {
  override get message(): string {
    return this.reason === "AgentExited" ? "the agent exited" : "the connection was dropped"
  }
}

/** One SUBSCRIBE response stream. */
export interface Subscription {
  readonly id: number
  /** Completes when the agent closes the stream; fails with `StreamBroken` when it breaks. */
  readonly events: Stream.Stream<Event, StreamBroken>
  /** The executor closed its end. The agent does not notice: what it writes later is lost. */
  readonly close: Effect.Effect<void>
}

/** A control operation the agent (or the master behind it) would not perform. */
export class AgentModelError extends Schema.TaggedError<AgentModelError>()("AgentModelError", {
  message: Schema.String
}) {}

/**
 * A task of any executor with the state the agent last accepted for it: one
 * it delivered, or ended before delivery; undefined while it is queued.
 */
export const findTask = (state: AgentState, taskId: string): TaskRecord | undefined =>
  state.executors.flatMap((executor) => executor.tasks).findLast((task) => task.task.taskId?.value === taskId)

// ---------------------------------------------------------------------------------------------
// The service

export interface AgentModelShape {
  /** Answers one request as the agent would. Front ends call this for every request they receive. */
  readonly handle: (request: AgentRequest) => Effect.Effect<AgentResponse>
  /** `handle`, at once: for a front end that answers from a callback, outside any fiber. */
  readonly handleUnsafe: (request: AgentRequest) => AgentResponse

  /** Gives a task to an executor: queued until it subscribes, else delivered at once (LAUNCH). */
  readonly launch: (
    task: MessageInitShape<typeof TaskInfoSchema>,
    executor?: ExecutorRef
  ) => Effect.Effect<void, AgentModelError>
  /** Gives a task group to an executor (LAUNCH_GROUP). */
  readonly launchGroup: (
    group: MessageInitShape<typeof TaskGroupInfoSchema>,
    executor?: ExecutorRef
  ) => Effect.Effect<void, AgentModelError>
  /**
   * The scheduler kills a task: KILL to a subscribed executor; a task still
   * queued is killed by the agent (TASK_KILLED, REASON_TASK_KILLED_DURING_LAUNCH).
   */
  readonly kill: (
    taskId: string,
    killPolicy?: MessageInitShape<typeof KillPolicySchema>
  ) => Effect.Effect<void, AgentModelError>
  /** A framework message from the scheduler; dropped unless the executor is subscribed. */
  readonly frameworkMessage: (data: Uint8Array, executor?: ExecutorRef) => Effect.Effect<void, AgentModelError>
  /** SHUTDOWN: the stream stays open; the container is destroyed after the shutdown grace period. */
  readonly shutdownExecutor: (executor?: ExecutorRef) => Effect.Effect<void, AgentModelError>
  /** The framework went away: its executors are shut down and their updates dropped, never acknowledged. */
  readonly shutdownFramework: (frameworkId?: string) => Effect.Effect<void, AgentModelError>
  /** The agent launches another executor, which must subscribe within the registration timeout. */
  readonly addExecutor: (options?: ExecutorOptions) => Effect.Effect<ExecutorState, AgentModelError>
  /** The executor's process exited: its live tasks become TASK_FAILED (REASON_EXECUTOR_TERMINATED). */
  readonly executorExited: (executor?: ExecutorRef) => Effect.Effect<void, AgentModelError>
  /** Breaks the executor's stream as a dead connection would; the agent does not notice. */
  readonly dropStream: (executor?: ExecutorRef) => Effect.Effect<void, AgentModelError>
  /**
   * The agent restarts: streams break, then the phases of {@link RestartOptions}
   * follow in (Clock) time. Checkpointing frameworks keep their executors, which
   * must re-subscribe within the window; the others are forgotten.
   */
  readonly restart: (options?: RestartOptions) => Effect.Effect<void>
  /** 503 to everything for a while, as during containerizer recovery. */
  readonly makeUnavailable: (duration: Duration.Input) => Effect.Effect<void>
  readonly setFaults: (faults: FaultsInput) => Effect.Effect<void>

  readonly state: Effect.Effect<AgentState>
  /** `state`, at once. */
  readonly stateUnsafe: () => AgentState
  /** The executor as the agent sees it now. */
  readonly executor: (executor?: ExecutorRef) => Effect.Effect<ExecutorState, AgentModelError>
  /** The current state, then every change. */
  readonly changes: Stream.Stream<AgentState>
  /** Waits until `select` gives a value for the state (now or after a change). */
  readonly awaitState: <A>(select: (state: AgentState) => A | undefined) => Effect.Effect<A>
  /** The first handled status update, past or future, that satisfies `predicate`. */
  readonly awaitUpdate: (predicate: (update: StatusUpdateRecord) => boolean) => Effect.Effect<StatusUpdateRecord>
  /** The first event written, past or future, that satisfies `predicate`. */
  readonly awaitEvent: (predicate: (event: SentEvent) => boolean) => Effect.Effect<SentEvent>
  /** The first request handled, past or future, that satisfies `predicate`. */
  readonly awaitCall: (predicate: (call: ReceivedCall) => boolean) => Effect.Effect<ReceivedCall>
  /** Waits until the agent destroys the container of the executor (as it is when called). */
  readonly awaitContainerDestroyed: (executor?: ExecutorRef) => Effect.Effect<DestroyedContainer, AgentModelError>
  readonly awaitPhase: (phase: AgentPhase) => Effect.Effect<void>
}

export class AgentModel extends Context.Service<AgentModel, AgentModelShape>()(
  "effect-mesos-executor/testing/AgentModel"
) {
  /** Builds a model; its timers live in the scope. */
  static readonly make = (options: AgentModelOptions = {}): Effect.Effect<AgentModelShape, never, Scope.Scope> =>
    makeModel(options)

  static readonly layer = (options: AgentModelOptions = {}): Layer.Layer<AgentModel> =>
    Layer.effect(AgentModel, makeModel(options))
}

// ---------------------------------------------------------------------------------------------
// Construction

const realm = "mesos-agent-executor"

const defaultCapabilities = [
  FrameworkInfo_Capability_Type.RESERVATION_REFINEMENT,
  FrameworkInfo_Capability_Type.TASK_KILLING_STATE,
  FrameworkInfo_Capability_Type.REVOCABLE_RESOURCES,
  FrameworkInfo_Capability_Type.PARTITION_AWARE
]

interface Config {
  readonly agentId: string
  /** The frameworks the agent was told about, for re-adding one the agent removed. */
  readonly frameworkInfos: Map<string, FrameworkInfo>
}

const makeModel = Effect.fnUntraced(function*(options: AgentModelOptions) {
  const clock = yield* Clock.Clock
  // Steps are synchronous: they fork timers, and make the queues of new streams, in the model's runtime.
  const forkTimer = yield* FiberSet.makeRuntime<never, void, never>()
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const streamQueue = (): Queue.Queue<Event, StreamBroken | Cause.Done> => {
    const made = runFork(Queue.unbounded<Event, StreamBroken | Cause.Done>()).pollUnsafe()
    // Making a queue never suspends: its fiber is done as soon as it is forked.
    if (made?._tag !== "Success") throw new Error("making a stream's queue did not complete at once")
    return made.value
  }
  const agentId = options.agentId ?? "fake-agent-S0"
  const config: Config = { agentId, frameworkInfos: new Map() }

  const frameworks = (options.frameworks ?? [{}]).map((framework, index): FrameworkState => {
    const info = frameworkInfo(framework, index)
    config.frameworkInfos.set(info.id!.value, info)
    return { id: info.id!.value, info, status: "Active" }
  })
  const agentInfo = copy(AgentInfoSchema, options.agentInfo)
  agentInfo.hostname = options.hostname ?? options.agentInfo?.hostname ?? "127.0.0.1"
  agentInfo.port = options.port ?? options.agentInfo?.port ?? 5051
  agentInfo.id = create(AgentIDSchema, { value: agentId })

  const initial: AgentState = {
    phase: "Running",
    restarts: 0,
    agentInfo,
    flags: {
      heartbeatInterval: Duration.fromInputUnsafe(options.heartbeatInterval ?? Duration.minutes(30)),
      executorShutdownGracePeriod: Duration.fromInputUnsafe(options.executorShutdownGracePeriod ?? Duration.seconds(5)),
      registrationTimeout: Duration.fromInputUnsafe(options.registrationTimeout ?? Duration.minutes(1)),
      reregistrationTimeout: Duration.fromInputUnsafe(options.reregistrationTimeout ?? Duration.seconds(2)),
      recoveryTimeout: Duration.fromInputUnsafe(options.recoveryTimeout ?? Duration.minutes(15)),
      authentication: options.authentication ?? false
    },
    frameworks,
    executors: [],
    faults: {
      withholdAcks: options.faults?.withholdAcks ?? false,
      ackDelay: Duration.fromInputUnsafe(options.faults?.ackDelay ?? Duration.zero),
      duplicateAcks: options.faults?.duplicateAcks ?? false
    },
    calls: [],
    subscriptions: [],
    events: [],
    updates: [],
    messages: [],
    destroyedContainers: []
  }

  let current = initial
  // Every state after each step, the latest replayed to new subscribers: `changes`.
  const published = yield* PubSub.unbounded<AgentState>({ replay: 1 })
  PubSub.publishUnsafe(published, initial)
  // The streams' queues: runtime resources, not state, touched only inside steps.
  const streams = new Map<number, Queue.Queue<Event, StreamBroken | Cause.Done>>()

  /**
   * Runs one step of the agent, synchronously and so atomically: `step` reads
   * and replaces `tx.state`, appends to the history, writes to streams, and
   * arms timers. A step is never cut short: what it wrote to streams and its
   * new state go together. Once its state is current, its timers start
   * sleeping in the order it armed them; then it publishes the state and ends
   * streams, which resumes fibers at once: a step they take starts from this
   * one's state, and comes after it in `changes` and in the timers' line.
   */
  const transactNow = <A>(step: (tx: Transaction) => A): A => {
    const tx = new Transaction(current, clock.currentTimeMillisUnsafe(), config, streams)
    const result = step(tx)
    current = tx.state
    for (const timer of tx.timers) forkTimer(runTimer(timer))
    PubSub.publishUnsafe(published, tx.state)
    for (const end of tx.endings) end()
    return result
  }

  const transact = <A>(step: (tx: Transaction) => A): Effect.Effect<A> => Effect.sync(() => transactNow(step))

  const runTimer = (timer: Timer): Effect.Effect<void> =>
    Effect.andThen(
      clock.sleep(timer.delay),
      transact((tx) => {
        // A restart forgets every timer the agent had armed.
        if (tx.state.restarts === timer.incarnation) timer.run(tx)
      })
    )

  /** Runs a step that may refuse with a message. */
  const control = <A>(step: (tx: Transaction) => A | AgentModelError): Effect.Effect<A, AgentModelError> =>
    Effect.flatMap(
      transact(step),
      (result) => result instanceof AgentModelError ? Effect.fail(result) : Effect.succeed(result)
    )

  for (const [index, executor] of (options.executors ?? [{}]).entries()) {
    yield* Effect.orDie(control((tx) => addExecutor(tx, executor, index)))
  }

  const state = Effect.sync(() => current)
  const changes = Stream.fromPubSub(published)

  const awaitState = <A>(select: (state: AgentState) => A | undefined): Effect.Effect<A> =>
    changes.pipe(
      Stream.map(select),
      Stream.filter((selected): selected is A => selected !== undefined),
      Stream.runHead,
      // The changes never end.
      Effect.map(Option.getOrThrow)
    )

  /** The first entry of a history list, past or future, that satisfies `predicate`; it sees each entry once. */
  const awaitEntry = <K extends keyof History>(
    key: K,
    predicate: (entry: History[K][number]) => boolean
  ): Effect.Effect<History[K][number]> =>
    Effect.suspend(() => {
      let checked = 0
      return awaitState((state) => {
        const entries: ReadonlyArray<History[K][number]> = state[key]
        for (; checked < entries.length; checked++) {
          const entry = entries[checked]!
          if (predicate(entry)) return entry
        }
        return undefined
      })
    })

  const handleUnsafe = (request: AgentRequest): AgentResponse => {
    if (isRejected(request.call) || request.call.type !== Call_Type.SUBSCRIBE) {
      return transactNow((tx) => receive(tx, request, undefined) as AgentResponse)
    }
    const queue = streamQueue()
    const response = transactNow((tx) => receive(tx, request, queue))
    return response._tag !== "Opened" ? response : {
      _tag: "Subscribed",
      subscription: {
        id: response.id,
        events: Stream.fromQueue(queue),
        close: transact((tx) => tx.closedByExecutor(response.id, queue))
      }
    }
  }

  const model: AgentModelShape = AgentModel.of({
    handle: (request) => Effect.sync(() => handleUnsafe(request)),
    handleUnsafe,
    launch: (init, executor) => control((tx) => launch(tx, { _tag: "Task", task: taskInfo(tx, init) }, executor)),
    launchGroup: (init, executor) =>
      control((tx) => {
        const group = copy(TaskGroupInfoSchema, init)
        group.tasks = group.tasks.map((task) => taskInfo(tx, task))
        return launch(tx, { _tag: "TaskGroup", group }, executor)
      }),
    kill: (taskId, killPolicy) =>
      control((tx) => kill(tx, taskId, killPolicy === undefined ? undefined : create(KillPolicySchema, killPolicy))),
    frameworkMessage: (data, executor) => control((tx) => frameworkMessage(tx, data, executor)),
    shutdownExecutor: (executor) =>
      control((tx) => {
        const found = findExecutor(tx.state, executor)
        if (found instanceof AgentModelError) return found
        // The agent ignores a SHUTDOWN for an executor already on its way out.
        if (found.status === "Registering" || found.status === "Running") shutdownExecutor(tx, found)
      }),
    shutdownFramework: (frameworkId) => control((tx) => shutdownFramework(tx, frameworkId)),
    addExecutor: (executor = {}) => control((tx) => addExecutor(tx, executor, tx.state.executors.length)),
    executorExited: (executor) =>
      control((tx) => {
        const found = findExecutor(tx.state, executor)
        if (found instanceof AgentModelError) return found
        if (found.status !== "Terminated") executorTerminated(tx, found)
      }),
    dropStream: (executor) =>
      control((tx) => {
        const found = findExecutor(tx.state, executor)
        if (found instanceof AgentModelError) return found
        if (found.subscription === undefined) {
          return new AgentModelError({ message: `executor ${found.executorId} has no stream` })
        }
        tx.endStream(found.subscription, "Dropped")
      }),
    restart: (options = {}) => transact((tx) => restart(tx, options)),
    makeUnavailable: (duration) =>
      transact((tx) => {
        const previous = tx.state.phase
        tx.state = { ...tx.state, phase: "RecoveringContainerizer" }
        tx.after(Duration.fromInputUnsafe(duration), (tx) => {
          if (tx.state.phase === "RecoveringContainerizer") tx.state = { ...tx.state, phase: previous }
        })
      }),
    setFaults: (faults) =>
      transact((tx) => {
        tx.state = {
          ...tx.state,
          faults: {
            withholdAcks: faults.withholdAcks ?? tx.state.faults.withholdAcks,
            ackDelay: faults.ackDelay === undefined
              ? tx.state.faults.ackDelay
              : Duration.fromInputUnsafe(faults.ackDelay),
            duplicateAcks: faults.duplicateAcks ?? tx.state.faults.duplicateAcks
          }
        }
      }),
    state,
    stateUnsafe: () => current,
    executor: (executor) =>
      Effect.flatMap(state, (state) => {
        const found = findExecutor(state, executor)
        return found instanceof AgentModelError ? Effect.fail(found) : Effect.succeed(found)
      }),
    changes,
    awaitState,
    awaitUpdate: (predicate) => awaitEntry("updates", predicate),
    awaitEvent: (predicate) => awaitEntry("events", predicate),
    awaitCall: (predicate) => awaitEntry("calls", predicate),
    awaitContainerDestroyed: (executor) =>
      Effect.flatMap(model.executor(executor), (found) =>
        awaitEntry("destroyedContainers", (destroyed) =>
          sameExecutor(found, destroyed) && destroyed.containerId === found.containerId
        )),
    awaitPhase: (phase) => Effect.asVoid(awaitState((state) => (state.phase === phase ? true : undefined)))
  })
  return model
})

const frameworkInfo = (options: FrameworkOptions, index: number): FrameworkInfo => {
  const info = copy(FrameworkInfoSchema, options.info)
  info.user = options.user ?? options.info?.user ?? "root"
  info.name = options.name ?? options.info?.name ?? "fake framework"
  info.id = create(FrameworkIDSchema, {
    value: options.id ?? options.info?.id?.value ?? `fake-framework-${String(index).padStart(4, "0")}`
  })
  info.checkpoint = options.checkpoint ?? options.info?.checkpoint ?? false
  if (options.capabilities !== undefined || options.info?.capabilities === undefined) {
    info.capabilities = (options.capabilities ?? defaultCapabilities).map((type) =>
      create(FrameworkInfo_CapabilitySchema, { type })
    )
  }
  return info
}

const isRejected = (call: Call | Rejected): call is Rejected => "_tag" in call

/** A message of its own from `init`, which may be a caller's message: the model fills in and keeps what it is given. */
const copy = <Desc extends DescMessage>(schema: Desc, init?: MessageInitShape<Desc>): MessageShape<Desc> =>
  isMessage(init, schema) ? clone(schema, init) : create(schema, init)

// ---------------------------------------------------------------------------------------------
// Transactions

interface Timer {
  readonly delay: Duration.Duration
  readonly incarnation: number
  readonly run: (tx: Transaction) => void
}

/** One atomic step of the agent: the state it replaces, the time, and what it leaves to run later. */
class Transaction {
  readonly timers: Array<Timer> = []
  /**
   * Streams to end once the step is over: ending a queue resumes its reader at once, which may
   * take the next step before this one is done.
   */
  readonly endings: Array<() => void> = []

  constructor(
    public state: AgentState,
    readonly now: number,
    readonly config: Config,
    private readonly streams: Map<number, Queue.Queue<Event, StreamBroken | Cause.Done>>
  ) {}

  /** Runs `run` after `delay` (at once when zero), unless the agent restarts first. */
  after(delay: Duration.Duration, run: (tx: Transaction) => void): void {
    if (Duration.isZero(delay)) run(this)
    else if (Duration.isFinite(delay)) this.timers.push({ delay, incarnation: this.state.restarts, run })
  }

  /** Registers a new stream of `executor`; returns its id. */
  openStream(executor: ExecutorState, queue: Queue.Queue<Event, StreamBroken | Cause.Done>): number {
    const id = this.state.subscriptions.length + 1
    this.streams.set(id, queue)
    this.state = {
      ...this.state,
      subscriptions: [
        ...this.state.subscriptions,
        { id, frameworkId: executor.frameworkId, executorId: executor.executorId, at: this.now, ended: undefined }
      ]
    }
    return id
  }

  /** Writes `event` to stream `id`; a broken or closed stream swallows it, as a dead socket would. */
  write(id: number, executor: ExecutorState, event: Event): void {
    const queue = this.streams.get(id)
    if (queue !== undefined) Queue.offerUnsafe(queue, event)
    this.append("events", {
      at: this.now,
      subscription: id,
      frameworkId: executor.frameworkId,
      executorId: executor.executorId,
      event
    })
  }

  /** Adds an entry to a history list, in place: every state shares the lists (see {@link AgentState}). */
  append<K extends keyof History>(key: K, entry: History[K][number]): void {
    ;(this.state[key] as Array<History[K][number]>).push(entry)
  }

  endStream(id: number, reason: StreamEnd): void {
    const queue = this.streams.get(id)
    if (queue === undefined) return
    this.streams.delete(id)
    this.endings.push(
      reason === "AgentExited" || reason === "Dropped"
        ? () => Queue.failCauseUnsafe(queue, Cause.fail(new StreamBroken({ reason })))
        : () => Queue.endUnsafe(queue)
    )
    this.markEnded(id, reason)
  }

  record(call: ReceivedCall): void {
    this.append("calls", call)
  }

  updateExecutor(executor: ExecutorState, change: Partial<ExecutorState>): ExecutorState {
    const updated = { ...executor, ...change }
    this.state = {
      ...this.state,
      executors: this.state.executors.map((candidate) => (candidate === executor ? updated : candidate))
    }
    return updated
  }

  /** The current version of `executor`, after other changes in this step. */
  current(executor: ExecutorState): ExecutorState {
    return this.state.executors.find((candidate) => sameExecutor(candidate, executor))!
  }

  /** The executor went away: what the agent writes later is lost, though it keeps the stream as current. */
  closedByExecutor(id: number, queue: Queue.Queue<Event, StreamBroken | Cause.Done>): void {
    this.endings.push(() => Queue.shutdownUnsafe(queue))
    if (this.streams.get(id) !== queue) return
    this.streams.delete(id)
    this.markEnded(id, "ClosedByExecutor")
  }

  private markEnded(id: number, reason: StreamEnd): void {
    this.state = {
      ...this.state,
      subscriptions: this.state.subscriptions.map((subscription) =>
        subscription.id === id && subscription.ended === undefined
          ? { ...subscription, ended: { at: this.now, reason } }
          : subscription
      )
    }
  }
}

const sameExecutor = (a: ExecutorState, b: { readonly frameworkId: string; readonly executorId: string }) =>
  a.frameworkId === b.frameworkId && a.executorId === b.executorId

const liveExecutors = (state: AgentState) => state.executors.filter((executor) => executor.status !== "Terminated")

const findExecutor = (state: AgentState, ref: ExecutorRef = {}): ExecutorState | AgentModelError => {
  const matches = (executor: ExecutorState) =>
    (ref.executorId === undefined || executor.executorId === ref.executorId) &&
    (ref.frameworkId === undefined || executor.frameworkId === ref.frameworkId)
  const found = liveExecutors(state).find(matches) ?? state.executors.findLast(matches)
  return found ?? new AgentModelError({ message: `no executor matches ${JSON.stringify(ref)}` })
}

const findFramework = (state: AgentState, frameworkId: string): FrameworkState | undefined =>
  state.frameworks.find((framework) => framework.id === frameworkId && framework.status !== "Removed")

const updateFramework = (tx: Transaction, frameworkId: string, change: Partial<FrameworkState>): void => {
  tx.state = {
    ...tx.state,
    frameworks: tx.state.frameworks.map((framework) =>
      framework.id === frameworkId ? { ...framework, ...change } : framework
    )
  }
}

const isPartitionAware = (state: AgentState, frameworkId: string): boolean =>
  state.frameworks.some((framework) =>
    framework.id === frameworkId &&
    framework.info.capabilities.some((capability) => capability.type === FrameworkInfo_Capability_Type.PARTITION_AWARE)
  )

// ---------------------------------------------------------------------------------------------
// Tasks by id

/** Whether the executor has the task, delivered or queued. */
const hasTask = (executor: ExecutorState, taskId: string): boolean =>
  taskPosition(executor.tasks, taskId) !== undefined || queuedWork(executor, taskId) !== undefined

/** The queued work that holds the task; queues are short, and empty once the executor subscribed. */
const queuedWork = (executor: ExecutorState, taskId: string): QueuedWork | undefined =>
  executor.queued.find((work) => workTasks(work).some((task) => task.taskId!.value === taskId))

/**
 * Where each task id first appears in an executor's task list, so that an update finds its task
 * without a scan. Each version of a list is the one before with records added at the end or one
 * replaced by a record of the same task, so the versions of one executor's list share one index:
 * a position past a version's end belongs to a later version.
 */
interface TaskIndex {
  readonly positions: Map<string, number>
  /** The length of the latest version: only that one may grow the index. */
  length: number
}

const taskIndexes = new WeakMap<ReadonlyArray<TaskRecord>, TaskIndex>()

const taskIndex = (tasks: ReadonlyArray<TaskRecord>): TaskIndex => {
  let index = taskIndexes.get(tasks)
  if (index === undefined) {
    index = indexed(tasks)
    taskIndexes.set(tasks, index)
  }
  return index
}

const indexed = (tasks: ReadonlyArray<TaskRecord>): TaskIndex => {
  const positions = new Map<string, number>()
  tasks.forEach((record, position) => {
    const taskId = record.task.taskId!.value
    if (!positions.has(taskId)) positions.set(taskId, position)
  })
  return { positions, length: tasks.length }
}

const taskPosition = (tasks: ReadonlyArray<TaskRecord>, taskId: string): number | undefined => {
  const position = taskIndex(tasks).positions.get(taskId)
  return position !== undefined && position < tasks.length ? position : undefined
}

/** A new version of `tasks` with `added` at the end. */
const withTasksAdded = (
  tasks: ReadonlyArray<TaskRecord>,
  added: ReadonlyArray<TaskRecord>
): ReadonlyArray<TaskRecord> => {
  const next = tasks.concat(added)
  const shared = taskIndex(tasks)
  // An older version growing again starts an index of its own.
  const index = shared.length === tasks.length ? shared : indexed(tasks)
  for (let position = tasks.length; position < next.length; position++) {
    const taskId = next[position]!.task.taskId!.value
    if (!index.positions.has(taskId)) index.positions.set(taskId, position)
  }
  index.length = next.length
  taskIndexes.set(next, index)
  return next
}

/**
 * A new version of `tasks` with the record at `position` replaced by a record of the same task: a
 * copy, as states are snapshots, but a flat one (about 1 µs per 1,000 tasks).
 */
const withTaskReplaced = (
  tasks: ReadonlyArray<TaskRecord>,
  position: number,
  record: TaskRecord
): ReadonlyArray<TaskRecord> => {
  const next = tasks.slice()
  next[position] = record
  taskIndexes.set(next, taskIndex(tasks))
  return next
}

// ---------------------------------------------------------------------------------------------
// Requests (`Http::executor` in src/slave/http.cpp)

/** A stream the agent opened; the caller wraps it as a `Subscription`. */
interface Opened {
  readonly _tag: "Opened"
  readonly id: number
}

const receive = (
  tx: Transaction,
  request: AgentRequest,
  queue: Queue.Queue<Event, StreamBroken | Cause.Done> | undefined
): Refused | Accepted | Rejected | Opened => {
  if (tx.state.phase === "Down") return refused
  const call = isRejected(request.call) ? undefined : request.call
  const answer = (response: Rejected | Accepted | Opened): Rejected | Accepted | Opened => {
    tx.record({
      at: tx.now,
      call,
      contentType: request.contentType,
      status: response._tag === "Rejected" ? response.status : response._tag === "Accepted" ? 202 : 200,
      body: response._tag === "Rejected" ? response.body : ""
    })
    return response
  }

  // libprocess answers before the agent's handler: no route yet, then authentication.
  if (tx.state.phase === "Starting") return answer(rejected(404, "404 Not Found."))
  const authenticated = authenticate(tx, request.authorization)
  if (authenticated !== undefined && authenticated._tag === "Rejected") return answer(authenticated)
  if (tx.state.phase === "RecoveringContainerizer") return answer(notRecovered)
  if (call === undefined) return answer(request.call as Rejected)

  const invalid = validate(call)
  if (invalid !== undefined) return answer(rejected(400, `Failed to validate Executor::Call: ${invalid}`))
  if (call.type === Call_Type.SUBSCRIBE) {
    if (request.acceptable === false) {
      return answer(rejected(406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"))
    }
  } else if (call.type === Call_Type.HEARTBEAT) {
    // No lookup: the C++ library sends dummy ids.
    return answer(accepted)
  } else if (tx.state.phase === "Recovering") {
    return answer(notRecovered)
  }

  const frameworkId = call.frameworkId!.value
  const framework = findFramework(tx.state, frameworkId)
  if (framework === undefined) return answer(rejected(400, "Framework cannot be found"))
  const executor = liveExecutors(tx.state).find((candidate) =>
    sameExecutor(candidate, { frameworkId, executorId: call.executorId!.value })
  )
  if (executor === undefined) return answer(rejected(400, "Executor cannot be found"))
  if (authenticated !== undefined) {
    const mismatch = verifyClaims(authenticated.executor, executor)
    if (mismatch !== undefined) return answer(rejected(403, mismatch))
  }
  if (executor.status === "Registering" && call.type !== Call_Type.SUBSCRIBE) {
    return answer(rejected(403, "Executor is not subscribed"))
  }

  switch (call.type) {
    case Call_Type.SUBSCRIBE:
      return answer({ _tag: "Opened", id: subscribe(tx, framework, executor, call.subscribe!, queue!) })
    case Call_Type.UPDATE: {
      const ack = statusUpdate(tx, frameworkId, call.update!.status!, "Executor")
      if (ack !== undefined) acknowledge(tx, ack)
      return answer(accepted)
    }
    case Call_Type.MESSAGE:
      tx.append("messages", {
        at: tx.now,
        frameworkId,
        executorId: executor.executorId,
        data: call.message!.data,
        forwarded: framework.status === "Active"
      })
      return answer(accepted)
    default:
      return answer(rejected(501, "501 Not Implemented."))
  }
}

const refused: Refused = { _tag: "Refused" }
const accepted: Accepted = { _tag: "Accepted" }
const notRecovered = rejected(503, "Agent has not finished recovery")

/** `validateExecutorCall` (src/common/validation.cpp), for a call that parsed. */
const validate = (call: Call): string | undefined => {
  // An unrecognised enum value is kept as an unknown field, so the field reads as unset.
  if (!isFieldSet(call, CallSchema.field.type)) return "Expecting 'type' to be present"
  switch (call.type) {
    case Call_Type.SUBSCRIBE:
      return call.subscribe === undefined ? "Expecting 'subscribe' to be present" : undefined
    case Call_Type.MESSAGE:
      return call.message === undefined ? "Expecting 'message' to be present" : undefined
    case Call_Type.UPDATE: {
      if (call.update === undefined) return "Expecting 'update' to be present"
      const status = call.update.status!
      if (!isFieldSet(status, TaskStatusSchema.field.uuid)) return "Expecting 'uuid' to be present"
      if (!StatusUuid.isValid(status.uuid)) return "Not a valid UUID"
      const executorId = call.executorId!.value
      if (status.executorId !== undefined && status.executorId.value !== executorId) {
        return `ExecutorID in Call: ${executorId} does not match ExecutorID in TaskStatus: ${status.executorId.value}`
      }
      const frameworkId = call.frameworkId!.value
      if (status.source !== TaskStatus_Source.EXECUTOR) {
        return `Received Call from executor ${executorId} of framework ${frameworkId} with invalid source, ` +
          `expecting 'SOURCE_EXECUTOR'`
      }
      if (status.state === TaskState.TASK_STAGING) {
        return `Received TASK_STAGING from executor ${executorId} of framework ${frameworkId} which is not allowed`
      }
      return status.checkStatus === undefined ? undefined : validateCheckStatus(status.checkStatus)
    }
    default:
      return undefined
  }
}

const validateCheckStatus = (checkStatus: CheckStatusInfo): string | undefined => {
  if (!isFieldSet(checkStatus, CheckStatusInfoSchema.field.type)) return "CheckStatusInfo must specify 'type'"
  switch (checkStatus.type) {
    case CheckInfo_Type.COMMAND:
      return checkStatus.command === undefined ? "Expecting 'command' to be set for COMMAND check's status" : undefined
    case CheckInfo_Type.HTTP:
      return checkStatus.http === undefined ? "Expecting 'http' to be set for HTTP check's status" : undefined
    case CheckInfo_Type.TCP:
      return checkStatus.tcp === undefined ? "Expecting 'tcp' to be set for TCP check's status" : undefined
    default:
      return "'UNKNOWN' is not a valid check's status type"
  }
}

/** The executor a valid token belongs to, a 401, or undefined when authentication is off. */
const authenticate = (
  tx: Transaction,
  authorization: string | undefined
): { readonly _tag: "Authenticated"; readonly executor: ExecutorState } | Rejected | undefined => {
  if (!tx.state.flags.authentication) return undefined
  const unauthorized = (error?: string) =>
    rejected(401, "401 Unauthorized.", {
      "WWW-Authenticate": error === undefined
        ? `Bearer realm="${realm}"`
        : `Bearer realm="${realm}", error="invalid_token", error_description="${error}"`
    })
  if (authorization === undefined) return unauthorized()
  const parts = authorization.split(" ")
  if (parts.length !== 2) return unauthorized("Malformed 'Authorization' header")
  if (parts[0] !== "Bearer") return unauthorized(`Scheme '${parts[0]}' unsupported`)
  const executor = tx.state.executors.findLast((candidate) => candidate.token === parts[1])
  return executor === undefined ? unauthorized("Invalid JWT: unknown token") : { _tag: "Authenticated", executor }
}

/** `verifyExecutorClaims`: a token is only good for its own framework, executor and container. */
const verifyClaims = (principal: ExecutorState, executor: ExecutorState): string | undefined => {
  const claims = JSON.stringify({
    claims: { cid: principal.containerId, eid: principal.executorId, fid: principal.frameworkId }
  })
  const mismatch = (claim: string, what: string, value: string) =>
    `Authenticated principal '${claims}' does not contain an '${claim}' claim with the ${what} ${value}, ` +
    `which is set in the call`
  if (principal.frameworkId !== executor.frameworkId) return mismatch("fid", "framework ID", executor.frameworkId)
  if (principal.executorId !== executor.executorId) return mismatch("eid", "executor ID", executor.executorId)
  if (principal.containerId !== executor.containerId) return mismatch("cid", "container ID", executor.containerId)
  return undefined
}

// ---------------------------------------------------------------------------------------------
// SUBSCRIBE (`Slave::subscribe`)

const subscribe = (
  tx: Transaction,
  framework: FrameworkState,
  executor: ExecutorState,
  request: Call_Subscribe,
  queue: Queue.Queue<Event, StreamBroken | Cause.Done>
): number => {
  const subscription = tx.openStream(executor, queue)
  if (framework.status === "Terminating" || executor.status === "Terminating") {
    tx.write(subscription, executor, event(Event_Type.SHUTDOWN))
    tx.endStream(subscription, "ShutdownOnSubscribe")
    return subscription
  }
  if (executor.subscription !== undefined) tx.endStream(executor.subscription, "Resubscribed")
  tx.updateExecutor(executor, { status: "Running", subscription })
  scheduleHeartbeat(tx, executor, subscription)

  // Resent updates are handled like UPDATE calls; their ACKs follow SUBSCRIBED.
  const acks: Array<Ack> = []
  for (const update of request.unacknowledgedUpdates) {
    const ack = statusUpdate(tx, framework.id, update.status!, "Executor")
    if (ack !== undefined) acks.push(ack)
  }
  // Tasks the agent delivered that the executor does not know were lost with a stream.
  const known = new Set(request.unacknowledgedTasks.map((task) => task.taskId!.value))
  for (const task of tx.current(executor).tasks) {
    if (task.state === TaskState.TASK_STAGING && !known.has(task.task.taskId!.value)) {
      agentUpdate(tx, tx.current(executor), task.task.taskId!.value, {
        state: isPartitionAware(tx.state, framework.id) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
        reason: TaskStatus_Reason.AGENT_RESTARTED,
        message: "Task launched during agent restart"
      })
    }
  }

  const subscribed = tx.current(executor)
  // The agent's workaround for executors whose every initial task was killed before delivery
  // (MESOS-8411). An executor the fake launched without work is left alone.
  if (subscribed.assignedWork && subscribed.queued.length === 0 && !everSentTask(subscribed)) {
    shutdownExecutor(tx, subscribed)
  } else {
    tx.write(subscription, subscribed, create(EventSchema, {
      type: Event_Type.SUBSCRIBED,
      subscribed: {
        executorInfo: subscribed.info,
        frameworkInfo: framework.info,
        agentInfo: tx.state.agentInfo,
        containerId: { value: subscribed.containerId }
      }
    }))
    tx.updateExecutor(subscribed, { queued: [] })
    for (const work of subscribed.queued) deliver(tx, tx.current(subscribed), work)
  }
  for (const ack of acks) acknowledge(tx, ack)
  return subscription
}

const scheduleHeartbeat = (tx: Transaction, executor: ExecutorState, subscription: number): void =>
  tx.after(tx.state.flags.heartbeatInterval, (tx) => {
    const current = tx.state.executors.find((candidate) => sameExecutor(candidate, executor))
    // The heartbeater lives as long as the agent keeps this stream as the executor's.
    if (current?.subscription !== subscription || current.status === "Terminated") return
    tx.write(subscription, current, event(Event_Type.HEARTBEAT))
    scheduleHeartbeat(tx, current, subscription)
  })

/** `Executor::everSentTask`: a live delivered task, or a terminated one the executor reported on. */
const everSentTask = (executor: ExecutorState): boolean =>
  executor.tasks.some((task) => !isTerminal(task.state) || task.reportedByExecutor)

// ---------------------------------------------------------------------------------------------
// Status updates (`Slave::statusUpdate` and the task status update manager)

interface Ack {
  readonly frameworkId: string
  readonly executorId: string
  readonly taskId: string
  readonly uuid: Uint8Array
}

/** Handles an update; returns the ACK to send, if any. */
const statusUpdate = (
  tx: Transaction,
  frameworkId: string,
  received: TaskStatus,
  origin: "Executor" | "Agent"
): Ack | undefined => {
  const taskId = received.taskId!.value
  const owner = tx.state.executors.find((executor) =>
    executor.frameworkId === frameworkId && executor.status !== "Terminated" && hasTask(executor, taskId)
  )
  const dropped = (outcome: UpdateOutcome): undefined => {
    tx.append("updates", { at: tx.now, origin, frameworkId, executorId: owner?.executorId, taskId, status: received, outcome })
    return undefined
  }
  if (findFramework(tx.state, frameworkId)?.status === "Terminating") return dropped("FrameworkTerminating")
  if (received.agentId !== undefined && received.agentId.value !== tx.config.agentId) return dropped("AgentIdMismatch")

  const status = forwarded(received, tx.config.agentId, origin)
  const record = (outcome: UpdateOutcome): void =>
    tx.append("updates", { at: tx.now, origin, frameworkId, executorId: owner?.executorId, taskId, status, outcome })
  if (owner === undefined) {
    record("UnknownTask")
    return undefined
  }
  const ack: Ack | undefined = origin === "Executor"
    ? { frameworkId, executorId: owner.executorId, taskId, uuid: status.uuid }
    : undefined

  // `Executor::updateTaskState`, then the update manager's de-duplication.
  const queued = queuedWork(owner, taskId)
  if (queued !== undefined) {
    if (!isTerminal(status.state)) {
      record("Inconsistent")
      return ack
    }
    const task = workTasks(queued).find((task) => task.taskId!.value === taskId)!
    const remaining = workTasks(queued).filter((candidate) => candidate !== task)
    tx.updateExecutor(owner, {
      queued: owner.queued.flatMap((work) =>
        work !== queued ? [work] : work._tag === "TaskGroup" && remaining.length > 0
          ? [{ _tag: "TaskGroup" as const, group: create(TaskGroupInfoSchema, { tasks: remaining }) }]
          : []
      ),
      tasks: withTasksAdded(owner.tasks, [{
        task,
        group: queued._tag === "TaskGroup" ? queued.group : undefined,
        state: status.state,
        uuids: [StatusUuid.toHex(status.uuid)],
        reportedByExecutor: origin === "Executor"
      }])
    })
    record("Forwarded")
    return ack
  }
  const position = taskPosition(owner.tasks, taskId)!
  const task = owner.tasks[position]!
  if (isTerminal(task.state)) {
    record("Inconsistent")
    return ack
  }
  const key = StatusUuid.toHex(status.uuid)
  if (task.uuids.includes(key)) {
    record("Duplicate")
    return ack
  }
  tx.updateExecutor(owner, {
    tasks: withTaskReplaced(owner.tasks, position, {
      ...task,
      state: status.state,
      uuids: [...task.uuids, key],
      reportedByExecutor: task.reportedByExecutor || origin === "Executor"
    })
  })
  record("Forwarded")
  return ack
}

/**
 * The update as the agent forwards it, `agent_id` filled in and `source` set, leaving the call it came
 * in as it was received: a shallow copy, as the model never changes a message it keeps.
 */
const forwarded = (received: TaskStatus, agentId: string, origin: "Executor" | "Agent"): TaskStatus => {
  const { $typeName: _, $unknown, ...fields } = received
  const status = create(TaskStatusSchema, {
    ...fields,
    agentId: { value: agentId },
    source: origin === "Executor" ? TaskStatus_Source.EXECUTOR : TaskStatus_Source.AGENT
  })
  if ($unknown !== undefined) status.$unknown = $unknown
  return status
}

/** Writes ACKNOWLEDGED on the owning executor's stream as it is when the ACK goes out. */
const acknowledge = (tx: Transaction, ack: Ack): void => {
  const faults = tx.state.faults
  if (faults.withholdAcks) return
  tx.after(faults.ackDelay, (tx) => {
    const executor = tx.state.executors.find((candidate) => sameExecutor(candidate, ack))
    if (executor?.subscription === undefined) return
    const acknowledged = create(EventSchema, {
      type: Event_Type.ACKNOWLEDGED,
      acknowledged: { taskId: { value: ack.taskId }, uuid: ack.uuid }
    })
    tx.write(executor.subscription, executor, acknowledged)
    if (faults.duplicateAcks) tx.write(executor.subscription, executor, acknowledged)
  })
}

/** An update the agent generates itself (SOURCE_AGENT); never acknowledged to anyone. */
const agentUpdate = (tx: Transaction, executor: ExecutorState, taskId: string, termination: Termination): void => {
  statusUpdate(
    tx,
    executor.frameworkId,
    create(TaskStatusSchema, {
      taskId: { value: taskId },
      state: termination.state,
      source: TaskStatus_Source.AGENT,
      reason: termination.reason,
      message: termination.message,
      executorId: { value: executor.executorId },
      timestamp: tx.now / 1000,
      uuid: StatusUuid.random()
    }),
    "Agent"
  )
}

const event = (type: Event_Type): Event => create(EventSchema, { type })

// ---------------------------------------------------------------------------------------------
// What the master asks of the agent

const taskInfo = (tx: Transaction, init: MessageInitShape<typeof TaskInfoSchema>): TaskInfo => {
  const task = copy(TaskInfoSchema, init)
  // Required fields a test would only fill with the obvious values.
  task.agentId ??= create(AgentIDSchema, { value: tx.config.agentId })
  if (task.name === "" && task.taskId !== undefined) task.name = task.taskId.value
  return task
}

const workTasks = (work: QueuedWork): ReadonlyArray<TaskInfo> =>
  work._tag === "Task" ? [work.task] : work.group.tasks

const launch = (tx: Transaction, work: QueuedWork, ref: ExecutorRef | undefined): void | AgentModelError => {
  if (tx.state.phase !== "Running") {
    return new AgentModelError({
      message: `the agent is ${tx.state.phase}: the master only sends tasks to a running agent`
    })
  }
  if (workTasks(work).some((task) => task.taskId === undefined)) {
    return new AgentModelError({ message: "a task needs a task_id" })
  }
  const executor = findExecutor(tx.state, ref)
  if (executor instanceof AgentModelError) return executor
  switch (executor.status) {
    case "Terminated":
      return new AgentModelError({
        message: `executor ${executor.executorId} has terminated; add a new one with addExecutor`
      })
    case "Terminating":
      // The task never reaches the executor (`Slave::__run`).
      for (const task of workTasks(work)) {
        agentUpdate(tx, executor, task.taskId!.value, {
          state: isPartitionAware(tx.state, executor.frameworkId) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
          reason: TaskStatus_Reason.EXECUTOR_TERMINATED,
          message: "Executor terminating"
        })
      }
      return
    case "Registering":
      tx.updateExecutor(executor, { queued: [...executor.queued, work], assignedWork: true })
      return
    case "Running":
      deliver(tx, tx.updateExecutor(executor, { assignedWork: true }), work)
  }
}

/** LAUNCH or LAUNCH_GROUP; the tasks are STAGING until the executor reports on them. */
const deliver = (tx: Transaction, executor: ExecutorState, work: QueuedWork): void => {
  const group = work._tag === "TaskGroup" ? work.group : undefined
  const delivered = workTasks(work).map((task): TaskRecord => ({
    task,
    group,
    state: TaskState.TASK_STAGING,
    uuids: [],
    reportedByExecutor: false
  }))
  const updated = tx.updateExecutor(executor, { tasks: withTasksAdded(executor.tasks, delivered) })
  tx.write(
    executor.subscription!,
    updated,
    work._tag === "Task"
      ? create(EventSchema, { type: Event_Type.LAUNCH, launch: { task: work.task } })
      : create(EventSchema, { type: Event_Type.LAUNCH_GROUP, launchGroup: { taskGroup: work.group } })
  )
}

const kill = (tx: Transaction, taskId: string, killPolicy: KillPolicy | undefined): void | AgentModelError => {
  const executor = liveExecutors(tx.state).find((candidate) => hasTask(candidate, taskId))
  if (executor === undefined) return new AgentModelError({ message: `no live executor has task ${taskId}` })
  // The agent ignores kills while recovering and for terminating frameworks or executors.
  if (tx.state.phase !== "Running") return
  if (findFramework(tx.state, executor.frameworkId)?.status !== "Active") return
  if (executor.status === "Terminating") return

  const queued = queuedWork(executor, taskId)
  if (executor.status === "Registering" || queued !== undefined) {
    const message = queued?._tag === "TaskGroup" && executor.status === "Registering"
      ? "A task within the task group was killed before delivery to the executor"
      : "Killed before delivery to the executor"
    const victims = queued === undefined ? [taskId] : workTasks(queued).map((task) => task.taskId!.value)
    for (const victim of victims) {
      agentUpdate(tx, tx.current(executor), victim, {
        state: TaskState.TASK_KILLED,
        reason: TaskStatus_Reason.TASK_KILLED_DURING_LAUNCH,
        message
      })
    }
    return
  }
  tx.write(
    executor.subscription!,
    executor,
    create(EventSchema, {
      type: Event_Type.KILL,
      kill: killPolicy === undefined ? { taskId: { value: taskId } } : { taskId: { value: taskId }, killPolicy }
    })
  )
}

const frameworkMessage = (tx: Transaction, data: Uint8Array, ref: ExecutorRef | undefined): void | AgentModelError => {
  const executor = findExecutor(tx.state, ref)
  if (executor instanceof AgentModelError) return executor
  // Dropped silently unless the agent is registered, the framework active and the executor subscribed.
  if (tx.state.phase !== "Running" || executor.status !== "Running") return
  if (findFramework(tx.state, executor.frameworkId)?.status !== "Active") return
  tx.write(executor.subscription!, executor, create(EventSchema, { type: Event_Type.MESSAGE, message: { data } }))
}

/** `_shutdownExecutor`: SHUTDOWN (lost if not subscribed), then destroy the container after the grace period. */
const shutdownExecutor = (tx: Transaction, executor: ExecutorState): void => {
  const terminating = tx.updateExecutor(executor, { status: "Terminating" })
  if (terminating.subscription !== undefined) {
    tx.write(terminating.subscription, terminating, event(Event_Type.SHUTDOWN))
  }
  tx.after(terminating.shutdownGracePeriod, (tx) => {
    const current = tx.current(terminating)
    if (current.status === "Terminating" && current.containerId === terminating.containerId) {
      destroyContainer(tx, current, "ShutdownGracePeriodElapsed")
    }
  })
}

const shutdownFramework = (tx: Transaction, frameworkId: string | undefined): void | AgentModelError => {
  const framework = frameworkId === undefined
    ? tx.state.frameworks.find((candidate) => candidate.status === "Active")
    : findFramework(tx.state, frameworkId)
  if (framework === undefined) return new AgentModelError({ message: `no framework ${frameworkId ?? ""}` })
  if (framework.status !== "Active") return
  updateFramework(tx, framework.id, { status: "Terminating" })
  for (const executor of liveExecutors(tx.state)) {
    if (executor.frameworkId === framework.id && (executor.status === "Registering" || executor.status === "Running")) {
      shutdownExecutor(tx, executor)
    }
  }
  removeIfIdle(tx, framework.id)
}

const addExecutor = (tx: Transaction, options: ExecutorOptions, index: number): ExecutorState | AgentModelError => {
  const frameworkId = options.frameworkId ?? tx.state.frameworks[0]?.id
  const known = frameworkId === undefined ? undefined : tx.config.frameworkInfos.get(frameworkId)
  if (frameworkId === undefined || known === undefined) {
    return new AgentModelError({ message: `no framework ${frameworkId ?? ""}` })
  }
  const executorId = options.executorId ?? (index === 0 ? "fake-executor" : `fake-executor-${index}`)
  if (liveExecutors(tx.state).some((executor) => sameExecutor(executor, { frameworkId, executorId }))) {
    return new AgentModelError({ message: `executor ${executorId} of framework ${frameworkId} already exists` })
  }
  // The agent learns a framework again from the next task the master sends for it.
  if (findFramework(tx.state, frameworkId) === undefined) {
    tx.state = {
      ...tx.state,
      frameworks: [
        ...tx.state.frameworks.filter((framework) => framework.id !== frameworkId),
        { id: frameworkId, info: known, status: "Active" }
      ]
    }
  } else if (findFramework(tx.state, frameworkId)!.status === "Terminating") {
    return new AgentModelError({ message: `framework ${frameworkId} is terminating` })
  }
  const containerId = options.containerId ?? `fake-container-${tx.state.executors.length}`
  const executor: ExecutorState = {
    frameworkId,
    executorId,
    info: executorInfo(options, frameworkId, executorId),
    containerId,
    token: options.token ?? `${frameworkId}.${executorId}.${containerId}`,
    shutdownGracePeriod: options.shutdownGracePeriod === undefined
      ? tx.state.flags.executorShutdownGracePeriod
      : Duration.fromInputUnsafe(options.shutdownGracePeriod),
    status: "Registering",
    subscription: undefined,
    queued: [],
    tasks: [],
    assignedWork: false,
    pendingTermination: undefined
  }
  tx.state = { ...tx.state, executors: [...tx.state.executors, executor] }
  tx.after(tx.state.flags.registrationTimeout, (tx) => {
    const current = tx.current(executor)
    if (current.status !== "Registering" || current.containerId !== containerId) return
    if (findFramework(tx.state, frameworkId)?.status !== "Active") return
    destroyContainer(tx, tx.updateExecutor(current, {
      status: "Terminating",
      pendingTermination: {
        state: TaskState.TASK_FAILED,
        reason: TaskStatus_Reason.EXECUTOR_REGISTRATION_TIMEOUT,
        message: `Executor did not register within ${MesosDuration.format(tx.state.flags.registrationTimeout)}`
      }
    }), "RegistrationTimeout")
  })
  return executor
}

const executorInfo = (options: ExecutorOptions, frameworkId: string, executorId: string): ExecutorInfo => {
  const info = copy(ExecutorInfoSchema, options.info)
  if (options.info?.name === undefined) info.name = "fake executor"
  info.executorId = create(ExecutorIDSchema, { value: executorId })
  info.frameworkId = create(FrameworkIDSchema, { value: frameworkId })
  if (options.shutdownGracePeriod !== undefined) {
    info.shutdownGracePeriod = create(DurationInfoSchema, {
      nanoseconds: Duration.toNanosUnsafe(options.shutdownGracePeriod)
    })
  }
  return info
}

// ---------------------------------------------------------------------------------------------
// Containers and executor termination

const destroyContainer = (tx: Transaction, executor: ExecutorState, reason: DestructionReason): void => {
  tx.append("destroyedContainers", {
    at: tx.now,
    frameworkId: executor.frameworkId,
    executorId: executor.executorId,
    containerId: executor.containerId,
    reason
  })
  // A destroyed container terminates at once as far as the model is concerned.
  executorTerminated(tx, executor)
}

/** `Slave::executorTerminated`, then removal: the scheduler is taken to acknowledge at once. */
const executorTerminated = (tx: Transaction, executor: ExecutorState): void => {
  const framework = findFramework(tx.state, executor.frameworkId)
  if (framework?.status === "Active") {
    const termination: Termination = executor.pendingTermination ?? {
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.EXECUTOR_TERMINATED,
      message: "Executor terminated"
    }
    const live = [
      ...executor.tasks.filter((task) => !isTerminal(task.state)).map((task) => task.task),
      ...executor.queued.flatMap(workTasks)
    ]
    for (const task of live) agentUpdate(tx, tx.current(executor), task.taskId!.value, termination)
  }
  const terminated = tx.updateExecutor(tx.current(executor), { status: "Terminated" })
  if (terminated.subscription !== undefined) tx.endStream(terminated.subscription, "ExecutorRemoved")
  removeIfIdle(tx, executor.frameworkId)
}

/** The agent removes a framework with no executors left; one the fake never gave an executor stays. */
const removeIfIdle = (tx: Transaction, frameworkId: string): void => {
  const idle = !liveExecutors(tx.state).some((executor) => executor.frameworkId === frameworkId)
  const hadExecutors = tx.state.executors.some((executor) => executor.frameworkId === frameworkId)
  if (idle && (hadExecutors || findFramework(tx.state, frameworkId)?.status === "Terminating")) {
    updateFramework(tx, frameworkId, { status: "Removed" })
  }
}

// ---------------------------------------------------------------------------------------------
// Restarts (real-agent/restart.txt)

const restart = (tx: Transaction, options: RestartOptions): void => {
  tx.state = { ...tx.state, phase: "Down", restarts: tx.state.restarts + 1 }
  for (const subscription of tx.state.subscriptions) {
    if (subscription.ended === undefined) tx.endStream(subscription.id, "AgentExited")
  }
  // Only checkpointed frameworks are recovered; their executors must re-subscribe.
  const forgotten: Array<ExecutorState> = []
  for (const framework of tx.state.frameworks) {
    if (framework.status === "Removed") continue
    if (framework.info.checkpoint) continue
    updateFramework(tx, framework.id, { status: "Removed" })
  }
  tx.state = {
    ...tx.state,
    executors: tx.state.executors.map((executor) => {
      if (executor.status === "Terminated") return executor
      if (findFramework(tx.state, executor.frameworkId) === undefined) {
        forgotten.push(executor)
        return { ...executor, status: "Terminated", subscription: undefined }
      }
      return { ...executor, status: "Registering", subscription: undefined, pendingTermination: undefined }
    })
  }

  const downFor = Duration.fromInputUnsafe(options.downFor ?? Duration.seconds(1))
  const notFoundFor = Duration.fromInputUnsafe(options.notFoundFor ?? Duration.zero)
  const unavailableFor = Duration.fromInputUnsafe(options.unavailableFor ?? Duration.millis(50))
  const window = Duration.fromInputUnsafe(options.reregistrationTimeout ?? tx.state.flags.reregistrationTimeout)

  tx.after(downFor, (tx) => {
    tx.state = { ...tx.state, phase: "Starting" }
    tx.after(notFoundFor, (tx) => {
      tx.state = { ...tx.state, phase: "RecoveringContainerizer" }
      // Containerizer recovery destroys the containers of frameworks the agent forgot.
      for (const executor of forgotten) {
        tx.append("destroyedContainers", {
          at: tx.now,
          frameworkId: executor.frameworkId,
          executorId: executor.executorId,
          containerId: executor.containerId,
          reason: "Orphaned"
        })
      }
      tx.after(unavailableFor, (tx) => {
        if (!liveExecutors(tx.state).some((executor) => executor.status === "Registering")) {
          tx.state = { ...tx.state, phase: "Running" }
          return
        }
        tx.state = { ...tx.state, phase: "Recovering" }
        tx.after(window, (tx) => reregistrationTimeout(tx, window))
      })
    })
  })
}

/** `Slave::reregisterExecutorTimeout`: executors that did not come back are destroyed; recovery ends. */
const reregistrationTimeout = (tx: Transaction, window: Duration.Duration): void => {
  for (const executor of liveExecutors(tx.state)) {
    if (executor.status !== "Registering") continue
    destroyContainer(
      tx,
      tx.updateExecutor(executor, {
        status: "Terminating",
        pendingTermination: {
          state: isPartitionAware(tx.state, executor.frameworkId) ? TaskState.TASK_GONE : TaskState.TASK_LOST,
          reason: TaskStatus_Reason.EXECUTOR_REREGISTRATION_TIMEOUT,
          message: `Executor did not reregister within ${MesosDuration.format(window)}`
        }
      }),
      "ReregistrationTimeout"
    )
  }
  tx.state = { ...tx.state, phase: "Running" }
}
