// MesosDuration.parse on arbitrary and near-miss strings, and ExecutorConfig.load under
// ConfigProvider.fromEnv with arbitrary values for every MESOS_* variable.
import { Cause, ConfigProvider, Duration, Effect, Exit, Option, Redacted, Result } from "effect"
import { ExecutorConfig, MesosDuration } from "effect-mesos-executor"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { inspect } from "node:util"
import { anyString } from "../arbitraries.ts"
import { expectedQuote, firstProblem, isResult, messageMentions, messageProblem } from "../messages.ts"
import type { Tally, Target } from "../runner.ts"

// --- MesosDuration.parse ----------------------------------------------------------------------------

// The grammar's units restated, not imported: the reference below checks the parser, so it must not share
// the parser's table.
const unitNanos: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  secs: 1_000_000_000n,
  mins: 60_000_000_000n,
  hrs: 3_600_000_000_000n,
  days: 86_400_000_000_000n,
  weeks: 604_800_000_000_000n
}
const units = Object.keys(unitNanos)
const maxNanos = 2n ** 63n - 1n

/** The grammar as the module documents it, written independently: digits with at most one dot, then a unit. */
const referenceGrammar = /^([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|ms|secs|mins|hrs|days|weeks)$/

const referenceNanos = (input: string): bigint | undefined => {
  const match = referenceGrammar.exec(input)
  if (match === null) return undefined
  const [whole = "", fraction = ""] = match[1]!.split(".")
  return (BigInt(`0${whole}${fraction}`) * unitNanos[match[2]!]!) / 10n ** BigInt(fraction.length)
}

const digits = (max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: max })

/** Strings close to the grammar: numbers in every shape, the units and their misspellings, stray characters. */
const nearMissDuration: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom("", "", "", "-", "+", " ", "\t"),
  fc.oneof(
    { weight: 4, arbitrary: digits(6) },
    { weight: 1, arbitrary: digits(40) },
    { weight: 1, arbitrary: fc.constantFrom("٣", "３", "0x1", "1e3", "1E-2", "Infinity", "NaN", "1_0", "9".repeat(400)) }
  ),
  fc.constantFrom("", "", "", ".", "..", ","),
  digits(12),
  fc.constantFrom("", "", "", " ", "."),
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...units) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "", "s", "sec", "second", "seconds", "m", "min", "minute", "h", "hr", "hour", "d", "day", "w", "week",
        "SECS", "Secs", "nsecs", "µs", "usecs", "msecs", "ms ", "secss", "mins\0", "weeks\n"
      )
    },
    { weight: 1, arbitrary: anyString(6) }
  ),
  fc.constantFrom("", "", "", "", " ", "5secs", "x")
).map((parts) => parts.join(""))

export const checkDuration = (input: string, tally: Tally): string | undefined => {
  const parsed = MesosDuration.parse(input)
  if (!isResult(parsed)) return `parse returned ${String(parsed)}, not a Result`
  const nanos = referenceNanos(input)
  if (Result.isSuccess(parsed)) {
    tally.count("accepted")
    if (nanos === undefined) return `accepted ${JSON.stringify(input)}, which is not in the grammar`
    if (nanos > maxNanos) return `accepted ${JSON.stringify(input)}, over 2^63-1 ns`
    const got = Option.getOrUndefined(Duration.toNanos(parsed.success))
    if (got !== nanos) return `${JSON.stringify(input)} parsed as ${got} ns, the grammar says ${nanos}`
    // What the agent would write for it reads back. Not exactly: stout's format is a double with 15
    // significant digits, and parsing truncates the fraction of a nanosecond, so `3565241ms` comes back
    // as 3565240999999 ns. Within 1 ns or 1e-13 is what stout itself achieves.
    const again = MesosDuration.parse(MesosDuration.format(parsed.success))
    if (Result.isFailure(again)) return `cannot parse format(parse(${JSON.stringify(input)})): ${again.failure.message}`
    const back = Option.getOrThrow(Duration.toNanos(again.success))
    const drift = back > nanos ? back - nanos : nanos - back
    if (drift > 1n && drift * 10n ** 13n > nanos) return `format/parse of ${nanos} ns drifted to ${back} ns`
    if (drift > 0n) tally.count("accepted; format/parse drifted by 1 ns")
    return undefined
  }
  const error = parsed.failure
  const thrown = error as unknown
  if (!(thrown instanceof MesosDuration.MesosDurationError)) return `rejected with ${String(thrown)}`
  tally.count(error.reason)
  const expectedReason = nanos === undefined ? "Malformed" : nanos > maxNanos ? "OutOfRange" : undefined
  if (expectedReason === undefined) return `rejected ${JSON.stringify(input)} (${error.reason}), which the grammar accepts`
  if (error.reason !== expectedReason) return `${error.reason} for ${JSON.stringify(input)}, expected ${expectedReason}`
  if (error.input !== input) return "the error's input is not the input"
  // It quotes the input (the start of it, if long) and says what is expected (or the limit).
  return messageMentions(error.message, [
    expectedQuote(input),
    error.reason === "Malformed" ? "secs" : "out of range"
  ])
}

