/**
 * `TaskStatus.uuid`: 16 raw bytes (not the 36-character text) that the agent checks, de-duplicates by,
 * and echoes in ACKNOWLEDGED (SPEC §3.3, §4.2).
 */

/** 16 random bytes with the RFC 4122 version 4 and variant bits. */
export const random = (): Uint8Array => {
  const uuid = crypto.getRandomValues(new Uint8Array(16))
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
