/**
 * RecordIO, the framing of the Mesos SUBSCRIBE response body:
 * `records = *record; record = record-size LF record-data`, where `record-size`
 * is 1 or more ASCII decimal digits giving the exact byte length of
 * `record-data`. There is no delimiter after the data, and HTTP chunk
 * boundaries bear no relation to record boundaries.
 *
 * Decoded records are, where possible, views (`subarray`) into the input
 * chunks: a record that lies inside one chunk is not copied, and it keeps that
 * chunk alive for as long as it is referenced. Input chunks must not be
 * mutated after they are handed to a decoder.
 */
import { Array as Arr, Cause, Effect, Pull, Result, Schema, Stream } from "effect"

/**
 * The largest record a decoder accepts unless told otherwise: 64 MiB.
 *
 * The Mesos agent imposes no limit; this one exists so that a corrupt or
 * hostile length header cannot make the decoder allocate without bound. Nor
 * does a header within the limit allocate what it declares: a record that
 * spans chunks is buffered as its bytes arrive (64 KiB, then doubling), so a
 * decoder holds at most about twice the bytes received of its current record,
 * and never more than its limit.
 */
export const defaultMaxRecordBytes = 64 * 1024 * 1024

// The first buffer of a record that spans chunks, unless the record is smaller.
const minPartialBytes = 64 * 1024

// Enough for any uint64, the type of the length the Mesos encoder writes.
const maxHeaderDigits = 20

const LF = 0x0a
const DIGIT_0 = 0x30

/**
 * A RecordIO byte stream that is not valid, or not acceptable under the
 * decoder's limits. The decoder that reports it stays failed.
 *
 * `reason`:
 * - `InvalidHeader`: a record-size header held a byte other than a decimal
 *   digit, or was empty (a bare LF).
 * - `HeaderTooLong`: a record-size header ran past 20 digits (more than any uint64 needs).
 * - `RecordTooLarge`: a record declared more bytes than `maxRecordBytes`.
 * - `Truncated`: the stream ended inside a record (its header or its data).
 *
 * `offset` is the stream offset (bytes from the start of the stream) of the
 * byte at which the problem was detected; for `Truncated` it is the length of
 * the stream. The other fields depend on `reason`:
 *
 * - `InvalidHeader`: `byte`, the offending byte value.
 * - `RecordTooLarge`: `declaredLength`, exact even beyond 2^53, and `maxRecordBytes`.
 * - `Truncated`: `received`, the bytes of record data received, and `expected`,
 *   the declared record length; when the stream ended inside a header,
 *   `expected` is absent and `received` counts the header digits.
 */
export class RecordIOError extends Schema.TaggedError<RecordIOError>()("RecordIOError", {
  reason: Schema.Literals(["InvalidHeader", "HeaderTooLong", "RecordTooLarge", "Truncated"]),
  offset: Schema.Number,
  byte: Schema.optional(Schema.Number),
  declaredLength: Schema.optional(Schema.BigInt),
  maxRecordBytes: Schema.optional(Schema.Number),
  expected: Schema.optional(Schema.Number),
  received: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    switch (this.reason) {
      case "InvalidHeader":
        return this.byte === LF
          ? `Invalid RecordIO header at stream offset ${this.offset}: empty record size (LF without digits)`
          : `Invalid RecordIO header at stream offset ${this.offset}: byte ${describeByte(this.byte)} where a ` +
            `decimal digit or the LF ending the record size was expected; the body is not RecordIO or is corrupt`
      case "HeaderTooLong":
        return `Invalid RecordIO header at stream offset ${this.offset}: record size has more than ` +
          `${maxHeaderDigits} digits`
      case "RecordTooLarge":
        return `RecordIO record declared at stream offset ${this.offset} is ${this.declaredLength} bytes, more than ` +
          `maxRecordBytes (${this.maxRecordBytes}): the stream is corrupt, or holds a record larger than this ` +
          `decoder accepts`
      case "Truncated":
        return this.expected === undefined
          ? `RecordIO stream ended at offset ${this.offset} inside a record header (${this.received} digit(s), no LF)`
          : `RecordIO stream ended at offset ${this.offset} inside a record: expected ${this.expected} bytes of ` +
            `record data, received ${this.received}`
    }
  }
}

const describeByte = (byte: number | undefined): string => {
  if (byte === undefined) return "(unknown)"
  const hex = `0x${byte.toString(16).padStart(2, "0")}`
  return byte >= 0x20 && byte < 0x7f ? `${hex} ('${String.fromCharCode(byte)}')` : hex
}

export interface DecoderOptions {
  /**
   * Largest record accepted, in bytes; a header declaring more fails with
   * `RecordTooLarge` before anything is allocated. A non-negative safe
   * integer; defaults to {@link defaultMaxRecordBytes}.
   */
  readonly maxRecordBytes?: number | undefined
}

/**
 * A pure, synchronous, incremental RecordIO decoder: feed it the chunks of a
 * byte stream in order, whatever their boundaries, and it hands back each
 * record as soon as its last byte arrives.
 *
 * Once it has reported an error, every later call reports the same error.
 */