export const durationArbitrary: Target<string> = {
  name: "duration.arbitrary",
  description: "MesosDuration.parse on arbitrary strings (any code unit, lone surrogates included)",
  arbitrary: fc.oneof(anyString(40), fc.string({ unit: "grapheme", maxLength: 20 })),
  check: checkDuration
}

export const durationNearMiss: Target<string> = {
  name: "duration.near-miss",
  description: "MesosDuration.parse on near-miss strings: signs, digits, dots, exponents, unit spellings, whitespace",
  arbitrary: nearMissDuration,
  check: checkDuration
}

// --- ExecutorConfig.load -----------------------------------------------------------------------------

const variables = [
  "MESOS_FRAMEWORK_ID",
  "MESOS_EXECUTOR_ID",
  "MESOS_AGENT_ENDPOINT",
  "MESOS_SLAVE_PID",
  "MESOS_DOMAIN_SOCKET",
  "MESOS_SLAVE_ID",
  "MESOS_DIRECTORY",
  "MESOS_SANDBOX",
  "MESOS_CHECKPOINT",
  "MESOS_RECOVERY_TIMEOUT",
  "MESOS_SUBSCRIPTION_BACKOFF_MAX",
  "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
  "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
] as const
type Variable = (typeof variables)[number]
const tokenVariable = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
const durationVariables: ReadonlyArray<Variable> = [
  "MESOS_RECOVERY_TIMEOUT",
  "MESOS_SUBSCRIPTION_BACKOFF_MAX",
  "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"
]

export type Env = { [V in Variable]?: string | undefined }

const host = fc.constantFrom(
  "127.0.0.1", "::1", "[::1]", "localhost", "", "a b", "h/x", "999.1.1.1", "[::1", "fe80::1%eth0", "@", "é.example"
)
const port = fc.constantFrom("0", "1", "5051", "65535", "65536", "99999", "-1", "", "05051", "5051 ", "0x10")
const endpoint = fc.tuple(host, fc.constantFrom(":", ":", "::", ""), port).map((parts) => parts.join(""))
const pid = fc.tuple(fc.constantFrom("slave(1)", "", "slave 1", "a/b", "%", "slave(1)@x"), fc.constantFrom("@", "", "@@"), endpoint)
  .map((parts) => parts.join(""))

const nearMiss: Record<Variable, fc.Arbitrary<string>> = {
  MESOS_FRAMEWORK_ID: anyString(),
  MESOS_EXECUTOR_ID: anyString(),
  MESOS_AGENT_ENDPOINT: endpoint,
  MESOS_SLAVE_PID: pid,
  MESOS_DOMAIN_SOCKET: fc.oneof(fc.constantFrom("/tmp/agent.sock", "relative.sock", "/".repeat(200)), anyString()),
  MESOS_SLAVE_ID: anyString(),
  MESOS_DIRECTORY: anyString(),
  MESOS_SANDBOX: anyString(),
  MESOS_CHECKPOINT: fc.constantFrom("0", "1", "true", "false", " 1", "01", "yes", "2"),
  MESOS_RECOVERY_TIMEOUT: nearMissDuration,
  MESOS_SUBSCRIPTION_BACKOFF_MAX: nearMissDuration,
  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: nearMissDuration,
  // A token that cannot be mistaken for part of another value, or any string at all.
  MESOS_EXECUTOR_AUTHENTICATION_TOKEN: fc.oneof(
    fc.stringMatching(/^tok-[0-9a-f]{12}$/),
    anyString(32)
  )
}

const envValue = (variable: Variable): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "undefined", "[object Object]", "null", "\u0000") },
    { weight: 2, arbitrary: anyString() },
    { weight: 4, arbitrary: nearMiss[variable] }
  )

const realEnvironments = (file: URL): ReadonlyArray<Env> =>
  readFileSync(file, "utf8").split(/^## /m).slice(1).map((section) =>
    Object.fromEntries(
      Array.from(section.matchAll(/^ {4}(MESOS_[A-Z_]+)=(.*)$/gm), ([, name, value]) => [name, value])
        .filter(([name]) => (variables as ReadonlyArray<string>).includes(name!))
    ) as Env
  )

const withoutUndefined = (env: Env): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined))

export const load = (env: Env) =>
  Effect.runSyncExit(
    ExecutorConfig.load.pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: withoutUndefined(env) }))
    )
  )

const isSet = (value: string | undefined): value is string => value !== undefined && value !== ""

