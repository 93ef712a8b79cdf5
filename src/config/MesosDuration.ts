/**
 * Durations in the text form Mesos uses for flags and for the environment it
 * gives executors (`5secs`, `1.5secs`, `15mins`): stout's `Duration::parse`
 * and `operator<<` (`3rdparty/stout/include/stout/duration.hpp`).
 */
import { Config, Duration, Effect, Option, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { quote } from "../wire/Excerpt.js"

// Nanoseconds per unit, by the unit's name in the grammar.
const unitNanos = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  secs: 1_000_000_000n,
  mins: 60_000_000_000n,
  hrs: 3_600_000_000_000n,
  days: 86_400_000_000_000n,
  weeks: 604_800_000_000_000n
} as const

type Unit = keyof typeof unitNanos

// Each value is written in the largest unit it reaches (its bucket), unless
// it is fractional there but whole in the next smaller unit.
const buckets: ReadonlyArray<readonly [bucket: Unit, smaller: Unit]> = [
  ["us", "ns"],
  ["ms", "us"],
  ["secs", "ms"],
  ["mins", "secs"],
  ["hrs", "mins"],
  ["days", "hrs"],
  ["weeks", "days"]
]

// stout keeps a duration as a signed 64-bit count of nanoseconds.
const maxNanos = 2n ** 63n - 1n
const minNanos = -(2n ** 63n)

// Digits and dots with at least one digit and at most one dot (what stout's
// `numify<double>` accepts from the `[0-9.]+` prefix), then the unit.
const grammar = /^(?=\.?[0-9])([0-9]*)(?:\.([0-9]*))?(ns|us|ms|secs|mins|hrs|days|weeks)$/

const grammarDescription =
  "digits with at most one decimal point, directly followed by one of ns, us, ms, secs, mins, hrs, days, weeks " +
  "(for example \"5secs\", \"1.5secs\", \"15mins\")"

/**
 * A string that is not a Mesos duration.
 */
export class MesosDurationError extends Schema.TaggedError<MesosDurationError>()("MesosDurationError", {
  input: Schema.String,
  reason: Schema.Literals(["Malformed", "OutOfRange"])
}) {
  override get message(): string {
    const input = quote(this.input)
    return this.reason === "Malformed"
      ? `${input} is not a Mesos duration: expected ${grammarDescription}`
      : `${input} is out of range for a Mesos duration: at most ${maxNanos} nanoseconds (about 292 years)`
  }
}

// Whole milliseconds get the representation Effect's own constructors give,
// so that durations print alike (`5000 millis`, not `5000000000 nanos`).
const toDuration = (nanos: bigint): Duration.Duration =>
  nanos % 1_000_000n === 0n ? Duration.millis(Number(nanos / 1_000_000n)) : Duration.nanos(nanos)

/**
 * Parses a Mesos duration such as `5secs`, `1.5secs` or `15mins`.
 *
 * The grammar is stout's: `[0-9.]+` read as a decimal number, then exactly one
 * of `ns`, `us`, `ms`, `secs`, `mins`, `hrs`, `days`, `weeks`. There is no sign,
 * exponent, whitespace or other unit spelling (`s`, `sec`, `m`, `h`, `d`), and a
 * bare number is rejected. Sub-nanosecond fractions are truncated, as stout does.
 *
 * stout multiplies a `double`; this parser computes in exact decimal instead,
 * so every value an agent writes comes back to the nanosecond, where the
 * double product can be off by one.
 */
export const parse = (input: string): Result.Result<Duration.Duration, MesosDurationError> => {
  const match = grammar.exec(input)
  if (match === null) {
    return Result.fail(new MesosDurationError({ input, reason: "Malformed" }))
  }
  const [, integerDigits = "", fractionDigits = "", unit] = match
  const nanos = BigInt(`0${integerDigits}${fractionDigits}`) * unitNanos[unit as Unit] /
    10n ** BigInt(fractionDigits.length)
  return nanos > maxNanos
    ? Result.fail(new MesosDurationError({ input, reason: "OutOfRange" }))
    : Result.succeed(toDuration(nanos))
}

// C++ streams print a double with precision 15 as `%.15g` does: no trailing
// zeros, and no exponent for the magnitudes that occur here (1 to ~10^6).
const printDouble = (value: number): string => {
  const digits = value.toPrecision(15)
  return digits.includes(".") ? digits.replace(/\.?0+$/, "") : digits
}

const formatNonNegative = (nanos: bigint): string => {
  const [bucket, smaller] = buckets.findLast(([bucket]) => nanos >= unitNanos[bucket]) ?? ["ns", "ns"]
  const unit = nanos % unitNanos[bucket] !== 0n && nanos % unitNanos[smaller] === 0n ? smaller : bucket
  // stout prints nanoseconds as an integer and every other unit as a double quotient.
  return unit === "ns" ? `${nanos}ns` : `${printDouble(Number(nanos) / Number(unitNanos[unit]))}${unit}`
}

const representableNanos = (duration: Duration.Duration): Option.Option<bigint> =>
  Option.filter(Duration.toNanos(duration), (nanos) => nanos >= minNanos && nanos <= maxNanos)

/**
 * Writes a duration exactly as the Mesos agent writes one (stout's
 * `operator<<`): `5secs`, `1mins`, `90secs`, `1500ms`, `1hrs`, `10days`,
 * `1.1875days`, `0ns`; negative durations get a leading `-`.
 *
 * Throws a `RangeError` for a duration stout cannot hold (infinite, or more
 * than 2^63 - 1 nanoseconds either way): no agent could read it back.
 */
export const format = (duration: Duration.Duration): string => {
  const nanos = Option.getOrUndefined(representableNanos(duration))
  if (nanos === undefined) {
    throw new RangeError(
      `${Duration.format(duration)} cannot be written as a Mesos duration: stout holds -2^63 to 2^63-1 nanoseconds`
    )
  }
  // stout prints the most negative value with the magnitude of the most positive one.
  return nanos < 0n ? `-${formatNonNegative(-nanos > maxNanos ? maxNanos : -nanos)}` : formatNonNegative(nanos)
}

/**
 * A `Schema` that decodes a Mesos duration string into a `Duration` and
 * encodes a `Duration` as the agent would write it. Encoding fails for
 * negative durations and durations stout cannot hold, since they would not
 * decode again.
 */
export const schema: Schema.decodeTo<Schema.Duration, Schema.String> = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transformEffect<Duration.Duration, string>({
      decode: (input) =>
        Result.match(parse(input), {
          onSuccess: Effect.succeed,
          onFailure: (error) => Effect.fail(new SchemaIssue.InvalidValue({ message: error.message }, input))
        }),
      encode: (duration) =>
        Option.match(Option.filter(representableNanos(duration), (nanos) => nanos >= 0n), {
          onNone: () =>
            Effect.fail(
              new SchemaIssue.InvalidValue({
                message: `${Duration.format(duration)} cannot be written as a Mesos duration: ` +
                  "it must be finite and not negative"
              }, duration)
            ),
          onSome: () => Effect.succeed(format(duration))
        })
    })
  )
)

/**
 * A `Config` for a variable holding a Mesos duration, such as
 * `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`. A malformed value fails with a
 * `ConfigError` that names the variable and quotes the value.
 */
export const config = (name: string): Config.Config<Duration.Duration> => Config.schema(schema, name)
