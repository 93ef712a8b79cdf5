/** The golden wire vectors of ../shared/mesos/vectors (see its README.md), read where they are. */
import { readFileSync } from "node:fs"

export const vectorsDirectory = new URL("../../../shared/mesos/vectors/", import.meta.url)

export const readVector = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, vectorsDirectory)))

export const readVectorText = (name: string): string => readFileSync(new URL(name, vectorsDirectory), "utf8")

/** The events of both golden streams, in order. */
export const streamEventNames = [
  "subscribed",
  "launch",
  "launch-group",
  "heartbeat",
  "acknowledged",
  "message",
  "kill",
  "shutdown"
] as const
