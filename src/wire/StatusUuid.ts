/**
 * `TaskStatus.uuid`: 16 raw bytes (not the 36-character text) that the agent checks, de-duplicates by,
 * and echoes in ACKNOWLEDGED (SPEC §3.3, §4.2).
 */

// Random bytes are drawn 4 KiB at a time: one call into the system's generator per 256 uuids instead of
// one per status update.
const pool = new Uint8Array(4096)
let poolOffset = pool.length

/** 16 random bytes with the RFC 4122 version 4 and variant bits, in a buffer of their own. */
export const random = (): Uint8Array => {
  if (poolOffset === pool.length) {
    crypto.getRandomValues(pool)
    poolOffset = 0
  }
  const uuid = pool.slice(poolOffset, poolOffset + 16)
  poolOffset += 16
  uuid[6] = (uuid[6]! & 0x0f) | 0x40
  uuid[8] = (uuid[8]! & 0x3f) | 0x80
  return uuid
}

/** What the agent accepts: 16 bytes with a version (1-5) in the high nibble of byte 6, as Boost's `uuid::version` reads it. */
export const isValid = (uuid: Uint8Array): boolean => {
  if (uuid.length !== 16) return false
  const version = uuid[6]! >> 4
  return version >= 1 && version <= 5
}

/**
 * Lower-case hex of the bytes: a map key that compares by value. One flat string: the ledger keeps one per
 * pending update, and a string built by appending costs ten times the memory.
 */
export const toHex = (uuid: Uint8Array): string => Buffer.from(uuid.buffer, uuid.byteOffset, uuid.byteLength).toString("hex")
