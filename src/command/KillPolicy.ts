/**
 * How long a killed task gets between SIGTERM and SIGKILL, as the Mesos command executor decides it
 * (SPEC §6.3, §6.4).
 */
import { Duration } from "effect"
import type { DurationInfo, KillPolicy } from "../gen/mesos/v1/mesos_pb.js"

/** Without a kill policy, as in both reference executors ("for backwards compatibility"). */
export const defaultGracePeriod: Duration.Duration = Duration.seconds(3)

const fromDurationInfo = (info: DurationInfo): Duration.Duration =>
  info.nanoseconds > 0n ? Duration.nanos(info.nanoseconds) : Duration.zero

/** The KILL event's policy wins over the task's own; without either, 3 seconds. */
export const gracePeriod = (
  killPolicy: KillPolicy | undefined,
  taskKillPolicy: KillPolicy | undefined
): Duration.Duration => {
  const chosen = killPolicy?.gracePeriod ?? taskKillPolicy?.gracePeriod
  return chosen === undefined ? defaultGracePeriod : fromDurationInfo(chosen)
}

/**
 * The longest grace a task gets when the executor shuts down, so that SIGKILL, the terminal updates and
 * their acknowledgements still fit in the executor's shutdown grace period. The command executor keeps
 * 2 seconds (its reaping interval plus one second) for them; a shorter period is split in half.
 */
export const shutdownGracePeriod = (executorShutdownGracePeriod: Duration.Duration): Duration.Duration => {
  const reserve = Duration.seconds(2)
  return Duration.isGreaterThan(executorShutdownGracePeriod, reserve)
    ? Duration.subtract(executorShutdownGracePeriod, reserve)
    : Duration.millis(Duration.toMillis(executorShutdownGracePeriod) / 2)
}