export interface Decoder {
  /**
   * Decodes `chunk`, appending each record it completes to `records`.
   *
   * On failure the records completed before the offending byte have still been
   * appended, so a consumer sees the same records whatever the chunking.
   */
  readonly push: (chunk: Uint8Array, records: Array<Uint8Array>) => Result.Result<void, RecordIOError>
  /**
   * Declares the end of the stream: fails with `Truncated` when it ends inside
   * a record, since the agent only ever writes whole records.
   */
  readonly end: () => Result.Result<void, RecordIOError>
}

/**
 * Creates a {@link Decoder}.
 *
 * @throws RangeError when `maxRecordBytes` is not a non-negative safe integer.
 */
export const makeDecoder = (options?: DecoderOptions): Decoder => new RecordDecoder(resolveMaxRecordBytes(options))

const resolveMaxRecordBytes = (options: DecoderOptions | undefined): number => {
  const max = options?.maxRecordBytes ?? defaultMaxRecordBytes
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`RecordIO maxRecordBytes must be a non-negative safe integer, got ${max}`)
  }
  return max
}

class RecordDecoder implements Decoder {
  /** Stream offset of the first byte of the chunk being decoded. */
  private chunkOffset = 0
  private headerDigits = 0
  /** The record length, exact while it is at most `maxRecordBytes`. */
  private length = 0
  /** The exact declared length once it exceeds `maxRecordBytes`; only ever reported. */
  private oversizedLength: bigint | undefined = undefined
  private inData = false
  /**
   * A record that spans chunks, grown (doubling, up to the record's length) as its bytes arrive, so that
   * a header alone cannot make the decoder allocate what it declares.
   */
  private partial: Uint8Array | undefined = undefined
  private filled = 0
  private failure: Result.Result<never, RecordIOError> | undefined = undefined
  private readonly maxRecordBytes: number

  constructor(maxRecordBytes: number) {
    this.maxRecordBytes = maxRecordBytes
  }

  push(chunk: Uint8Array, records: Array<Uint8Array>): Result.Result<void, RecordIOError> {
    if (this.failure !== undefined) return this.failure
    const end = chunk.length
    let i = 0
    while (i < end) {
      if (!this.inData) {
        const byte = chunk[i]!
        const digit = byte - DIGIT_0
        if (digit >= 0 && digit <= 9) {
          if (this.headerDigits === maxHeaderDigits) {
            return this.fail({ reason: "HeaderTooLong", offset: this.chunkOffset + i })
          }
          this.headerDigits++
          this.accumulate(digit)
          i++
          continue
        }
        if (byte !== LF || this.headerDigits === 0) {
          return this.fail({ reason: "InvalidHeader", offset: this.chunkOffset + i, byte })
        }
        if (this.oversizedLength !== undefined) {
          return this.fail({
            reason: "RecordTooLarge",
            offset: this.chunkOffset + i,
            declaredLength: this.oversizedLength,
            maxRecordBytes: this.maxRecordBytes
          })
        }
        i++
        this.headerDigits = 0
        if (this.length === 0) {
          records.push(chunk.subarray(i, i))
        } else {
          this.inData = true
        }
        continue
      }
      const available = end - i
      if (this.partial === undefined) {
        if (available >= this.length) {
          records.push(chunk.subarray(i, i + this.length))
          i += this.length
          this.startHeader()
        } else {
          this.partial = new Uint8Array(Math.min(this.length, Math.max(available, minPartialBytes)))
          this.partial.set(chunk.subarray(i, end))
          this.filled = available
          i = end
        }
      } else {
        const take = Math.min(this.length - this.filled, available)
        this.partial = this.grown(this.partial, this.filled + take)
        this.partial.set(chunk.subarray(i, i + take), this.filled)
        this.filled += take
        i += take
        if (this.filled === this.length) {
          records.push(this.partial)
          this.partial = undefined
          this.startHeader()
        }
      }
    }
    this.chunkOffset += end
    return Result.void
  }

  end(): Result.Result<void, RecordIOError> {
    if (this.failure !== undefined) return this.failure
    if (this.inData) {
      return this.fail({ reason: "Truncated", offset: this.chunkOffset, expected: this.length, received: this.filled })
    }
    if (this.headerDigits > 0) {
      return this.fail({ reason: "Truncated", offset: this.chunkOffset, received: this.headerDigits })
    }
    return Result.void
  }

  /**
   * Adds a digit to the length while it stays within `maxRecordBytes` (a safe
   * integer, so the number is exact); past that, it carries on as a bigint so
   * the error can name the exact declared length.
   */
  private accumulate(digit: number): void {
    if (this.oversizedLength !== undefined) {
      this.oversizedLength = this.oversizedLength * 10n + BigInt(digit)
      return
    }
    const next = this.length * 10 + digit
    if (next > this.maxRecordBytes) {
      this.oversizedLength = BigInt(this.length) * 10n + BigInt(digit)
    } else {
      this.length = next
    }
  }

