/**
 * `effect-mesos-executor local`, from its flags to its exit: reads the tasks file, picks the display
 * (JSON lines when asked, the live view on a terminal, plain lines elsewhere) and runs the local agent.
 */
import { Effect, Option, Stdio } from "effect"
import { CliError } from "effect/cli"
import * as Display from "./Display.js"
import type { ExecutorCommand } from "./ExecutorContainer.js"
import * as LiveView from "./LiveView.js"
import * as LocalAgent from "./LocalAgent.js"
import * as TasksFile from "./TasksFile.js"

export interface Invocation extends Omit<LocalAgent.Options, "tasksFile" | "executor" | "workDir"> {
  /** The tasks file's path. */
  readonly tasks: string
  /** A shell command; default this program's `command`. */
  readonly executor: Option.Option<string>
  readonly workDir: Option.Option<string>
  readonly json: boolean
}

/** This program's own command executor: the script Node runs now (the bin's or a bundle), as it runs it. */
const commandExecutor = (): ExecutorCommand => ({
  _tag: "Program",
  program: process.execPath,
  args: [...process.execArgv, process.argv[1]!, "command"]
})

export const run = (invocation: Invocation) =>
  Effect.gen(function*() {
    const tasksFile = yield* TasksFile.read(invocation.tasks)
    const display = invocation.json
      ? Display.json
      : (yield* Effect.flatMap(Stdio.Stdio, (stdio) => stdio.stdoutIsTerminal))
      ? LiveView.layer(tasksFile)
      : Display.plain
    return yield* LocalAgent.run({
      ...invocation,
      tasksFile,
      executor: Option.match(invocation.executor, {
        onNone: commandExecutor,
        onSome: (script): ExecutorCommand => ({ _tag: "Shell", script })
      }),
      workDir: Option.getOrUndefined(invocation.workDir)
    }).pipe(Effect.provide(display), Effect.scoped)
  }).pipe(
    Effect.catchIf(
      (error) => error._tag !== "LocalRunFailed",
      (error) => Effect.fail(new CliError.UserError({ cause: error, userMessage: error.message }))
    )
  )
