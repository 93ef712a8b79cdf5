// Shared by the fuzz and soak scripts: command-line flags and memory figures.

/** The number after `name` on the command line (`--updates 1000`), or `fallback`. */
export const flag = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(name)
  if (index < 0) return fallback
  const value = Number(process.argv[index + 1]?.replaceAll("_", ""))
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`${name} needs a non-negative integer, got ${JSON.stringify(process.argv[index + 1])}`)
    process.exit(2)
  }
  return value
}

/** The string after `name` on the command line, or undefined. */
export const option = (name: string): string | undefined => {
  const index = process.argv.indexOf(name)
  return index < 0 ? undefined : process.argv[index + 1]
}

export interface MemorySample {
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}

export const sampleMemory = (): MemorySample => {
  const { arrayBuffers, external, heapUsed, rss } = process.memoryUsage()
  return { rss, heapUsed, external, arrayBuffers }
}

export const formatMiB = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

/** A full collection when Node runs with --expose-gc; otherwise nothing. */
export const gcIfExposed = (): void => {
  if (typeof globalThis.gc === "function") globalThis.gc()
}
