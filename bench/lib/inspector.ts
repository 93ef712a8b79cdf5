// The V8 heap of a Node executor started with `--inspect=127.0.0.1:0`, through its inspector: a full
// GC, then the heap's used size. RSS alone cannot tell retained memory from heap that V8 keeps after
// a burst of garbage; the used heap after a GC can.
import { readFileSync } from "node:fs"

export interface HeapInspector {
  /** Bytes of live JavaScript heap after a full garbage collection. */
  readonly heapUsedAfterGc: () => Promise<number>
  readonly close: () => void
}

/** Node prints the inspector's address to stderr once it listens. */
const inspectorUrl = async (logFile: string, timeoutMs: number): Promise<string> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    let log = ""
    try {
      log = readFileSync(logFile, "utf8")
    } catch {
      // not created yet
    }
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(log)?.[1]
    if (url !== undefined) return url
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`no inspector address in ${logFile}`)
}

export const connect = async (logFile: string, timeoutMs = 10_000): Promise<HeapInspector> => {
  const socket = new WebSocket(await inspectorUrl(logFile, timeoutMs))
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true })
    socket.addEventListener("error", () => reject(new Error("cannot connect to the inspector")), { once: true })
  })
  let nextId = 1
  const waiting = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>()
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } }
    if (message.id !== undefined) waiting.get(message.id)?.(message)
  })
  const call = (method: string) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++
      waiting.set(id, (message) => {
        waiting.delete(id)
        if (message.error !== undefined) reject(new Error(`${method}: ${message.error.message}`))
        else resolve(message.result)
      })
      socket.send(JSON.stringify({ id, method }))
    })
  return {
    heapUsedAfterGc: async () => {
      await call("HeapProfiler.collectGarbage")
      const usage = (await call("Runtime.getHeapUsage")) as { usedSize: number }
      return usage.usedSize
    },
    close: () => socket.close()
  }
}
