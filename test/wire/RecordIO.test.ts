import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Result, Stream } from "effect"
import * as fc from "fast-check"
import * as RecordIO from "../../src/wire/RecordIO.js"
import { readVector, streamEventNames } from "../support/vectors.js"


const LF = 0x0a
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (record: Uint8Array): string => new TextDecoder().decode(record)

/** Splits `data` before each of the given offsets. */
const splitAt = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    chunks.push(data.subarray(from, cut))
    from = cut
  }
  chunks.push(data.subarray(from))
  return chunks
}

const bytewise = (data: Uint8Array): Array<Uint8Array> => Array.from(data, (_, i) => data.subarray(i, i + 1))

const decodeAllOk = (chunks: Iterable<Uint8Array>, options?: RecordIO.DecoderOptions): Array<Uint8Array> => {
  const decoded = RecordIO.decodeAll(chunks, options)
  if (Result.isFailure(decoded)) assert.fail(`unexpected ${decoded.failure.message}`)
  return decoded.success
}

const decodeAllError = (chunks: Iterable<Uint8Array>, options?: RecordIO.DecoderOptions): RecordIO.RecordIOError => {
  const decoded = RecordIO.decodeAll(chunks, options)
  if (Result.isSuccess(decoded)) assert.fail(`expected a RecordIOError, decoded ${decoded.success.length} records`)
  return decoded.failure
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

const assertRecords = (actual: ReadonlyArray<Uint8Array>, expected: ReadonlyArray<Uint8Array>): void => {
  assert.strictEqual(actual.length, expected.length, "record count")
  actual.forEach((record, i) => {
    // The byte-wise comparison only runs to show a readable difference.
    if (!sameBytes(record, expected[i]!)) {
      assert.deepStrictEqual(Array.from(record), Array.from(expected[i]!), `record ${i}`)
    }
  })
}

/** What a consumer of a decoder observes: the records, then possibly an error. */
interface Outcome {
  readonly records: Array<Array<number>>
  readonly error: Record<string, unknown> | undefined
}

const errorFields = (error: RecordIO.RecordIOError): Record<string, unknown> => ({
  reason: error.reason,
  offset: error.offset,
  byte: error.byte,
  declaredLength: error.declaredLength,
  maxRecordBytes: error.maxRecordBytes,
  expected: error.expected,
  received: error.received
})

const outcomeOf = (chunks: ReadonlyArray<Uint8Array>, options?: RecordIO.DecoderOptions): Outcome => {
  const decoder = RecordIO.makeDecoder(options)
  const records: Array<Uint8Array> = []
  const toOutcome = (error: RecordIO.RecordIOError | undefined): Outcome => ({
    records: records.map((record) => Array.from(record)),
    error: error === undefined ? undefined : errorFields(error)
  })
  for (const chunk of chunks) {
    const pushed = decoder.push(chunk, records)
    if (Result.isFailure(pushed)) return toOutcome(pushed.failure)
  }
  const ended = decoder.end()
  return toOutcome(Result.isFailure(ended) ? ended.failure : undefined)
}

/**
 * The grammar read straight off the spec, over the whole input at once:
 * `record = 1*20DIGIT LF <that many bytes>`, limited to `maxRecordBytes`.
 */
const referenceOutcome = (data: Uint8Array, maxRecordBytes: number): Outcome => {
  const records: Array<Array<number>> = []
  const error = (fields: Record<string, unknown>): Outcome => ({
    records,
    error: {
      byte: undefined,
      declaredLength: undefined,
      maxRecordBytes: undefined,
      expected: undefined,
      received: undefined,
      ...fields
    }
  })
  let i = 0
  while (i < data.length) {
    let digits = ""
    while (i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39) {
      if (digits.length === 20) return error({ reason: "HeaderTooLong", offset: i })
      digits += String.fromCharCode(data[i]!)
      i++
    }
    if (i === data.length) return error({ reason: "Truncated", offset: i, received: digits.length })
    if (data[i] !== LF || digits === "") return error({ reason: "InvalidHeader", offset: i, byte: data[i] })
    const declaredLength = BigInt(digits)
    if (declaredLength > BigInt(maxRecordBytes)) {
      return error({ reason: "RecordTooLarge", offset: i, declaredLength, maxRecordBytes })
    }
    i++
    const length = Number(declaredLength)
    if (data.length - i < length) {
      return error({ reason: "Truncated", offset: data.length, expected: length, received: data.length - i })
    }
    records.push(Array.from(data.subarray(i, i + length)))
    i += length
  }
  return { records, error: undefined }
}

/** Records biased towards the bytes that matter to the framing: LF and digits. */
const recordArb = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.array(fc.constantFrom(LF, 0x30, 0x31, 0x39, 0x00, 0xff), { maxLength: 40 }).map((b) => Uint8Array.from(b))
)
/** Cut points, as fractions of the input length so that they shrink well. */
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 })
const cutsFor = (data: Uint8Array, fractions: ReadonlyArray<number>): Array<number> =>
  fractions.map((f) => Math.floor(f * data.length))

