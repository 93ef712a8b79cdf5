/**
 * The driver's own typed errors. A callback's error is not wrapped: it reaches `run` / `await` as is.
 */
import { Schema } from "effect"

/** `sendStatusUpdate` was given a status the agent would reject; nothing was sent or kept. */
export class InvalidStatusUpdate extends Schema.TaggedError<InvalidStatusUpdate>()("InvalidStatusUpdate", {
  taskId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `status update for task '${this.taskId}' rejected before sending: ${this.reason}`
  }
}

/**
 * The agent refused a status update with an answer that will not change (400, 401, 403, ...): it is not
 * resent. The `error` callback is told too, as the Mesos library does.
 */
export class StatusUpdateRejected extends Schema.TaggedError<StatusUpdateRejected>()("StatusUpdateRejected", {
  taskId: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `status update for task '${this.taskId}' rejected by the agent: ${this.detail}`
  }
}

/** The driver has ended (stopped, aborted or shut down): it sends nothing more. */
export class DriverNotRunning extends Schema.TaggedError<DriverNotRunning>()("DriverNotRunning", {
  operation: Schema.String
}) {
  override get message(): string {
    return `${this.operation}: the executor driver is no longer running`
  }
}

/**
 * The agent would not take a framework message (rejected, or unreachable for now: framework messages
 * are not retried, as in Mesos they carry no delivery guarantee).
 */
export class FrameworkMessageFailed extends Schema.TaggedError<FrameworkMessageFailed>()(
  "FrameworkMessageFailed",
  { detail: Schema.String }
) {
  override get message(): string {
    return `framework message not sent: ${this.detail}`
  }
}

/**
 * How a driver ended when it did not simply stop:
 * - `RegistrationTimeout`: could not subscribe at all (agent unreachable or unavailable) at start;
 * - `RecoveryTimeout`: disconnected with checkpointing and not resubscribed within MESOS_RECOVERY_TIMEOUT;
 * - `Disconnected`: disconnected without checkpointing (nothing to wait for);
 * - `SubscribeRejected`: the agent refused SUBSCRIBE for good (for instance 400 "Framework cannot be found").
 */
export class ExecutorDriverError extends Schema.TaggedError<ExecutorDriverError>()("ExecutorDriverError", {
  reason: Schema.Literals(["RegistrationTimeout", "RecoveryTimeout", "Disconnected", "SubscribeRejected"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `executor driver ended (${this.reason}): ${this.detail}`
  }
}
