/**
 * One attempt of a task's health check, of each `HealthCheck` type as Mesos performs it
 * (`src/checks/checker_process.cpp`, `health_checker.cpp`):
 *
 * - COMMAND: the check's command, in the task's sandbox with the task's environment plus the check's
 *   own variables; healthy when it exits with status 0;
 * - HTTP: `GET scheme://127.0.0.1:port/path` (`[::1]` for IPv6; `https` without certificate
 *   verification, as `curl -k`); healthy on a status in [200, 400);
 * - TCP: a connection to `127.0.0.1:port` (`::1` for IPv6); healthy once connected.
 */
import { Effect, Result, Schema } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import { type HealthCheck, HealthCheck_Type, NetworkInfo_Protocol } from "../gen/mesos/v1/mesos_pb.js"
import * as TaskCommand from "./TaskCommand.js"
import * as TaskExit from "./TaskExit.js"

/** The check ran and found the task unhealthy, or could not be run; either counts as a failure. */
export class HealthCheckFailed extends Schema.TaggedError<HealthCheckFailed>()("HealthCheckFailed", {
  message: Schema.String
}) {}

/** The health check cannot be performed at all (no type, or the type's settings are missing). */
export class InvalidHealthCheck extends Schema.TaggedError<InvalidHealthCheck>()("InvalidHealthCheck", {
  message: Schema.String
}) {}

export type Probe = Effect.Effect<void, HealthCheckFailed>

export interface TaskContext {
  readonly spawner: ChildProcessSpawner.ChildProcessSpawner["Service"]
  /** The task's working directory. */
  readonly cwd: string | undefined
  /** The task's variables over the executor's environment. */
  readonly environment: Readonly<Record<string, string>>
}

const failed = (message: string) => new HealthCheckFailed({ message })

const loopback = (protocol: NetworkInfo_Protocol) => (protocol === NetworkInfo_Protocol.IPv6 ? "::1" : "127.0.0.1")

const commandProbe = (check: HealthCheck, context: TaskContext): Result.Result<Probe, InvalidHealthCheck> =>
  Result.map(
    check.command === undefined
      ? Result.fail(new InvalidHealthCheck({ message: "COMMAND health check without 'command'" }))
      : Result.mapError(
        TaskCommand.validate(check.command, "the health check"),
        (invalid) => new InvalidHealthCheck({ message: invalid.message })
      ),
    (command) => {
      const child = TaskCommand.make(command, {
        cwd: context.cwd,
        environment: { ...context.environment, ...TaskCommand.variables(command) }
      })
      // Closing the scope (also on timeout) SIGKILLs the check's process group.
      return Effect.scoped(
        Effect.gen(function*() {
          const handle = yield* context.spawner.spawn(child).pipe(
            Effect.mapError((error) => failed(`Failed to launch the health check command: ${error.message}`))
          )
          const exit = yield* TaskExit.await(handle).pipe(
            Effect.mapError((error) => failed(`Failed to get the health check command's exit status: ${error.message}`))
          )
          if (!TaskExit.isSuccess(exit)) return yield* failed(`Command ${TaskExit.describe(exit)}`)
        })
      )
    }
  )

const httpProbe = (check: HealthCheck): Result.Result<Probe, InvalidHealthCheck> => {
  const http = check.http
  if (http === undefined) return Result.fail(new InvalidHealthCheck({ message: "HTTP health check without 'http'" }))
  const scheme = http.scheme === "" ? "http" : http.scheme
  if (scheme !== "http" && scheme !== "https") {
    return Result.fail(new InvalidHealthCheck({ message: `HTTP health check with unsupported scheme '${scheme}'` }))
  }
  const host = loopback(http.protocol)
  const path = http.path.startsWith("/") ? http.path : `/${http.path}`
  const url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${http.port}${path}`
  const client = scheme === "https" ? Https : Http
  return Result.succeed(
    Effect.callback<void, HealthCheckFailed>((resume) => {
      const request = client.get(
        {
          host,
          port: http.port,
          path,
          // A connection of its own per check, closed after it, as curl's; no certificate check, as `curl -k`.
          agent: false,
          rejectUnauthorized: false,
          headers: { "user-agent": "effect-mesos-executor" }
        },
        (response) => {
          response.resume()
          const status = response.statusCode ?? 0
          const reason = Http.STATUS_CODES[status]
          resume(
            status >= 200 && status < 400
              ? Effect.void
              : Effect.fail(failed(`Unexpected HTTP response code: ${status}${reason === undefined ? "" : ` ${reason}`}`))
          )
        }
      )
      request.on("error", (error) => resume(Effect.fail(failed(`GET ${url} failed: ${error.message}`))))
      return Effect.sync(() => request.destroy())
    })
  )
}

const tcpProbe = (check: HealthCheck): Result.Result<Probe, InvalidHealthCheck> => {
  const tcp = check.tcp
  if (tcp === undefined) return Result.fail(new InvalidHealthCheck({ message: "TCP health check without 'tcp'" }))
  const host = loopback(tcp.protocol)
  return Result.succeed(
    Effect.callback<void, HealthCheckFailed>((resume) => {
      const socket = Net.connect({ host, port: tcp.port }, () => {
        socket.destroy()
        resume(Effect.void)
      })
      socket.on("error", (error) => resume(Effect.fail(failed(`TCP connection failed: ${error.message}`))))
      return Effect.sync(() => socket.destroy())
    })
  )
}

/** The probe for `check`, run against a task in `context`. */
export const make = (check: HealthCheck, context: TaskContext): Result.Result<Probe, InvalidHealthCheck> => {
  switch (check.type) {
    case HealthCheck_Type.COMMAND:
      return commandProbe(check, context)
    case HealthCheck_Type.HTTP:
      return httpProbe(check)
    case HealthCheck_Type.TCP:
      return tcpProbe(check)
    case HealthCheck_Type.UNKNOWN:
      return Result.fail(new InvalidHealthCheck({ message: "health check of type UNKNOWN" }))
  }
}