export const checkConfig = (env: Env, tally: Tally): string | undefined => {
  const exit = load(env)
  const token = env[tokenVariable]
  if (Exit.isSuccess(exit)) {
    tally.count("loaded")
    const settings = exit.value
    return firstProblem(
      () => (settings.frameworkId !== env.MESOS_FRAMEWORK_ID ? "frameworkId is not MESOS_FRAMEWORK_ID" : undefined),
      () => (settings.executorId !== env.MESOS_EXECUTOR_ID ? "executorId is not MESOS_EXECUTOR_ID" : undefined),
      () =>
        Option.isSome(settings.authenticationToken) !== isSet(token) ||
          (isSet(token) && Redacted.value(Option.getOrThrow(settings.authenticationToken)) !== token)
          ? "the token was not read as given"
          : undefined,
      () =>
        isSet(token) && token.startsWith("tok-") && (inspect(settings, { depth: 5 }).includes(token) || String(settings).includes(token))
          ? "the settings print the token"
          : undefined
    )
  }
  const cause = exit.cause
  if (Cause.hasDies(cause) || Cause.hasInterrupts(cause)) return `load died or was interrupted: ${Cause.pretty(cause)}`
  const error = Result.getOrUndefined(Cause.findError(cause))
  if (error === undefined) return `load failed without an error: ${Cause.pretty(cause)}`
  const thrown = error as unknown
  if (!(thrown instanceof ExecutorConfig.ExecutorConfigError)) return `load failed with ${String(thrown)}`
  const named = new Set(error.problems.map((problem) => problem.variable))
  for (const variable of named) tally.count(`problem ${variable}`)
  const expectProblem = (variable: Variable, expected: boolean) =>
    named.has(variable) !== expected
      ? `${variable} = ${JSON.stringify(env[variable])}: ${expected ? "no problem reported" : "a problem reported"}` +
        ` (${error.message})`
      : undefined
  const problem = firstProblem(
    () => messageProblem(error.message),
    () => (error.problems.length === 0 ? "no problems listed" : undefined),
    ...error.problems.map(({ problem, variable }) => () =>
      !(variables as ReadonlyArray<string>).includes(variable)
        ? `a problem names ${JSON.stringify(variable)}, not a MESOS_* variable`
        : problem.trim() === ""
        ? `the problem with ${variable} is empty`
        : messageMentions(error.message, [`${variable}: ${problem}`])
    ),
    // The ones a reader can predict: required ids, MESOS_CHECKPOINT, malformed durations.
    () => expectProblem("MESOS_FRAMEWORK_ID", !isSet(env.MESOS_FRAMEWORK_ID)),
    () => expectProblem("MESOS_EXECUTOR_ID", !isSet(env.MESOS_EXECUTOR_ID)),
    () => expectProblem("MESOS_CHECKPOINT", isSet(env.MESOS_CHECKPOINT) && !["0", "1"].includes(env.MESOS_CHECKPOINT)),
    ...durationVariables.map((variable) => () =>
      isSet(env[variable]) ? expectProblem(variable, Result.isFailure(MesosDuration.parse(env[variable]!))) : undefined
    ),
    () => (named.has(tokenVariable) ? "a problem with the token, which any string satisfies" : undefined),
    // Never the token in the message, unless the message has it without the token too (a coincidence).
    () =>
      isSet(token) && error.message.includes(token)
        ? (() => {
          const again = load({ ...env, [tokenVariable]: undefined })
          return Exit.isFailure(again) && Cause.pretty(again.cause).includes(token)
            ? undefined
            : `the message shows the token ${JSON.stringify(token)}: ${error.message}`
        })()
        : undefined
  )
  return problem
}

export const executorConfig = (envFile: URL): Target<Env> => {
  const real = realEnvironments(envFile)
  const arbitraryEnv = fc.record(
    Object.fromEntries(variables.map((variable) => [variable, envValue(variable)])) as Record<
      Variable,
      fc.Arbitrary<string | undefined>
    >
  )
  // A real agent's environment with one to three variables changed: loads now and then, fails precisely.
  const perturbedEnv = fc.tuple(
    fc.constantFrom(...real),
    fc.array(fc.tuple(fc.constantFrom(...variables), fc.nat()), { minLength: 1, maxLength: 3 }),
    arbitraryEnv
  ).map(([base, changes, values]) => {
    const env: Env = { ...base }
    for (const [variable] of changes) env[variable] = values[variable]
    return env
  })
  return {
    name: "config.env",
    description: "ExecutorConfig.load under ConfigProvider.fromEnv: arbitrary and near-miss values for every MESOS_* " +
      "variable, and real agent environments with 1-3 variables changed",
    arbitrary: fc.oneof(arbitraryEnv, perturbedEnv),
    check: checkConfig
  }
}
