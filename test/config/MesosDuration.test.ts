import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Result, Schema } from "effect"
import * as fc from "fast-check"
import * as MesosDuration from "../../src/config/MesosDuration.js"

const second = 1_000_000_000n
const unitNanos = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  secs: second,
  mins: 60n * second,
  hrs: 3_600n * second,
  days: 86_400n * second,
  weeks: 604_800n * second
} as const
const unitNames = Object.keys(unitNanos) as ReadonlyArray<keyof typeof unitNanos>
const maxNanos = 2n ** 63n - 1n

const nanosOf = (input: string): bigint => Duration.toNanosUnsafe(Result.getOrThrow(MesosDuration.parse(input)))

const failureOf = (input: string): MesosDuration.MesosDurationError =>
  Result.match(MesosDuration.parse(input), {
    onFailure: (error) => error,
    onSuccess: (duration) => assert.fail(`${JSON.stringify(input)} parsed as ${duration}`)
  })

describe("MesosDuration.parse", () => {
  it("reads the durations a real agent writes", () => {
    // From real-agent/env.txt and the agent flag defaults.
    assert.strictEqual(nanosOf("5secs"), 5n * second)
    assert.strictEqual(nanosOf("3secs"), 3n * second)
    assert.strictEqual(nanosOf("2secs"), 2n * second)
    assert.strictEqual(nanosOf("15mins"), 900n * second)
  })

  it("reads every unit", () => {
    assert.strictEqual(nanosOf("7ns"), 7n)
    assert.strictEqual(nanosOf("7us"), 7_000n)
    assert.strictEqual(nanosOf("1500ms"), 1_500_000_000n)
    assert.strictEqual(nanosOf("1mins"), 60n * second)
    assert.strictEqual(nanosOf("1hrs"), 3_600n * second)
    assert.strictEqual(nanosOf("10days"), 864_000n * second)
    assert.strictEqual(nanosOf("2weeks"), 1_209_600n * second)
  })

  it("reads the number as a decimal, as stout's double parse does", () => {
    assert.strictEqual(nanosOf("1.5secs"), 1_500_000_000n)
    assert.strictEqual(nanosOf("3.5hrs"), 12_600n * second) // stout's own test: Hours(3) + Minutes(30)
    assert.strictEqual(nanosOf(".5secs"), 500_000_000n)
    assert.strictEqual(nanosOf("1.secs"), second)
    assert.strictEqual(nanosOf("007secs"), 7n * second)
    assert.strictEqual(nanosOf("0ns"), 0n)
    assert.strictEqual(nanosOf("0.000000001secs"), 1n)
    assert.strictEqual(nanosOf("3.141592653secs"), 3_141_592_653n)
  })

  it("truncates fractions of a nanosecond, as stout's cast to int64 does", () => {
    assert.strictEqual(nanosOf("1.9ns"), 1n)
    assert.strictEqual(nanosOf("0.0000000019secs"), 1n)
  })

  it("accepts up to 2^63 - 1 nanoseconds, including stout's own rendering of its maximum", () => {
    assert.strictEqual(nanosOf("9223372036854775807ns"), maxNanos)
    assert.strictEqual(nanosOf("15250.2844524715weeks"), 9_223_372_036_854_763_200n)
    assert.strictEqual(failureOf("9223372036854775808ns").reason, "OutOfRange")
    assert.strictEqual(failureOf("15251weeks").reason, "OutOfRange")
  })

  it("rejects everything outside the grammar", () => {
    const malformed = [
      "",
      "5",
      "1.5",
      "secs",
      ".secs",
      ".",
      "1.2.3secs",
      "1..2secs",
      "-5secs",
      "+5secs",
      " 5secs",
      "5secs ",
      "5 secs",
      "5secs\n",
      "1e3secs",
      "0x5secs",
      "5s",
      "5sec",
      "5m",
      "5min",
      "5h",
      "5hr",
      "5d",
      "5day",
      "5w",
      "5SECS",
      "5Secs",
      "5seconds",
      "5 seconds",
      "５secs",
      "5secs5secs"
    ]
    for (const input of malformed) {
      assert.strictEqual(failureOf(input).reason, "Malformed", JSON.stringify(input))
    }
  })

  it("explains the grammar and quotes the input in its error", () => {
    const error = failureOf("1.2.3secs")
    assert.strictEqual(error._tag, "MesosDurationError")
    assert.strictEqual(error.input, "1.2.3secs")
    assert.include(error.message, "\"1.2.3secs\"")
    assert.include(error.message, "ns, us, ms, secs, mins, hrs, days, weeks")
    assert.include(failureOf("15251weeks").message, "\"15251weeks\"")
  })

  // An independent statement of stout's rule: `[0-9.]+` whose prefix is a
  // double literal without sign or exponent, then a unit.
  const stoutAccepts = (input: string): boolean => {
    const match = /^([0-9.]+)(ns|us|ms|secs|mins|hrs|days|weeks)$/.exec(input)
    return match !== null && /^([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(match[1]!)
  }

  const nearGrammar = fc.string({
    unit: fc.constantFrom(..."0123456789..-+e x", ..."nsumecihrdaywk", "secs", "mins", "hrs", "days", "weeks"),
    maxLength: 8
  })

  it("never throws, and accepts exactly stout's grammar", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), nearGrammar), (input) => {
        const result = MesosDuration.parse(input)
        const parsesOrOverflows = Result.isSuccess(result) || result.failure.reason === "OutOfRange"
        assert.strictEqual(parsesOrOverflows, stoutAccepts(input), JSON.stringify(input))
      }),
      { numRuns: 2000 }
    )
  })

  it("agrees with the agent's double arithmetic to within its rounding", () => {
    const accepted = fc.tuple(
      fc.stringMatching(/^([0-9]{1,6}\.?[0-9]{0,9}|\.[0-9]{1,9})$/),
      fc.constantFrom(...unitNames)
    )
    fc.assert(
      fc.property(accepted, ([number, unit]) => {
        const stout = Math.trunc(Number(number) * Number(unitNanos[unit]))
        fc.pre(stout < 9e18) // beyond int64, stout's cast is undefined behaviour and we fail instead
        const ours = Number(nanosOf(`${number}${unit}`))
        assert.isAtMost(Math.abs(ours - stout), Math.max(1, stout * 2 ** -50), `${number}${unit}`)
      })
    )
  })

  it("quotes at most 64 characters of the input in its message, then the input's length", () => {
    const input = `${"9".repeat(1_000_000)}secs`
    const error = failureOf(input)
    assert.strictEqual(error.input, input)
    assert.strictEqual(
      error.message,
      `"${"9".repeat(64)}"… (1000004 chars) is out of range for a Mesos duration: at most 9223372036854775807 ` +
        "nanoseconds (about 292 years)"
    )
  })
})