  /** `partial`, or a copy large enough for `bytes`: exactly the record's length once it is complete. */
  private grown(partial: Uint8Array, bytes: number): Uint8Array {
    if (bytes <= partial.length) return partial
    const grown = new Uint8Array(Math.min(this.length, Math.max(bytes, partial.length * 2)))
    grown.set(partial.subarray(0, this.filled))
    return grown
  }

  private startHeader(): void {
    this.inData = false
    this.length = 0
    this.filled = 0
  }

  private fail(fields: ConstructorParameters<typeof RecordIOError>[0]): Result.Result<never, RecordIOError> {
    this.failure = Result.fail(new RecordIOError(fields))
    return this.failure
  }
}

/**
 * Decodes a whole RecordIO body given as chunks: all of its records, or the
 * first error (including `Truncated` when it ends inside a record).
 */
export const decodeAll = (
  chunks: Iterable<Uint8Array>,
  options?: DecoderOptions
): Result.Result<Array<Uint8Array>, RecordIOError> => {
  const decoder = makeDecoder(options)
  const records: Array<Uint8Array> = []
  for (const chunk of chunks) {
    const pushed = decoder.push(chunk, records)
    if (Result.isFailure(pushed)) return Result.fail(pushed.failure)
  }
  return Result.map(decoder.end(), () => records)
}

/**
 * Decodes a RecordIO byte stream (such as a SUBSCRIBE response body) into its
 * records, one element per record. The records completed by one upstream pull
 * are emitted together as one batch.
 *
 * The stream fails with {@link RecordIOError} on invalid input, after emitting
 * the records that precede the offending byte, and with `Truncated` when the
 * upstream ends inside a record.
 *
 * @throws RangeError when `maxRecordBytes` is not a non-negative safe integer.
 */
export const decode = (
  options?: DecoderOptions
): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E | RecordIOError, R> => {
  const maxRecordBytes = resolveMaxRecordBytes(options)
  return <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | RecordIOError, R> =>
    Stream.transformPull(self, (upstream) =>
      Effect.sync(() => {
        const decoder = new RecordDecoder(maxRecordBytes)
        // Set when a batch both completed records and failed: the records go
        // out first, the failure on the next pull.
        let pendingFailure: RecordIOError | undefined

        const decodeBatch = (
          chunks: Arr.NonEmptyReadonlyArray<Uint8Array>
        ): Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, E | RecordIOError> => {
          const records: Array<Uint8Array> = []
          for (const chunk of chunks) {
            const pushed = decoder.push(chunk, records)
            if (Result.isFailure(pushed)) {
              if (!Arr.isArrayNonEmpty(records)) return Effect.fail(pushed.failure)
              pendingFailure = pushed.failure
              return Effect.succeed(records)
            }
          }
          return Arr.isArrayNonEmpty(records) ? Effect.succeed(records) : pull
        }

        const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, E | RecordIOError> = Effect.suspend(() =>
          pendingFailure !== undefined
            ? Effect.fail(pendingFailure)
            : Pull.matchEffect(upstream, {
              onSuccess: decodeBatch,
              onFailure: Effect.failCause,
              onDone: (): Pull.Pull<never, RecordIOError> => {
                const ended = decoder.end()
                return Result.isFailure(ended) ? Effect.fail(ended.failure) : Cause.done()
              }
            })
        )
        return pull
      }))
}

/**
 * Frames one record: its decimal length, LF, then its bytes, in a single
 * allocation.
 */
export const encode = (record: Uint8Array): Uint8Array => {
  const headerLength = decimalDigits(record.length) + 1
  const framed = new Uint8Array(headerLength + record.length)
  writeHeader(framed, 0, headerLength, record.length)
  framed.set(record, headerLength)
  return framed
}

/**
 * Frames several records back to back into a single allocation.
 */
export const encodeAll = (records: ReadonlyArray<Uint8Array>): Uint8Array => {
  let total = 0
  for (const record of records) total += decimalDigits(record.length) + 1 + record.length
  const framed = new Uint8Array(total)
  let offset = 0
  for (const record of records) {
    const headerLength = decimalDigits(record.length) + 1
    writeHeader(framed, offset, headerLength, record.length)
    framed.set(record, offset + headerLength)
    offset += headerLength + record.length
  }
  return framed
}

/**
 * Frames a stream of records into a RecordIO byte stream, one chunk per
 * upstream batch of records.
 */
export const encodeStream = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
  Stream.mapArray(self, (records) => Arr.of(encodeAll(records)))

const decimalDigits = (n: number): number => {
  let digits = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    digits++
  }
  return digits
}

/** Writes `length` in decimal and LF into `target[offset, offset + headerLength)`. */
const writeHeader = (target: Uint8Array, offset: number, headerLength: number, length: number): void => {
  let i = offset + headerLength - 1
  target[i] = LF
  do {
    target[--i] = DIGIT_0 + (length % 10)
    length = Math.floor(length / 10)
  } while (length > 0)
}