describe("RecordIO", () => {
  describe("golden streams", () => {
    const protobuf = {
      stream: readVector("stream.x-protobuf.recordio"),
      events: streamEventNames.map((name) => readVector(`event-${name}.bin`))
    }
    const jsonFiles = streamEventNames.map((name) => readVector(`event-${name}.json`))
    const json = {
      stream: readVector("stream.json.recordio"),
      // Each .json vector is one line: the record plus the LF that ends the file.
      events: jsonFiles.map((file) => file.subarray(0, file.length - 1))
    }

    it("the .json vectors are the JSON records plus exactly one trailing LF", () => {
      for (const file of jsonFiles) {
        assert.strictEqual(file[file.length - 1], LF)
        assert.notStrictEqual(file[file.length - 2], LF)
        assert.isFalse(file.subarray(0, file.length - 1).includes(LF))
      }
    })

    for (const [format, golden] of [["x-protobuf", protobuf], ["json", json]] as const) {
      describe(format, () => {
        it("decodes when fed whole", () => {
          assertRecords(decodeAllOk([golden.stream]), golden.events)
        })

        it("decodes when fed byte by byte", () => {
          assertRecords(decodeAllOk(bytewise(golden.stream)), golden.events)
        })

        it("decodes when split at every single boundary", () => {
          for (let cut = 0; cut <= golden.stream.length; cut++) {
            assertRecords(decodeAllOk(splitAt(golden.stream, [cut])), golden.events)
          }
        })

        it("decodes when split at two boundaries (sampled)", () => {
          const n = golden.stream.length
          for (let first = 0; first <= n; first += 7) {
            for (let second = first; second <= n; second += 11) {
              assertRecords(decodeAllOk(splitAt(golden.stream, [first, second])), golden.events)
            }
          }
        })

        it("is what encodeAll writes for the events", () => {
          assert.deepStrictEqual(RecordIO.encodeAll(golden.events), golden.stream)
        })

        it.effect("decodes through the Stream transform, one upstream pull per chunk", () =>
          Effect.gen(function*() {
            const chunks = splitAt(golden.stream, [1, 2, 3, 50, 51, 400, 700])
            const records = yield* Stream.fromIterable(chunks, { chunkSize: 1 }).pipe(
              RecordIO.decode(),
              Stream.runCollect
            )
            assertRecords(records, golden.events)
          }))
      })
    }

    it.effect("the Stream transform emits the records of one input chunk as one batch", () =>
      Effect.gen(function*() {
        const batches = yield* Stream.make(protobuf.stream).pipe(RecordIO.decode(), Stream.chunks, Stream.runCollect)
        assert.deepStrictEqual(batches.map((batch) => batch.length), [8])
      }))

    it("returns records inside one chunk as views and copies only records spanning chunks", () => {
      const stream = protobuf.stream
      const [first, second] = splitAt(stream, [stream.length - 1])
      const records = decodeAllOk([first!, second!])
      records.slice(0, -1).forEach((record) => assert.strictEqual(record.buffer, stream.buffer))
      assert.notStrictEqual(records[records.length - 1]!.buffer, stream.buffer)
    })
  })

  describe("records", () => {
    it("accepts zero-length records", () => {
      assert.deepStrictEqual(decodeAllOk([bytes("0\n0\n3\nabc0\n")]).map(text), ["", "", "abc", ""])
      assert.deepStrictEqual(decodeAllOk(bytewise(bytes("0\n0\n3\nabc0\n"))).map(text), ["", "", "abc", ""])
    })

    it("accepts a 20-digit header with leading zeros", () => {
      assert.deepStrictEqual(decodeAllOk([bytes("00000000000000000005\nhello")]).map(text), ["hello"])
    })

    it("accepts a record of exactly maxRecordBytes", () => {
      assert.deepStrictEqual(decodeAllOk([bytes("10\n0123456789")], { maxRecordBytes: 10 }).map(text), ["0123456789"])
    })

    it("accepts an empty stream", () => {
      assert.deepStrictEqual(decodeAllOk([]), [])
      assert.deepStrictEqual(decodeAllOk([new Uint8Array(0), new Uint8Array(0)]), [])
    })

    it("a record that spans many chunks comes out whole, in a buffer of exactly its length", () => {
      const record = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff)
      const framed = RecordIO.encode(record)
      const chunks = Array.from({ length: Math.ceil(framed.length / 1000) }, (_, i) => framed.subarray(i * 1000, i * 1000 + 1000))
      const [decoded] = decodeAllOk(chunks)
      assert.strictEqual(decoded?.buffer.byteLength, record.length)
      assert.deepStrictEqual(decoded, record)
    })

    it("appends the records completed before an error in the same chunk", () => {
      const decoder = RecordIO.makeDecoder()
      const records: Array<Uint8Array> = []
      const pushed = decoder.push(bytes("2\nab1\nc-"), records)
      assert.isTrue(Result.isFailure(pushed))
      assert.deepStrictEqual(records.map(text), ["ab", "c"])
    })
  })

  describe("rejections", () => {
    const invalidHeaders: ReadonlyArray<readonly [input: string, offset: number, byte: number]> = [
      ["-5\nhello", 0, 0x2d],
      ["+5\nhello", 0, 0x2b],
      [" 5\nhello", 0, 0x20],
      ["5 \nhello", 1, 0x20],
      ["5\r\nhello", 1, 0x0d],
      ["0x5\nhello", 1, 0x78],
      ["five\nhello", 0, 0x66],
      ["\nhello", 0, LF],
      ["1\nx\n", 3, LF], // a stray LF after a record: an empty header
      ["3\nabc4\n\x00\x01\x02\x03\x7f", 11, 0x7f]
    ]
    for (const [input, offset, byte] of invalidHeaders) {
      it(`InvalidHeader: ${JSON.stringify(input)}`, () => {
        for (const chunks of [[bytes(input)], bytewise(bytes(input))]) {
          const error = decodeAllError(chunks)
          assert.strictEqual(error.reason, "InvalidHeader")
          assert.strictEqual(error.offset, offset)
          assert.strictEqual(error.byte, byte)
        }
      })
    }

    it("InvalidHeader names the byte and its offset in the message", () => {
      assert.strictEqual(
        decodeAllError([bytes("12\nabcdefghijkl"), bytes("7a")]).message,
        "Invalid RecordIO header at stream offset 16: byte 0x61 ('a') where a decimal digit or the LF ending " +
          "the record size was expected; the body is not RecordIO or is corrupt"
      )
      assert.strictEqual(
        decodeAllError([bytes("\n")]).message,
        "Invalid RecordIO header at stream offset 0: empty record size (LF without digits)"
      )
    })

    it("HeaderTooLong as soon as the 21st digit arrives, before any LF", () => {
      const decoder = RecordIO.makeDecoder()
      const records: Array<Uint8Array> = []
      assert.isTrue(Result.isSuccess(decoder.push(bytes("1\nx00000000000000000000"), records)))
      const pushed = decoder.push(bytes("0"), records)
      if (Result.isSuccess(pushed)) return assert.fail("expected HeaderTooLong")
      assert.strictEqual(pushed.failure.reason, "HeaderTooLong")
      assert.strictEqual(pushed.failure.offset, 23)
      assert.strictEqual(
        pushed.failure.message,
        "Invalid RecordIO header at stream offset 23: record size has more than 20 digits"
      )
    })

    it("RecordTooLarge beyond the default 64 MiB, at the LF, with the declared length and the limit", () => {
      assert.strictEqual(RecordIO.defaultMaxRecordBytes, 67108864)
      const decoder = RecordIO.makeDecoder()
      // 64 MiB itself is accepted (the record is then merely incomplete)
      assert.isTrue(Result.isSuccess(decoder.push(bytes("67108864\n"), [])))
      const error = decodeAllError([bytes("67108865\n")])
      assert.strictEqual(error.reason, "RecordTooLarge")
      assert.strictEqual(error.offset, 8)
      assert.strictEqual(error.declaredLength, 67108865n)
      assert.strictEqual(error.maxRecordBytes, 67108864)
      assert.strictEqual(
        error.message,
        "RecordIO record declared at stream offset 8 is 67108865 bytes, more than maxRecordBytes (67108864): " +
          "the stream is corrupt, or holds a record larger than this decoder accepts"
      )
    })

    it("RecordTooLarge for a configured maximum", () => {
      const error = decodeAllError([bytes("10\n0123456789"), bytes("11\n")], { maxRecordBytes: 10 })
      assert.strictEqual(error.reason, "RecordTooLarge")
      assert.strictEqual(error.offset, 15)
      assert.strictEqual(error.declaredLength, 11n)
      assert.strictEqual(error.maxRecordBytes, 10)
      assert.strictEqual(decodeAllError([bytes("1\n")], { maxRecordBytes: 0 }).reason, "RecordTooLarge")
    })

    it("RecordTooLarge for a 2^40 header, from the header alone and without allocating", () => {
      const before = process.memoryUsage().arrayBuffers
      const decoder = RecordIO.makeDecoder()
      const pushed = decoder.push(bytes("1099511627776\n"), [])
      if (Result.isSuccess(pushed)) return assert.fail("expected RecordTooLarge")
      assert.strictEqual(pushed.failure.reason, "RecordTooLarge")
      assert.strictEqual(pushed.failure.declaredLength, 1099511627776n)
      assert.isBelow(process.memoryUsage().arrayBuffers - before, 1024 * 1024)
    })

    it("a header within the limit allocates what arrives, not what it declares", () => {
      const decoder = RecordIO.makeDecoder()
      const before = process.memoryUsage().arrayBuffers
      // 64 MiB declared, one byte of it received.
      assert.isTrue(Result.isSuccess(decoder.push(bytes("67108864\nx"), [])))
      assert.isBelow(process.memoryUsage().arrayBuffers - before, 1024 * 1024)
    })

    it("RecordTooLarge reports lengths beyond 2^53 and 2^64 exactly", () => {
      const unbounded = { maxRecordBytes: Number.MAX_SAFE_INTEGER }
      assert.strictEqual(decodeAllError([bytes("9007199254740992\n")], unbounded).declaredLength, 2n ** 53n)
      assert.strictEqual(decodeAllError([bytes("9007199254740993\n")], unbounded).declaredLength, 2n ** 53n + 1n)
      const huge = decodeAllError(bytewise(bytes("99999999999999999999\n")))
      assert.strictEqual(huge.reason, "RecordTooLarge")
      assert.strictEqual(huge.declaredLength, 99999999999999999999n)
    })

    it("Truncated inside the record data, with the bytes expected and received", () => {
      const error = decodeAllError([bytes("2\nab5\nab"), bytes("c")])
      assert.strictEqual(error.reason, "Truncated")
      assert.strictEqual(error.offset, 9)
      assert.strictEqual(error.expected, 5)
      assert.strictEqual(error.received, 3)
      assert.strictEqual(
        error.message,
        "RecordIO stream ended at offset 9 inside a record: expected 5 bytes of record data, received 3"
      )
      assert.strictEqual(decodeAllError([bytes("5\n")]).received, 0)
    })

    it("Truncated inside a header", () => {
      const error = decodeAllError([bytes("1\na1"), bytes("2")])
      assert.strictEqual(error.reason, "Truncated")
      assert.strictEqual(error.offset, 5)
      assert.strictEqual(error.expected, undefined)
      assert.strictEqual(error.received, 2)
      assert.strictEqual(error.message, "RecordIO stream ended at offset 5 inside a record header (2 digit(s), no LF)")
    })

    it("stays failed after an error", () => {
      const decoder = RecordIO.makeDecoder()
      const records: Array<Uint8Array> = []
      const first = decoder.push(bytes("x"), records)
      if (Result.isSuccess(first)) return assert.fail("expected InvalidHeader")
      const later = decoder.push(bytes("1\na"), records)
      if (Result.isSuccess(later)) return assert.fail("a failed decoder must stay failed")
      assert.strictEqual(later.failure, first.failure)
      const ended = decoder.end()
      if (Result.isSuccess(ended)) return assert.fail("a failed decoder must stay failed")
      assert.strictEqual(ended.failure, first.failure)
      assert.deepStrictEqual(records, [])
    })

    it("refuses a maxRecordBytes that is not a non-negative safe integer", () => {
      for (const maxRecordBytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        assert.throws(() => RecordIO.makeDecoder({ maxRecordBytes }), RangeError)
        assert.throws(() => RecordIO.decode({ maxRecordBytes }), RangeError)
      }
    })
  })

  describe("Stream transform", () => {
    const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        const exit = yield* stream.pipe(
          Stream.runForEach((record) => Effect.sync(() => seen.push(text(record)))),
          Effect.exit
        )
        return { seen, exit }
      })

    it.effect("fails the stream with the RecordIOError after the records that precede it", () =>
      Effect.gen(function*() {
        const { exit, seen } = yield* collect(
          Stream.fromIterable([bytes("2\nab"), bytes("1\nc3\nd"), bytes("ef"), bytes("x\n")], { chunkSize: 1 }).pipe(
            RecordIO.decode()
          )
        )
        assert.deepStrictEqual(seen, ["ab", "c", "def"])
        const error = Exit.findErrorOption(exit)
        assert.isTrue(error._tag === "Some" && error.value instanceof RecordIO.RecordIOError)
        if (error._tag === "Some") {
          assert.strictEqual(error.value.reason, "InvalidHeader")
          assert.strictEqual(error.value.offset, 12)
        }
      }))

    it.effect("records and the error from one chunk: records first, then the failure", () =>
      Effect.gen(function*() {
        const { exit, seen } = yield* collect(Stream.make(bytes("1\na1\nb-")).pipe(RecordIO.decode()))
        assert.deepStrictEqual(seen, ["a", "b"])
        assert.isTrue(Exit.isFailure(exit))
      }))

    it.live("fails at once on invalid input, without waiting for more from an upstream that stays open", () =>
      Effect.gen(function*() {
        const { exit, seen } = yield* collect(
          Stream.make(bytes("1\na-")).pipe(Stream.concat(Stream.never), RecordIO.decode())
        ).pipe(Effect.timeout("5 seconds"))
        assert.deepStrictEqual(seen, ["a"])
        assert.isTrue(Exit.isFailure(exit))
      }))

    it.effect("fails with Truncated when the upstream ends inside a record", () =>
      Effect.gen(function*() {
        const error = yield* Stream.fromIterable([bytes("3\nabc"), bytes("5\nab")], { chunkSize: 1 }).pipe(
          RecordIO.decode(),
          Stream.runDrain,
          Effect.flip
        )
        assert.strictEqual(error._tag, "RecordIOError")
        assert.strictEqual(error.reason, "Truncated")
        assert.strictEqual(error.expected, 5)
        assert.strictEqual(error.received, 2)
      }))

    it.effect("applies maxRecordBytes", () =>
      Effect.gen(function*() {
        const error = yield* Stream.make(bytes("9\n")).pipe(
          RecordIO.decode({ maxRecordBytes: 8 }),
          Stream.runDrain,
          Effect.flip
        )
        assert.strictEqual(error.reason, "RecordTooLarge")
      }))

    it.effect("passes upstream failures through unchanged", () =>
      Effect.gen(function*() {
        const { exit, seen } = yield* collect(
          Stream.make(bytes("1\na1")).pipe(Stream.concat(Stream.fail("connection lost" as const)), RecordIO.decode())
        )
        assert.deepStrictEqual(seen, ["a"])
        assert.deepStrictEqual(exit, Exit.fail("connection lost" as const))
      }))

    it.effect("gives each run its own decoder state", () =>
      Effect.gen(function*() {
        const decoded = Stream.fromIterable([bytes("3\na"), bytes("bc")], { chunkSize: 1 }).pipe(RecordIO.decode())
        assert.deepStrictEqual((yield* Stream.runCollect(decoded)).map(text), ["abc"])
        assert.deepStrictEqual((yield* Stream.runCollect(decoded)).map(text), ["abc"])
      }))

    it.effect("encodeStream frames each batch of records as one chunk that decode reads back", () =>
      Effect.gen(function*() {
        const records = ["", "hello", "\n", "12\n34"].map(bytes)
        const framed = yield* Stream.make(...records).pipe(RecordIO.encodeStream, Stream.runCollect)
        assert.strictEqual(framed.length, 1)
        assert.strictEqual(text(framed[0]!), "0\n5\nhello1\n\n5\n12\n34")
        const decoded = yield* Stream.fromIterable(bytewise(framed[0]!), { chunkSize: 1 }).pipe(
          RecordIO.decode(),
          Stream.runCollect
        )
        assertRecords(decoded, records)
      }))
  })

  describe("encode", () => {
    it("writes the decimal length, LF, then the bytes", () => {
      assert.strictEqual(text(RecordIO.encode(bytes('{"type":"HEARTBEAT"}'))), '20\n{"type":"HEARTBEAT"}')
      assert.strictEqual(text(RecordIO.encode(new Uint8Array(0))), "0\n")
      assert.strictEqual(text(RecordIO.encode(new Uint8Array(1000)).subarray(0, 5)), "1000\n")
      assert.deepStrictEqual(RecordIO.encodeAll([]), new Uint8Array(0))
    })
  })

  describe("properties", () => {
    it("any chunking of any valid records decodes to the same records", () => {
      fc.assert(
        fc.property(fc.array(recordArb, { maxLength: 12 }), cutsArb, (records, fractions) => {
          const framed = RecordIO.encodeAll(records)
          assertRecords(decodeAllOk(splitAt(framed, cutsFor(framed, fractions))), records)
        }),
        { numRuns: 500 }
      )
    })

    it("encode and encodeAll agree, and decode inverts them", () => {
      fc.assert(
        fc.property(fc.array(recordArb, { maxLength: 12 }), (records) => {
          const framed = RecordIO.encodeAll(records)
          const oneByOne = records.map(RecordIO.encode)
          assert.deepStrictEqual(Array.from(framed), oneByOne.flatMap((record) => Array.from(record)))
          assertRecords(decodeAllOk([framed]), records)
          for (const [i, record] of records.entries()) {
            assert.strictEqual(text(oneByOne[i]!.subarray(0, String(record.length).length + 1)), `${record.length}\n`)
          }
        }),
        { numRuns: 300 }
      )
    })

    // Mostly framing bytes, with runs of digits long enough to reach the 20-digit limit, so that inputs get past
    // the first header and hit every kind of error.
    const digitArb = fc.constantFrom(0x30, 0x31, 0x32, 0x35, 0x39)
    const noiseArb = fc
      .array(
        fc.oneof(
          { weight: 6, arbitrary: digitArb.map((digit) => [digit]) },
          { weight: 2, arbitrary: fc.constant([LF]) },
          { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }).map((byte) => [byte]) },
          { weight: 1, arbitrary: fc.array(digitArb, { minLength: 18, maxLength: 24 }) }
        ),
        { maxLength: 100 }
      )
      .map((segments) => Uint8Array.from(segments.flat()))
    const maxRecordBytes = 16

    it("arbitrary bytes, arbitrarily chunked, give the grammar's records and then its typed error", () => {
      fc.assert(
        fc.property(noiseArb, cutsArb, (data, fractions) => {
          const outcome = outcomeOf(splitAt(data, cutsFor(data, fractions)), { maxRecordBytes })
          assert.deepStrictEqual(outcome, referenceOutcome(data, maxRecordBytes))
        }),
        { numRuns: 2000 }
      )
    })

    it("valid records followed by noise keep the records, whatever the chunking", () => {
      fc.assert(
        fc.property(fc.array(recordArb, { maxLength: 4 }), noiseArb, cutsArb, (records, noise, fractions) => {
          const prefix = RecordIO.encodeAll(records.map((record) => record.subarray(0, maxRecordBytes)))
          const data = new Uint8Array(prefix.length + noise.length)
          data.set(prefix)
          data.set(noise, prefix.length)
          const outcome = outcomeOf(splitAt(data, cutsFor(data, fractions)), { maxRecordBytes })
          assert.deepStrictEqual(outcome, referenceOutcome(data, maxRecordBytes))
          assert.isAtLeast(outcome.records.length, records.length)
        }),
        { numRuns: 1000 }
      )
    })

    it("the Stream transform agrees with the grammar on arbitrary chunked bytes", async () => {
      await fc.assert(
        fc.asyncProperty(noiseArb, cutsArb, async (data, fractions) => {
          const seen: Array<Array<number>> = []
          const exit = await Stream.fromIterable(splitAt(data, cutsFor(data, fractions)), { chunkSize: 1 }).pipe(
            RecordIO.decode({ maxRecordBytes }),
            Stream.runForEach((record) => Effect.sync(() => seen.push(Array.from(record)))),
            Effect.runPromiseExit
          )
          const error = Exit.findErrorOption(exit)
          assert.deepStrictEqual(
            { records: seen, error: error._tag === "Some" ? errorFields(error.value) : undefined },
            referenceOutcome(data, maxRecordBytes)
          )
          assert.isTrue(Exit.isSuccess(exit) || error._tag === "Some", "no defects, only typed errors")
        }),
        { numRuns: 300 }
      )
    })
  })
})
