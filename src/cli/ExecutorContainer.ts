/**
 * An executor's container as the local agent runs it. The executor process starts as a Mesos agent
 * starts it: with the agent's environment and nothing else (no HOME, the host's default PATH), the
 * sandbox as its working directory, no stdin, and its stdout and stderr written to the sandbox's
 * `stdout` and `stderr` files. Destroying the container kills every process in it at once, as the
 * agent's containerizer does; without cgroups, "in it" means the executor's process group and the
 * process groups of its descendants.
 */
import { Effect, Fiber, FileSystem, Path, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import * as TaskExit from "../command/TaskExit.js"

/** The PATH a Mesos agent gives an executor whose environment has none (the host's default path). */
export const agentDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/** What runs in the container: a program with its arguments, or a script for `sh -c`. */
export type ExecutorCommand =
  | { readonly _tag: "Program"; readonly program: string; readonly args: ReadonlyArray<string> }
  | { readonly _tag: "Shell"; readonly script: string }

export const describeCommand = (command: ExecutorCommand): string =>
  command._tag === "Shell" ? `sh -c ${JSON.stringify(command.script)}` : [command.program, ...command.args].join(" ")

/** How the executor process ended: as a task's process does. */
export type ProcessExit = TaskExit.TaskExit

export const describeExit = (exit: ProcessExit): string =>
  exit._tag === "Exited" ? `exited with code ${exit.code}` : `killed by ${exit.signal}`

/** Which of the executor's output files a line went to. */
export type OutputStream = "stdout" | "stderr"

export interface ExecutorContainer {
  readonly pid: number
  readonly sandbox: string
  /** Waits for the executor process to end. */
  readonly exit: Effect.Effect<ProcessExit>
  /** Kills every process of the container with SIGKILL. */
  readonly destroy: Effect.Effect<void>
}

/** The executor process could not be started. */
export class ContainerLaunchError extends Schema.TaggedError<ContainerLaunchError>()("ContainerLaunchError", {
  command: Schema.String,
  sandbox: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `could not start the executor (${this.command}) in ${this.sandbox}: ${this.detail}`
  }
}

export interface LaunchOptions {
  readonly command: ExecutorCommand
  /** The environment the agent gives the executor (`MESOS_*`, `LIBPROCESS_PORT`). */
  readonly environment: Readonly<Record<string, string>>
  /** Created if missing. */
  readonly sandbox: string
  /** Also receives each line the executor writes, after it reached its file. */
  readonly onOutput?: ((stream: OutputStream, line: string) => Effect.Effect<void>) | undefined
}

/** Starts the executor in a new container; the container is destroyed with the scope. */
export const launch = Effect.fnUntraced(function*(options: LaunchOptions) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const command = describeCommand(options.command)
  const failed = (detail: string) => new ContainerLaunchError({ command, sandbox: options.sandbox, detail })

  yield* fs.makeDirectory(options.sandbox, { recursive: true }).pipe(Effect.mapError((error) => failed(error.message)))
  const outputFile = (stream: OutputStream) =>
    fs.open(path.join(options.sandbox, stream), { flag: "w" }).pipe(Effect.mapError((error) => failed(error.message)))
  const files = { stdout: yield* outputFile("stdout"), stderr: yield* outputFile("stderr") }

  const [program, args] = options.command._tag === "Shell"
    ? ["sh", ["-c", options.command.script]] as const
    : [options.command.program, options.command.args] as const
  const handle = yield* spawner.spawn(ChildProcess.make(program, args, {
    cwd: options.sandbox,
    env: { PATH: agentDefaultPath, ...options.environment },
    extendEnv: false,
    stdin: "ignore",
    // What is left of the container when the scope closes is killed outright, as by the agent.
    killSignal: "SIGKILL"
  })).pipe(Effect.mapError((error) => failed(error.message)))

  const capture = (stream: OutputStream, output: Stream.Stream<Uint8Array, unknown>) => {
    const written = Stream.tap(output, (chunk) => files[stream].writeAll(chunk))
    const onOutput = options.onOutput
    return (onOutput === undefined
      ? Stream.runDrain(written)
      : written.pipe(Stream.decodeText(), Stream.splitLines, Stream.runForEach((line) => onOutput(stream, line))))
      .pipe(Effect.ignore)
  }
  const captured = yield* Effect.forkScoped(
    Effect.all([capture("stdout", handle.stdout), capture("stderr", handle.stderr)], { concurrency: 2 })
  )

  const exit = TaskExit.await(handle).pipe(
    Effect.catch(() => Effect.succeed(TaskExit.TaskExit.Signaled({ signal: "an unknown signal" }))),
    // Let the last output reach the files, without waiting for processes that inherited the pipes and
    // outlive the executor.
    Effect.tap(() => Effect.ignore(Effect.timeout(Fiber.await(captured), "500 millis")))
  )

  // As the agent's freezer does: stop the executor first, so that it can neither exit by itself nor leave
  // orphans while its descendants are looked up, then kill everything.
  const destroy = Effect.gen(function*() {
    signal(handle.pid, "SIGSTOP")
    const groups = yield* containerProcessGroups(spawner, handle.pid)
    for (const group of groups) signal(group, "SIGKILL")
  })
  yield* Effect.addFinalizer(() => destroy)

  return { pid: handle.pid, sandbox: options.sandbox, exit: yield* Effect.cached(exit), destroy } satisfies ExecutorContainer
})

/** Signals a process group; one that is gone already needs nothing more. */
const signal = (group: number, name: NodeJS.Signals): void => {
  try {
    process.kill(-group, name)
  } catch {
    // ESRCH: no such process group.
  }
}

/**
 * The process groups of `pid` and its descendants, as `ps` lists them, without this process's own
 * group; just `pid`'s group when `ps` is not there.
 */
const containerProcessGroups = (spawner: ChildProcessSpawner.ChildProcessSpawner["Service"], pid: number) =>
  spawner.lines(ChildProcess.make("ps", ["-A", "-o", "pid=,ppid=,pgid="])).pipe(
    Effect.map((lines) => {
      const processes = lines.map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number])
      const ownGroup = processes.find(([candidate]) => candidate === process.pid)?.[2]
      const members = new Set([pid])
      // Parents are listed before their children only by chance: repeat until nothing new is found.
      for (let found = true; found;) {
        found = false
        for (const [child, parent] of processes) {
          if (members.has(parent) && !members.has(child)) {
            members.add(child)
            found = true
          }
        }
      }
      const groups = new Set([pid])
      for (const [member, , group] of processes) if (members.has(member)) groups.add(group)
      if (ownGroup !== undefined) groups.delete(ownGroup)
      return [...groups]
    }),
    Effect.orElseSucceed(() => [pid])
  )
