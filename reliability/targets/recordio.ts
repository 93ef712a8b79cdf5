// RecordIO.makeDecoder / push / end against arbitrary bytes cut into arbitrary chunks, with a small and
// the default maxRecordBytes, checked against a reference decoder written from the grammar.
import { Result } from "effect"
import { RecordIO } from "effect-mesos-executor"
import * as fc from "fast-check"
import { firstProblem, isResult, messageMentions } from "../messages.ts"
import type { Tally, Target } from "../runner.ts"

const LF = 0x0a
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0))
  let offset = 0
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  return bytes
}

// --- the reference: the grammar, read byte by byte, with the documented error fields ---------------

interface Expected {
  readonly records: ReadonlyArray<Uint8Array>
  readonly error?: {
    readonly reason: "InvalidHeader" | "HeaderTooLong" | "RecordTooLarge" | "Truncated"
    readonly offset: number
    readonly byte?: number
    readonly declaredLength?: bigint
    readonly expected?: number
    readonly received?: number
  }
}

const reference = (bytes: Uint8Array, maxRecordBytes: number): Expected => {
  const records: Array<Uint8Array> = []
  let i = 0
  while (i < bytes.length) {
    let digits = 0
    let declared = 0n
    while (i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) {
      if (digits === 20) return { records, error: { reason: "HeaderTooLong", offset: i } }
      digits++
      declared = declared * 10n + BigInt(bytes[i]! - 0x30)
      i++
    }
    if (i === bytes.length) return { records, error: { reason: "Truncated", offset: i, received: digits } }
    if (bytes[i] !== LF || digits === 0) {
      return { records, error: { reason: "InvalidHeader", offset: i, byte: bytes[i]! } }
    }
    if (declared > BigInt(maxRecordBytes)) {
      return { records, error: { reason: "RecordTooLarge", offset: i, declaredLength: declared } }
    }
    i++
    const length = Number(declared)
    if (bytes.length - i < length) {
      return { records, error: { reason: "Truncated", offset: bytes.length, expected: length, received: bytes.length - i } }
    }
    records.push(bytes.subarray(i, i + length))
    i += length
  }
  return { records }
}

// --- inputs --------------------------------------------------------------------------------------

/** Bytes that look like RecordIO now and then: headers of every size, digit runs, LFs, noise. */
const recordIOish: fc.Arbitrary<Uint8Array> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 24 }) },
    { weight: 3, arbitrary: fc.nat({ max: 64 }).map((n) => ascii(`${n}\n`)) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 23n }).map((n) => ascii(`${n}\n`)) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{0,24}$/).map(ascii) },
    { weight: 1, arbitrary: fc.constant(Uint8Array.of(LF)) }
  ),
  { maxLength: 24 }
).map(concat)

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 512 }), recordIOish)

/** Where to cut the stream, as fractions of its length. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 16 })

/** `undefined` for the default (64 MiB), or a small limit. */
const maxRecordBytes = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 64 }))

const chunked = (bytes: Uint8Array, fractions: ReadonlyArray<number>): Array<Uint8Array> => {
  const positions = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const position of [...positions, bytes.length]) {
    chunks.push(bytes.subarray(from, position))
    from = position
  }
  return chunks
}

// --- the check -------------------------------------------------------------------------------------

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

interface Decoded {
  readonly records: ReadonlyArray<Uint8Array>
  readonly error: RecordIO.RecordIOError | undefined
}

/** Feeds `chunks` to a decoder, then `end`; checks every call returns a Result and a failed decoder stays failed. */
const decode = (chunks: ReadonlyArray<Uint8Array>, max: number | undefined): Decoded | string => {
  const decoder = RecordIO.makeDecoder(max === undefined ? undefined : { maxRecordBytes: max })
  const records: Array<Uint8Array> = []
  for (const chunk of chunks) {
    const pushed = decoder.push(chunk, records)
    if (!isResult(pushed)) return `push returned ${String(pushed)}, not a Result`
    if (Result.isFailure(pushed)) {
      const again = decoder.push(Uint8Array.of(0x31, LF, 0x41), [])
      const ended = decoder.end()
      if (!Result.isFailure(again) || again.failure !== pushed.failure) return "a failed decoder accepted more input"
      if (!Result.isFailure(ended) || ended.failure !== pushed.failure) return "a failed decoder's end() did not fail alike"
      return { records, error: pushed.failure }
    }
  }
  const ended = decoder.end()
  if (!isResult(ended)) return `end returned ${String(ended)}, not a Result`
  return { records, error: Result.isFailure(ended) ? ended.failure : undefined }
}

