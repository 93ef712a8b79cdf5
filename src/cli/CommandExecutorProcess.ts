/**
 * `effect-mesos-executor command`: the command executor as a process a Mesos agent starts. It reads
 * its configuration from the agent's `MESOS_*` environment, talks to the agent over HTTP (or its Unix
 * socket), logs to stderr (the sandbox's `stderr` file), and ends when its driver does: successfully
 * once it was shut down or every task ended and was acknowledged, with a failure when the agent was
 * lost, refused the subscription, or the environment is unusable.
 */
import { Effect, Layer, Logger } from "effect"
import { CliError } from "effect/cli"
import type { ChildProcessSpawner } from "effect/process"
import * as CommandExecutor from "../command/CommandExecutor.js"
import { ExecutorConfig } from "../config/ExecutorConfig.js"
import * as HttpAgentClient from "../transport/HttpAgentClient.js"

/**
 * Once read, the token leaves the process environment, as the Mesos library erases it: no process this
 * executor starts (tasks, health checks, whatever user code spawns) can inherit it.
 */
const ConfigLive = ExecutorConfig.layer.pipe(
  Layer.tap(() => Effect.sync(() => delete process.env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"]))
)

const AgentLive = HttpAgentClient.layer.pipe(Layer.provideMerge(ConfigLive))

/**
 * Runs the command executor to its end. As in the Mesos executors' `main`, only a stopped driver is a
 * success; a failure carries a message for the user.
 */
export const run: Effect.Effect<void, CliError.UserError, ChildProcessSpawner.ChildProcessSpawner> =
  CommandExecutor.run().pipe(
    Effect.provide(AgentLive),
    Effect.provideService(Logger.LogToStderr, true),
    // The messages name what is wrong (each bad variable, the agent's answer); the token is never in them.
    Effect.mapError((error) => new CliError.UserError({ cause: error, userMessage: error.message })),
    Effect.flatMap((end) =>
      end === "Stopped"
        ? Effect.void
        : Effect.fail(new CliError.UserError({ cause: end, userMessage: "the executor driver was aborted" }))
    )
  )