describe("MesosDuration.format", () => {
  const formats = (duration: Duration.Duration, expected: string) =>
    assert.strictEqual(MesosDuration.format(duration), expected, String(duration))

  it("writes the examples of the spec", () => {
    formats(Duration.seconds(5), "5secs")
    formats(Duration.seconds(2), "2secs")
    formats(Duration.seconds(3), "3secs")
    formats(Duration.seconds(60), "1mins")
    formats(Duration.seconds(90), "90secs")
    formats(Duration.millis(1500), "1500ms")
    formats(Duration.minutes(15), "15mins")
    formats(Duration.hours(1), "1hrs")
    formats(Duration.zero, "0ns")
  })

  it("writes stout's own test vectors", () => {
    // 3rdparty/stout/tests/duration_tests.cpp, DurationTest.OutputFormat
    formats(Duration.nanos(1n), "1ns")
    formats(Duration.nanos(2n), "2ns")
    formats(Duration.nanos(3_141_592_653n), "3.141592653secs")
    formats(Duration.millis(3140), "3140ms")
    formats(Duration.hours(10), "10hrs")
    formats(Duration.hours(-10), "-10hrs")
    formats(Duration.days(10), "10days")
    formats(Duration.sum(Duration.days(1), Duration.minutes(4 * 60 + 30)), "1.1875days")
    formats(Duration.days(14), "2weeks")
    formats(Duration.nanos(maxNanos), "15250.2844524715weeks")
    formats(Duration.nanos(-(2n ** 63n)), "-15250.2844524715weeks")
  })

  it("steps down one unit only when that makes the number whole", () => {
    formats(Duration.millis(1.5), "1500us")
    formats(Duration.nanos(1_001n), "1001ns")
    formats(Duration.nanos(1_000_001n), "1.000001ms")
    formats(Duration.seconds(3_601), "1.00027777777778hrs")
    formats(Duration.minutes(61), "61mins")
    formats(Duration.hours(36), "36hrs")
    formats(Duration.days(8), "8days")
    formats(Duration.sum(Duration.weeks(10), Duration.nanos(1n)), "10weeks")
  })

  it("refuses durations stout cannot hold", () => {
    assert.throws(() => MesosDuration.format(Duration.infinity), RangeError)
    assert.throws(() => MesosDuration.format(Duration.negativeInfinity), RangeError)
    assert.throws(() => MesosDuration.format(Duration.nanos(2n ** 63n)), RangeError)
  })

  const anyDuration = fc.bigInt({ min: 0n, max: maxNanos })
  const wholeUnits = fc.tuple(fc.bigInt({ min: 0n, max: 200_000n }), fc.constantFrom(...unitNames))
    .map(([count, unit]) => count * unitNanos[unit])
    .filter((nanos) => nanos <= maxNanos)

  it("round-trips through parse to within the 15 significant digits it prints", () => {
    fc.assert(
      fc.property(fc.oneof(anyDuration, wholeUnits), (nanos) => {
        const written = MesosDuration.format(Duration.nanos(nanos))
        const read = nanosOf(written)
        const error = read > nanos ? read - nanos : nanos - read
        assert.isTrue(error <= nanos / 10n ** 14n + 1n, `${nanos} → ${written} → ${read}`)
      }),
      { numRuns: 1000 }
    )
  })

  // With fewer than ~10^14 units a multiple of a unit is never within the
  // printed precision of a whole number of a larger unit, so an integral
  // output is the exact value. (10weeks + 1ns does print as "10weeks".)
  it("round-trips whole numbers of a unit exactly whenever it writes a whole number", () => {
    fc.assert(
      fc.property(wholeUnits, (nanos) => {
        const written = MesosDuration.format(Duration.nanos(nanos))
        fc.pre(/^[0-9]+[a-z]+$/.test(written))
        assert.strictEqual(nanosOf(written), nanos, written)
      }),
      { numRuns: 1000 }
    )
  })

  it("round-trips exactly below one minute, where every unit is a power of ten", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 60n * second - 1n }), (nanos) => {
        assert.strictEqual(nanosOf(MesosDuration.format(Duration.nanos(nanos))), nanos)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("MesosDuration.schema", () => {
  it("decodes a Mesos duration and encodes as the agent writes", () => {
    const duration = Schema.decodeUnknownSync(MesosDuration.schema)("1.5secs")
    assert.isTrue(Duration.equals(duration, Duration.millis(1500)))
    assert.strictEqual(Schema.encodeSync(MesosDuration.schema)(duration), "1500ms")
  })

  it.effect("fails to decode a malformed string with the parse error's message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Schema.decodeUnknownEffect(MesosDuration.schema)("5s"))
      assert.include(error.message, "\"5s\" is not a Mesos duration")
    }))

  it("fails to encode durations that would not decode again", () => {
    assert.isTrue(Result.isFailure(Schema.encodeResult(MesosDuration.schema)(Duration.seconds(-1))))
    assert.isTrue(Result.isFailure(Schema.encodeResult(MesosDuration.schema)(Duration.infinity)))
  })
})

describe("MesosDuration.config", () => {
  const variable = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"
  const read = (env: Record<string, string>) =>
    MesosDuration.config(variable).pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
    )

  it.effect("reads a variable in the Mesos grammar", () =>
    Effect.gen(function*() {
      const duration = yield* read({ [variable]: "3secs" })
      assert.strictEqual(Duration.toMillis(duration), 3000)
    }))

  it.effect("fails with a ConfigError that names the variable and quotes the value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(read({ [variable]: "3 seconds" }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, variable)
      assert.include(error.message, "\"3 seconds\"")
      assert.include(error.message, "ns, us, ms, secs, mins, hrs, days, weeks")
    }))

  it.effect("composes with Config.withDefault for an unset variable", () =>
    Effect.gen(function*() {
      const duration = yield* MesosDuration.config(variable).pipe(
        Config.withDefault(Duration.seconds(5)),
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({}))
      )
      assert.strictEqual(Duration.toMillis(duration), 5000)
    }))
})