const checkError = (error: RecordIO.RecordIOError, expected: Expected["error"], max: number): string | undefined => {
  if (!(error instanceof RecordIO.RecordIOError) || error._tag !== "RecordIOError") {
    return `the error is not a RecordIOError: ${String(error)}`
  }
  if (expected === undefined) return `failed with ${error.message}, but the stream is valid`
  return firstProblem(
    () =>
      error.reason !== expected.reason || error.offset !== expected.offset
        ? `got ${error.reason} at ${error.offset}, expected ${expected.reason} at ${expected.offset}: ${error.message}`
        : undefined,
    () => (expected.byte !== undefined && error.byte !== expected.byte ? `byte ${error.byte} ≠ ${expected.byte}` : undefined),
    () =>
      expected.declaredLength !== undefined &&
        (error.declaredLength !== expected.declaredLength || error.maxRecordBytes !== max)
        ? `declaredLength ${error.declaredLength}/max ${error.maxRecordBytes}, expected ${expected.declaredLength}/${max}`
        : undefined,
    () =>
      expected.reason === "Truncated" && (error.expected !== expected.expected || error.received !== expected.received)
        ? `Truncated expected/received ${error.expected}/${error.received}, reference ${expected.expected}/${expected.received}`
        : undefined,
    // Acting on it: where (the offset), and for a bad byte or a too-large record, which and how large.
    () =>
      messageMentions(error.message, [
        `offset ${expected.offset}`,
        ...(expected.reason === "RecordTooLarge" ? [String(expected.declaredLength), `(${max})`] : [])
      ])
  )
}

export const checkDecoding = (
  bytes: Uint8Array,
  fractions: ReadonlyArray<number>,
  max: number | undefined,
  tally: Tally
): string | undefined => {
  const limit = max ?? RecordIO.defaultMaxRecordBytes
  const expected = reference(bytes, limit)
  const decoded = decode(chunked(bytes, fractions), max)
  if (typeof decoded === "string") return decoded
  tally.count(decoded.error?.reason ?? "valid")
  if (decoded.records.length !== expected.records.length) {
    return `${decoded.records.length} records, expected ${expected.records.length}`
  }
  let total = 0
  for (const [i, record] of decoded.records.entries()) {
    total += record.length
    if (record.length > limit) return `record ${i} has ${record.length} bytes, over maxRecordBytes ${limit}`
    if (!sameBytes(record, expected.records[i]!)) return `record ${i} differs from the reference`
  }
  if (total > bytes.length) return `records hold ${total} bytes, more than the ${bytes.length} given`
  if (decoded.error === undefined) return expected.error === undefined ? undefined : `no error, expected ${expected.error.reason}`
  return checkError(decoded.error, expected.error, limit)
}

export const arbitraryBytes: Target<{ bytes: Uint8Array; cuts: Array<number>; max: number | undefined }> = {
  name: "recordio.arbitrary",
  description: "RecordIO decoder: arbitrary and RecordIO-like bytes, arbitrary chunking, maxRecordBytes 0-64 or default",
  arbitrary: fc.record({ bytes: anyBytes, cuts, max: maxRecordBytes }),
  check: ({ bytes, cuts, max }, tally) => checkDecoding(bytes, cuts, max, tally)
}

/** Valid records, then garbage: the valid records come out first, whatever the chunking. */
export const validPrefix: Target<{
  records: Array<Uint8Array>
  garbage: Uint8Array
  cuts: Array<number>
  max: number | undefined
}> = {
  name: "recordio.valid-prefix",
  description: "RecordIO decoder: valid records followed by garbage; the valid records (up to one over the limit) come out",
  arbitrary: fc.record({
    records: fc.array(fc.uint8Array({ maxLength: 160 }), { maxLength: 10 }),
    garbage: anyBytes,
    cuts,
    max: maxRecordBytes
  }),
  check: ({ cuts, garbage, max, records }, tally) => {
    const framed = records.map((record) => concat([ascii(`${record.length}\n`), record]))
    const bytes = concat([...framed, garbage])
    const limit = max ?? RecordIO.defaultMaxRecordBytes
    const decoded = decode(chunked(bytes, cuts), max)
    if (typeof decoded === "string") return decoded
    // Every record up to the first one over the limit comes out, in order; that one fails RecordTooLarge.
    const tooLarge = records.findIndex((record) => record.length > limit)
    const prefix = tooLarge < 0 ? records : records.slice(0, tooLarge)
    for (const [i, record] of prefix.entries()) {
      if (decoded.records[i] === undefined || !sameBytes(decoded.records[i]!, record)) {
        return `valid record ${i} of ${prefix.length} did not come out intact`
      }
    }
    if (tooLarge >= 0) {
      const lf = framed.slice(0, tooLarge).reduce((total, part) => total + part.length, 0) +
        String(records[tooLarge]!.length).length
      if (decoded.records.length !== tooLarge || decoded.error?.reason !== "RecordTooLarge" || decoded.error.offset !== lf) {
        return `record ${tooLarge} is over the limit: expected RecordTooLarge at ${lf} after ${tooLarge} records, ` +
          `got ${decoded.error?.message ?? "no error"} after ${decoded.records.length}`
      }
    }
    return checkDecoding(bytes, cuts, max, tally)
  }
}
