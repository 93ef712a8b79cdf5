/**
 * How a task's process ended, worded as the Mesos command and default executors word it in the
 * terminal status message: `"Command " + WSTRINGIFY(status)`, that is "Command exited with status 3"
 * or "Command terminated with signal Killed" (the signal's `strsignal` description, as glibc gives it).
 */
import { Data, Effect, type PlatformError } from "effect"
import type { ChildProcessSpawner } from "effect/process"

export type TaskExit = Data.TaggedEnum<{
  readonly Exited: { readonly code: number }
  readonly Signaled: { readonly signal: string }
}>

export const TaskExit = Data.taggedEnum<TaskExit>()

// glibc's strsignal() texts, which Mesos puts in its messages.
const signalDescriptions: Readonly<Record<string, string>> = {
  SIGHUP: "Hangup",
  SIGINT: "Interrupt",
  SIGQUIT: "Quit",
  SIGILL: "Illegal instruction",
  SIGTRAP: "Trace/breakpoint trap",
  SIGABRT: "Aborted",
  SIGIOT: "Aborted",
  SIGBUS: "Bus error",
  SIGFPE: "Floating point exception",
  SIGKILL: "Killed",
  SIGUSR1: "User defined signal 1",
  SIGSEGV: "Segmentation fault",
  SIGUSR2: "User defined signal 2",
  SIGPIPE: "Broken pipe",
  SIGALRM: "Alarm clock",
  SIGTERM: "Terminated",
  SIGSTKFLT: "Stack fault",
  SIGCHLD: "Child exited",
  SIGCONT: "Continued",
  SIGSTOP: "Stopped (signal)",
  SIGTSTP: "Stopped",
  SIGTTIN: "Stopped (tty input)",
  SIGTTOU: "Stopped (tty output)",
  SIGURG: "Urgent I/O condition",
  SIGXCPU: "CPU time limit exceeded",
  SIGXFSZ: "File size limit exceeded",
  SIGVTALRM: "Virtual timer expired",
  SIGPROF: "Profiling timer expired",
  SIGWINCH: "Window changed",
  SIGIO: "I/O possible",
  SIGPOLL: "I/O possible",
  SIGPWR: "Power failure",
  SIGSYS: "Bad system call"
}

/** "exited with status 3", "terminated with signal Killed": stout's `WSTRINGIFY`. */
export const describe = (exit: TaskExit): string =>
  TaskExit.$match(exit, {
    Exited: ({ code }) => `exited with status ${code}`,
    Signaled: ({ signal }) => `terminated with signal ${signalDescriptions[signal] ?? signal}`
  })

export const isSuccess = (exit: TaskExit): boolean => exit._tag === "Exited" && exit.code === 0

// The spawner reports a death by signal only as a failed `exitCode` whose cause reads
// "Process interrupted due to receipt of signal: 'SIGKILL'".
const signalInError = (error: PlatformError.PlatformError): string | undefined => {
  const texts = [error.message, error.cause instanceof Error ? error.cause.message : String(error.cause)]
  for (const text of texts) {
    const signal = /signal: '(SIG[A-Z0-9]+)'/.exec(text)?.[1]
    if (signal !== undefined) return signal
  }
  return undefined
}

/**
 * Waits for the process to exit. Fails only when the exit cannot be told: neither an exit status nor
 * a signal.
 */
export const await_ = (
  handle: ChildProcessSpawner.ChildProcessHandle
): Effect.Effect<TaskExit, PlatformError.PlatformError> =>
  handle.exitCode.pipe(
    Effect.map((code): TaskExit => TaskExit.Exited({ code })),
    Effect.catch((error) => {
      const signal = signalInError(error)
      return signal === undefined ? Effect.fail(error) : Effect.succeed(TaskExit.Signaled({ signal }))
    })
  )

export { await_ as await }
