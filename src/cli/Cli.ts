/**
 * The `effect-mesos-executor` command line. Each subcommand loads its modules only when it runs, so
 * that `command`, which an agent starts for every executor, does not load the local agent.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Duration, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import * as MesosDuration from "../config/MesosDuration.js"

/**
 * The package's version. Written out rather than read from package.json, which a bundled CLI does not
 * have next to it; test/cli/command.test.ts keeps the two equal.
 */
const version = "0.1.0"

/** A duration flag in the Mesos grammar, as the agent's own flags take them. */
const duration = (name: string, fallback: Duration.Duration, description: string) =>
  Flag.String(name).pipe(
    Flag.withSchema(MesosDuration.schema),
    Flag.withMetavar("DURATION"),
    Flag.withDescription(`${description} (a Mesos duration such as 500ms, 30secs, 2mins; default ${
      MesosDuration.format(fallback)
    })`),
    Flag.withDefault(fallback)
  )

/** An on/off flag, off unless given. */
const flag = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))

const command = Command.make("command", {}, () =>
  Effect.flatMap(Effect.promise(() => import("./CommandExecutorProcess.js")), (module) => module.run)).pipe(
    Command.withDescription(
      "Run the command executor, as a Mesos agent starts it: configured by the MESOS_* environment, in the " +
        "sandbox. Exits 0 once shut down or once every task ended and was acknowledged, 1 otherwise."
    )
  )

const local = Command.make("local", {
  tasks: Flag.File("tasks").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDescription("The tasks file: the tasks and task groups to launch, and how each must end (JSON)")
  ),
  executor: Flag.String("executor").pipe(
    Flag.withMetavar("COMMAND"),
    Flag.withDescription(
      "The executor to run, as a shell command (sh -c) started the way an agent starts it: in the sandbox, " +
        "with only the agent's environment and PATH, so give absolute paths. Default: this program's " +
        "command executor"
    ),
    Flag.optional
  ),
  json: flag("json", "Print JSON lines (each activity, then the summary)"),
  checkpoint: flag("checkpoint", "Make the framework checkpoint (MESOS_CHECKPOINT=1), whatever the tasks file says"),
  timeout: duration("timeout", Duration.seconds(60), "Give up after this long, destroying every container"),
  registrationTimeout: duration(
    "registration-timeout",
    Duration.seconds(20),
    "Destroy an executor that has not subscribed by then, as the agent's --executor_registration_timeout does"
  ),
  idleShutdown: duration(
    "idle-shutdown",
    Duration.seconds(2),
    "Shut an executor down when it is still running this long after its last task ended, as when its framework leaves"
  ),
  workDir: Flag.Directory("work-dir").pipe(
    Flag.withMetavar("DIR"),
    Flag.withDescription("Where to create the sandboxes. Default: a new temporary directory"),
    Flag.optional
  ),
  echo: flag("echo", "Also show what the executors write to stdout and stderr"),
  strict: flag("strict", "Fail the run on protocol mistakes too, not only on unexpected task states and exits")
}, (invocation) => Effect.flatMap(Effect.promise(() => import("./LocalCommand.js")), (module) => module.run(invocation))).pipe(
  Command.withDescription(
    "Run executors under a local Mesos agent, without a cluster: launch the tasks of a tasks file, show what " +
      "happens, and check that every task and executor ends as the file expects (exit 0) or not (exit 1)."
  ),
  Command.withExamples([
    { command: "effect-mesos-executor local --tasks examples/tasks.json", description: "The command executor" },
    {
      command: "effect-mesos-executor local --tasks tasks.json --executor \"/usr/bin/java -jar $PWD/executor.jar\"",
      description: "Another executor"
    }
  ])
)

const cli = Command.make("effect-mesos-executor").pipe(
  Command.withDescription("Apache Mesos executors on Effect"),
  Command.withSubcommands([command, local])
)

/** Runs the command line of this process and exits with its outcome. */
export const main = (): void => {
  // A reader that goes away (`| head`) must not crash a run before it cleaned up its executors.
  process.stdout.on("error", ignoreBrokenPipe)
  cli.pipe(
    Command.run({ version }),
    Effect.provide(NodeServices.layer),
    NodeRuntime.runMain
  )
}

const ignoreBrokenPipe = (error: NodeJS.ErrnoException): void => {
  if (error.code !== "EPIPE") throw error
}
