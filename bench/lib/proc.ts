// What Linux says about a process: CPU time (all its threads) and resident memory, from /proc.
import { readdirSync, readFileSync } from "node:fs"

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ); 100 on every Linux the bench targets. */
const ticksPerSecond = 100

/**
 * CPU time (user + system) of the whole process in microseconds, from /proc/<pid>/stat: it counts
 * threads that already exited, in ticks of 10 ms.
 */
export const statCpuMicros = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after "(comm) ": state is [0], utime [11], stime [12].
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond
}

/**
 * CPU time of the live threads of the process in microseconds, from /proc/<pid>/task/<tid>/schedstat
 * (nanosecond precision). Threads that exited are not counted; `statCpuMicros` is the cross-check.
 */
export const schedCpuMicros = (pid: number): number | undefined => {
  try {
    let nanos = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
    }
    return nanos / 1000
  } catch {
    return undefined
  }
}

/**
 * CPU microseconds of the live threads of the process: the main thread (`main`, where Node runs
 * JavaScript) and the others (`other`: V8's GC and compiler helpers, libuv's pool; for Go, every thread
 * but the first).
 */
export const threadCpuMicros = (pid: number): Record<string, number> => {
  const byName: Record<string, number> = {}
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const name = tid === String(pid) ? "main" : "other"
      const nanos = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
      byName[name] = (byName[name] ?? 0) + nanos / 1000
    }
  } catch {
    // The process or a thread went away.
  }
  return byName
}

export interface CpuSample {
  /** schedstat when the kernel keeps it, else stat. */
  readonly micros: number
  readonly statMicros: number
  readonly threads: Record<string, number>
}

export const cpuSample = (pid: number): CpuSample => {
  const statMicros = statCpuMicros(pid)
  return { micros: schedCpuMicros(pid) ?? statMicros, statMicros, threads: threadCpuMicros(pid) }
}

/** Per thread group, the CPU microseconds between two samples, divided by `per`. */
export const threadDelta = (before: CpuSample, after: CpuSample, per: number): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after.threads)
      .map(([name, micros]) => [name, (micros - (before.threads[name] ?? 0)) / per] as const)
      .filter(([, micros]) => micros > 0.05)
      .sort((a, b) => b[1] - a[1])
  )

/** Resident set size in MiB (VmRSS of /proc/<pid>/status). */
export const rssMiB = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status)
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) / 1024
}

export const cpuModel = (): string => {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8")
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? "unknown"
    const count = info.match(/^processor\s*:/gm)?.length ?? 0
    return `${model.trim()} x ${count}`
  } catch {
    return "unknown"
  }
}
