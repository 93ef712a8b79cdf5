/**
 * The driver's only view of the agent: subscribe and send calls. The HTTP implementation lives in
 * `HttpAgentClient`; the in-memory fake agent of `effect-mesos-executor/testing` provides another, so the
 * driver never knows about HTTP.
 */
import { Context, Schema } from "effect"
import type { Effect, Scope, Stream } from "effect"
import type { Call } from "../gen/mesos/v1/executor/executor_pb.js"
import type { AgentEvent } from "../wire/AgentEvent.js"

/**
 * Why a call did not get the answer it expects (200 for SUBSCRIBE, 202 otherwise).
 *
 * - `Unreachable`: no connection (refused, reset, DNS, socket path missing).
 * - `Unavailable`: 503 (agent recovering) or 404 (routes not installed yet after a restart): transient.
 * - `Rejected`: any other status; the agent will answer the same call the same way.
 * - `Encode`: the call could not be encoded (a required field is missing); nothing was sent.
 */
export class AgentCallError extends Schema.TaggedError<AgentCallError>()("AgentCallError", {
  reason: Schema.Literals(["Unreachable", "Unavailable", "Rejected", "Encode"]),
  call: Schema.String,
  status: Schema.optional(Schema.Number),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `${this.call} call ${this.reason.toLowerCase()}${status}: ${this.detail}`
  }

  /** Worth retrying as is: the agent may answer differently later. */
  get isTransient(): boolean {
    return this.reason === "Unreachable" || this.reason === "Unavailable"
  }
}

/**
 * The subscription stream broke: the agent closed it (end of stream), the connection failed, or a
 * record could not be framed or decoded. Either way the executor is disconnected.
 */
export class AgentDisconnected extends Schema.TaggedError<AgentDisconnected>()("AgentDisconnected", {
  reason: Schema.Literals(["EndOfStream", "ConnectionLost", "Undecodable"]),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `disconnected from the agent (${this.reason}): ${this.detail}`
  }
}

export interface AgentClientShape {
  /**
   * Sends SUBSCRIBE. Succeeds once the agent answered 200, with the event stream; the stream fails
   * with `AgentDisconnected` when the subscription ends for any reason (it never just completes).
   * Closing the scope closes the connection.
   */
  readonly subscribe: (
    call: Call
  ) => Effect.Effect<Stream.Stream<AgentEvent, AgentDisconnected>, AgentCallError, Scope.Scope>
  /** Sends UPDATE, MESSAGE or HEARTBEAT; succeeds on 202. */
  readonly send: (call: Call) => Effect.Effect<void, AgentCallError>
}

export class AgentClient extends Context.Service<AgentClient, AgentClientShape>()(
  "effect-mesos-executor/AgentClient"
) {}
