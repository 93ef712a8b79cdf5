/**
 * Runs the built `bin/effect-mesos-executor` as users and agents do, as a real process. The bin runs
 * `dist/`, which test/globalSetup.ts brings up to date before any test file starts.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Fiber, Stream } from "effect"
import { ChildProcess } from "effect/process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../..", import.meta.url))
export const bin = Path.join(root, "bin", "effect-mesos-executor")
export const fixture = (name: string) => Path.join(root, "test", "cli", "fixtures", name)

/** The PATH a Mesos agent gives executors. */
export const agentPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

export interface Outcome {
  /** The exit code, or the signal that ended the process. */
  readonly exit: number | string
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  /** Exactly the environment of the process; default this process's. */
  readonly env?: Record<string, string> | undefined
  readonly cwd?: string | undefined
}

/**
 * Runs `program` with `args` to its end, collecting its output. A process it leaves behind may hold
 * its output open: what arrived within a second of its end is what it wrote.
 */
export const run = (program: string, args: ReadonlyArray<string>, options: RunOptions = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* ChildProcess.make(program, args, {
      cwd: options.cwd ?? root,
      stdin: "ignore",
      ...(options.env === undefined ? {} : { env: options.env, extendEnv: false })
    })
    const output = { stdout: "", stderr: "" }
    const collect = (name: keyof typeof output) =>
      handle[name].pipe(
        Stream.decodeText(),
        Stream.runForEach((text) => Effect.sync(() => void (output[name] += text))),
        Effect.forkScoped
      )
    const collecting = [yield* collect("stdout"), yield* collect("stderr")]
    const exit = yield* handle.exitCode.pipe(
      Effect.map(Number),
      Effect.catch((error) => Effect.succeed(/signal: '(\w+)'/.exec(String(error.cause))?.[1] ?? "signal"))
    )
    yield* Fiber.awaitAll(collecting).pipe(Effect.timeoutOption("1 second"))
    return { exit, ...output } satisfies Outcome
  })).pipe(Effect.orDie, Effect.provide(NodeServices.layer))

/** Whether a process runs whose command line is exactly `args`. */
export const processRunning = (args: string) =>
  Effect.map(run("ps", ["-A", "-o", "args="]), (ps) => ps.stdout.split("\n").some((line) => line.trim() === args))

/** Runs the bin. */
export const runBin = (args: ReadonlyArray<string>, options?: RunOptions) => run(bin, args, options)

/** A fresh directory, removed with the scope. */
export const temporaryDirectory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-mesos-executor-cli-test-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** Writes a tasks file into `dir`. */
export const writeTasks = (dir: string, name: string, tasks: unknown): string => {
  const file = Path.join(dir, name)
  Fs.writeFileSync(file, JSON.stringify(tasks, null, 2))
  return file
}
