/**
 * How a `CommandInfo` becomes a child process, as the Mesos command executor launches it:
 *
 * - `shell` (the default): `/bin/sh -c value`;
 * - otherwise `value` is executed (looked up on `PATH`) with `arguments`, of which the first is the
 *   program's `argv[0]` (Mesos passes `arguments` as the whole argv). The spawner cannot set `argv[0]`
 *   apart from the program, so the program sees `value` as its `argv[0]` and `arguments[1..]` after it.
 *
 * The process gets the executor's environment, minus the agent's authentication token, with the
 * given variables on top; it runs in its own process group, with the executor's stdout and stderr (the
 * sandbox's `stdout` and `stderr` files) and no stdin.
 */
import { Result, Schema } from "effect"
import { ChildProcess } from "effect/process"
import { type CommandInfo, Environment_Variable_Type, type TaskInfo } from "../gen/mesos/v1/mesos_pb.js"

/** The command names nothing to run. */
export class InvalidCommand extends Schema.TaggedError<InvalidCommand>()("InvalidCommand", {
  message: Schema.String
}) {}

// Identifies the executor to the agent; a task holding it could act as the executor.
const authenticationTokenVariable = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"

export interface Options {
  /** The working directory; the executor's own when undefined. */
  readonly cwd: string | undefined
  /** Variables set over the executor's environment. */
  readonly environment: Readonly<Record<string, string>>
}

/** The command's own variables; unresolved secrets are skipped, as Mesos does. */
export const variables = (command: CommandInfo | undefined): Record<string, string> => {
  const result: Record<string, string> = {}
  for (const variable of command?.environment?.variables ?? []) {
    if (variable.type !== Environment_Variable_Type.SECRET) result[variable.name] = variable.value
  }
  return result
}

/**
 * The task's environment on top of the executor's: its command's variables, then
 * `MESOS_ALLOCATION_ROLE` as both reference executors set it.
 */
export const taskEnvironment = (task: TaskInfo): Record<string, string> => {
  const role = task.resources[0]?.allocationInfo?.role
  return role === undefined ? variables(task.command) : { ...variables(task.command), MESOS_ALLOCATION_ROLE: role }
}

/**
 * Checks that `command` names something to run; `owner` completes the command executor's messages
 * ("Shell command of task 'web' is not specified").
 */
export const validate = (command: CommandInfo, owner: string): Result.Result<CommandInfo, InvalidCommand> =>
  command.value === ""
    ? Result.fail(
      new InvalidCommand({
        message: command.shell ? `Shell command of ${owner} is not specified` : `Executable of ${owner} is not specified`
      })
    )
    : Result.succeed(command)

export const make = (command: CommandInfo, options: Options): ChildProcess.StandardCommand =>
  ChildProcess.make(
    command.shell ? "/bin/sh" : command.value,
    command.shell ? ["-c", command.value] : command.arguments.slice(1),
    {
      cwd: options.cwd,
      env: { ...options.environment, [authenticationTokenVariable]: undefined },
      extendEnv: true,
      detached: true,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      // Used when the process's scope closes: by then a kill already had its grace period, or the
      // task's leader has exited and whatever it left in its group must not outlive it.
      killSignal: "SIGKILL"
    }
  )

/** For logs: the script, or the program and its arguments. */
export const display = (command: CommandInfo): string =>
  command.shell ? command.value : [command.value, ...command.arguments.slice(1)].join(" ")
