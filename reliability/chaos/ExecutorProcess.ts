// The executor under test, `bin/effect-mesos-executor command`, started as an agent starts an executor
// (only the agent's environment with the host's default PATH, the sandbox as working directory, no
// stdin, its own process group), and what it leaves behind once it exits.
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const bin = fileURLToPath(new URL("../../bin/effect-mesos-executor", import.meta.url))

/** The PATH a Mesos agent gives an executor whose environment has none. */
const agentDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/** How the process ended, and when (clock milliseconds). */
export type ProcessExit =
  | { readonly _tag: "Exited"; readonly code: number; readonly at: number }
  | { readonly _tag: "Signaled"; readonly signal: string; readonly at: number }

export interface ExecutorProcess {
  readonly pid: number
  /** stdout and stderr, interleaved as they arrived. */
  readonly output: () => string
  /** Waits for the process to end. */
  readonly exit: Effect.Effect<ProcessExit>
  readonly exited: () => ProcessExit | undefined
  /** The processes of its tasks still alive the moment it exited (read then, from /proc). */
  readonly leftBehind: () => ReadonlyArray<Survivor>
}

/** Starts the executor; it is SIGKILLed with its process group if still running when the scope closes. */
export const start = (environment: Readonly<Record<string, string>>, sandbox: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(bin, ["command"], {
        env: { PATH: agentDefaultPath, ...environment },
        cwd: sandbox,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true
      })
      let output = ""
      let exited: ProcessExit | undefined
      let leftBehind: ReadonlyArray<Survivor> = []
      child.stdout.on("data", (chunk) => (output += chunk))
      child.stderr.on("data", (chunk) => (output += chunk))
      const exit = new Promise<ProcessExit>((resolve) =>
        child.on("exit", (code, signal) => {
          const at = Date.now()
          leftBehind = survivors(sandbox, child.pid!)
          exited = signal === null ? { _tag: "Exited", code: code ?? -1, at } : { _tag: "Signaled", signal, at }
          resolve(exited)
        })
      )
      return {
        pid: child.pid!,
        output: () => output,
        exit: Effect.promise(() => exit),
        exited: () => exited,
        leftBehind: () => leftBehind
      } satisfies ExecutorProcess
    }),
    (executor) =>
      Effect.sync(() => {
        if (executor.exited() === undefined) killGroup(executor.pid)
      })
  )

export interface Survivor {
  readonly pid: number
  readonly commandLine: string
}

/**
 * The live processes the executor started in `sandbox`, not counting itself: every task inherits the
 * executor's environment, so each carries `MESOS_SANDBOX=<sandbox>` (zombies, which have no environment
 * left, are dead already). Read from /proc.
 */
export const survivors = (sandbox: string, executorPid: number): Array<Survivor> => {
  const marker = Buffer.from(`MESOS_SANDBOX=${sandbox}\0`)
  const found: Array<Survivor> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid || pid === executorPid) continue
    const environ = readProc(pid, "environ")
    if (environ === undefined || !environ.includes(marker)) continue
    const stat = readProc(pid, "stat")?.toString("latin1")
    // The state follows the command name in parentheses, which may itself hold any character.
    if (stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") continue
    found.push({ pid, commandLine: readProc(pid, "cmdline")?.toString("utf8").replaceAll("\0", " ").trim() ?? "?" })
  }
  return found
}

const readProc = (pid: number, file: string): Buffer | undefined => {
  try {
    return readFileSync(`/proc/${pid}/${file}`)
  } catch {
    // Gone meanwhile, or not ours.
    return undefined
  }
}

/** SIGKILLs the process group led by `pid`, or the process alone if it leads none. */
export const killGroup = (pid: number): void => {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL")
      return
    } catch {
      // No such group (or process): try the next, else it is gone already.
    }
  }
}
