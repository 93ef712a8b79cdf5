/**
 * The callbacks an executor implements, as in the classic Mesos executor interface. Each is an `Effect`
 * with the executor's own error and requirements; the driver runs them one at a time, in event order,
 * with the `ExecutorDriver` service available.
 */
import type { Effect } from "effect"
import type {
  AgentInfo,
  ContainerID,
  ExecutorInfo,
  FrameworkInfo,
  KillPolicy,
  TaskGroupInfo,
  TaskID,
  TaskInfo
} from "../gen/mesos/v1/mesos_pb.js"

/** What the agent says about this executor when it subscribes. */
export interface Registration {
  readonly executorInfo: ExecutorInfo
  readonly frameworkInfo: FrameworkInfo
  readonly agentInfo: AgentInfo
  readonly containerId: ContainerID | undefined
}

export interface Executor<E = never, R = never> {
  /** The first SUBSCRIBED of this executor's life. */
  readonly registered?: (registration: Registration) => Effect.Effect<void, E, R>
  /** A SUBSCRIBED after a disconnection (for instance an agent restart with checkpointing). */
  readonly reregistered?: (agentInfo: AgentInfo) => Effect.Effect<void, E, R>
  /** The connection to the agent was lost; runs once per outage. */
  readonly disconnected?: Effect.Effect<void, E, R>
  /** LAUNCH. Start the task's work with `ExecutorDriver.runTask` rather than in the callback. */
  readonly launchTask: (task: TaskInfo) => Effect.Effect<void, E, R>
  /** LAUNCH_GROUP. Without it, each task of the group goes to `launchTask`. */
  readonly launchTaskGroup?: (group: TaskGroupInfo) => Effect.Effect<void, E, R>
  /**
   * KILL, with the kill policy the scheduler gave with it (it overrides the task's own). After it
   * returns, the driver interrupts the task's fiber started with `runTask`, if any.
   */
  readonly killTask?: (taskId: TaskID, killPolicy: KillPolicy | undefined) => Effect.Effect<void, E, R>
  /** MESSAGE from the scheduler. */
  readonly frameworkMessage?: (data: Uint8Array) => Effect.Effect<void, E, R>
  /**
   * SHUTDOWN from the agent, or the driver's own after losing the agent for good. Task fibers are
   * interrupted right after it returns; all of it must fit in the shutdown grace period.
   */
  readonly shutdown?: Effect.Effect<void, E, R>
  /** ERROR: something went wrong that the executor should know about (for instance a rejected call). */
  readonly error?: (message: string) => Effect.Effect<void, E, R>
}

/** Builds an executor, inferring its error and requirement types from the callbacks. */
export const make = <E = never, R = never>(executor: Executor<E, R>): Executor<E, R> => executor
