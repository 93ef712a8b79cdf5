/**
 * The configuration of a Mesos executor: who it is, how to reach its agent and
 * how to behave when the connection breaks, read from the environment the
 * agent starts it with (`executorEnvironment()` in `src/slave/slave.cpp`).
 */
import { Array as Arr, Config, Context, Duration, Effect, Layer, Option, Result, Schema } from "effect"
import * as ContentType from "../wire/ContentType.js"
import { quote } from "../wire/Excerpt.js"
import * as MesosDuration from "./MesosDuration.js"

const variables = {
  frameworkId: "MESOS_FRAMEWORK_ID",
  executorId: "MESOS_EXECUTOR_ID",
  agentEndpoint: "MESOS_AGENT_ENDPOINT",
  agentPid: "MESOS_SLAVE_PID",
  domainSocket: "MESOS_DOMAIN_SOCKET",
  agentId: "MESOS_SLAVE_ID",
  directory: "MESOS_DIRECTORY",
  sandbox: "MESOS_SANDBOX",
  checkpoint: "MESOS_CHECKPOINT",
  recoveryTimeout: "MESOS_RECOVERY_TIMEOUT",
  subscriptionBackoffMax: "MESOS_SUBSCRIPTION_BACKOFF_MAX",
  shutdownGracePeriod: "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
  authenticationToken: "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
} as const

const executorApiPath = "/api/v1/executor"

// The agent's own flag defaults. It always sets the grace period, but the
// reconnection durations only for checkpointing frameworks: without
// checkpointing an executor shuts down when the connection breaks and never
// uses them, so these defaults just keep the settings complete, meaning what
// they would on a default agent.
const agentDefaults = {
  recoveryTimeout: Duration.minutes(15), // --recovery_timeout
  subscriptionBackoffMax: Duration.seconds(2), // --executor_reregistration_timeout
  shutdownGracePeriod: Duration.seconds(5) // --executor_shutdown_grace_period
}

const ApiPath = Schema.String.check(Schema.isStartingWith("/"))

/**
 * The agent's executor API over TCP. `host` is an IP address or name, IPv6
 * without brackets.
 */
export class TcpEndpoint extends Schema.TaggedClass<TcpEndpoint>()("TcpEndpoint", {
  host: Schema.String.check(Schema.isNonEmpty()),
  port: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })),
  path: ApiPath.pipe(Schema.withConstructorDefault(Effect.succeed(executorApiPath)))
}) {
  /** Where calls are POSTed, such as `http://[::1]:5051/api/v1/executor`. */
  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host
    return `http://${host}:${this.port}${this.path}`
  }
}

/**
 * The agent's executor API on the Unix domain socket at `socketPath`
 * (`MESOS_DOMAIN_SOCKET`). The agent serves only `/slave(N)/api/v1/executor`
 * there, N being its own process id, and answers 403 to any other path.
 * A socket path of 108 bytes or more does not fit a `sockaddr_un`; the C++
 * library then connects through a path relative to the working directory.
 */
export class UnixSocketEndpoint extends Schema.TaggedClass<UnixSocketEndpoint>()("UnixSocketEndpoint", {
  socketPath: Schema.String.check(Schema.isNonEmpty()),
  path: ApiPath.pipe(Schema.withConstructorDefault(Effect.succeed(`/slave(1)${executorApiPath}`)))
}) {
  /**
   * Where calls are POSTed once connected to `socketPath`; the host part
   * only fills the `Host` header.
   */
  get url(): string {
    return `http://localhost${this.path}`
  }
}

/** How to reach the agent's executor API. */
export const AgentEndpoint = Schema.Union([TcpEndpoint, UnixSocketEndpoint])
export type AgentEndpoint = typeof AgentEndpoint.Type


const constructorDefault = <S extends Schema.Top & Schema.WithoutConstructorDefault>(value: S["~type.make"]) =>
  Schema.withConstructorDefault<S>(Effect.succeed(value))

/**
 * The configuration values. Build them with `ExecutorConfig.make`, which
 * fills in the defaults, or read them with `ExecutorConfig.load`.
 */
export class ExecutorSettings extends Schema.Class<ExecutorSettings>("ExecutorSettings")({
  /** `MESOS_FRAMEWORK_ID` */
  frameworkId: Schema.String,
  /** `MESOS_EXECUTOR_ID` */
  executorId: Schema.String,
  /** From `MESOS_DOMAIN_SOCKET`, `MESOS_AGENT_ENDPOINT` or `MESOS_SLAVE_PID`, in that order. */
  agent: AgentEndpoint,
  /** `MESOS_SLAVE_ID` */
  agentId: Schema.Option(Schema.String).pipe(constructorDefault(Option.none())),
  /** `MESOS_DIRECTORY`: the sandbox as a path on the agent's host. */
  directory: Schema.Option(Schema.String).pipe(constructorDefault(Option.none())),
  /** `MESOS_SANDBOX`: the sandbox as a path inside the container. */
  sandbox: Schema.Option(Schema.String).pipe(constructorDefault(Option.none())),
  /** `MESOS_CHECKPOINT`: whether to reconnect to a restarted agent instead of shutting down. */
  checkpoint: Schema.Boolean.pipe(constructorDefault(false)),
  /**
   * `MESOS_RECOVERY_TIMEOUT`: how long to keep reconnecting to a checkpointing
   * agent before shutting down. Defaults to 15 minutes, as the agent does.
   */
  recoveryTimeout: Schema.Duration.pipe(constructorDefault(agentDefaults.recoveryTimeout)),
  /**
   * `MESOS_SUBSCRIPTION_BACKOFF_MAX`: the upper bound of the random delay
   * between reconnection attempts. Defaults to 2 seconds, as the agent does.
   */
  subscriptionBackoffMax: Schema.Duration.pipe(constructorDefault(agentDefaults.subscriptionBackoffMax)),
  /**
   * `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`: how long the executor has from a
   * shutdown until it is killed. Defaults to 5 seconds, as the agent does.
   */
  shutdownGracePeriod: Schema.Duration.pipe(constructorDefault(agentDefaults.shutdownGracePeriod)),
  /** `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`: sent as `Authorization: Bearer <token>`. */
  authenticationToken: Schema.Option(Schema.Redacted(Schema.String)).pipe(constructorDefault(Option.none())),
  /** The encoding of calls and events. Not set by the agent: choose it with `ExecutorConfig.make`. */
  contentType: ContentType.ContentType.pipe(constructorDefault(ContentType.protobuf))
}) {}

/**
 * The executor environment is missing variables or holds malformed ones.
 * Every problem found is listed, not only the first.
 */
export class ExecutorConfigError extends Schema.TaggedError<ExecutorConfigError>()("ExecutorConfigError", {
  problems: Schema.NonEmptyArray(Schema.Struct({ variable: Schema.String, problem: Schema.String }))
}) {
  override get message(): string {
    const lines = this.problems.map(({ problem, variable }) => `  ${variable}: ${problem}`)
    return `The Mesos executor environment is invalid:\n${lines.join("\n")}`
  }
}

type Problem = ExecutorConfigError["problems"][number]

type Checked<A> = Result.Result<A, Arr.NonEmptyReadonlyArray<Problem>>

const problem = (variable: string, description: string): Checked<never> =>
  Result.fail([{ variable, problem: description }])

// Like `Result.all`, but keeps the problems of every failed check.
const collect = <const Checks extends Record<string, Checked<any>>>(checks: Checks) => {
  const problems = Object.values(checks).flatMap((check) => Result.isFailure(check) ? check.failure : [])
  return Arr.isReadonlyArrayNonEmpty(problems) ? Result.fail(problems) : Result.all(checks)
}

const required = (variable: string) => (value: Option.Option<string>): Checked<string> =>
  Option.match(value, { onNone: () => problem(variable, "required, but not set"), onSome: Result.succeed })

const parsedWith =
  <A>(variable: string, parse: (text: string) => Result.Result<A, string>) =>
  (value: Option.Option<string>): Checked<Option.Option<A>> =>
    Option.match(value, {
      onNone: () => Result.succeedNone,
      onSome: (text) =>
        Result.match(parse(text), {
          onSuccess: Result.succeedSome,
          onFailure: (description) => problem(variable, description)
        })
    })

const parseCheckpoint = (text: string): Result.Result<boolean, string> =>
  text === "1"
    ? Result.succeed(true)
    : text === "0"
    ? Result.succeed(false)
    : Result.fail(`expected "1" or "0", got ${quote(text)}`)

interface SocketAddress {
  readonly host: string
  readonly port: number
}

// `IP:PORT`; libprocess writes IPv6 without brackets (`::1:5051`), so the
// port follows the last colon. The URL parser vets the host.
const socketAddress = (text: string): Option.Option<SocketAddress> => {
  const match = /^(?:\[([^\s@/?#\\[\]]+)\]|([^\s@/?#\\[\]]+)):([0-9]{1,5})$/.exec(text)
  const host = match?.[1] ?? match?.[2]
  const port = Number(match?.[3])
  if (host === undefined || port < 1 || port > 65535) return Option.none()
  return URL.canParse(`http://${host.includes(":") ? `[${host}]` : host}:${port}/`)
    ? Option.some({ host, port })
    : Option.none()
}

const parseAgentEndpoint = (text: string): Result.Result<SocketAddress, string> =>
  Result.fromOption(
    socketAddress(text),
    () => `expected IP:PORT, such as 127.0.0.1:5051 or [::1]:5051, got ${quote(text)}`
  )

interface ProcessId extends SocketAddress {
  readonly id: string
}

// A libprocess UPID, `slave(1)@IP:PORT`. Its id becomes a path segment, so it
// must need no escaping.
const parseAgentPid = (text: string): Result.Result<ProcessId, string> => {
  const at = text.indexOf("@")
  const id = text.slice(0, at)
  const address = at > 0 && encodeURIComponent(id) === id ? socketAddress(text.slice(at + 1)) : Option.none()
  return Result.fromOption(
    Option.map(address, (address) => ({ id, ...address })),
    () => `expected ID@IP:PORT, such as slave(1)@127.0.0.1:5051, got ${quote(text)}`
  )
}

const agentEndpoint = (
  socketPath: Checked<Option.Option<string>>,
  endpoint: Checked<Option.Option<SocketAddress>>,
  pid: Checked<Option.Option<ProcessId>>
): Checked<AgentEndpoint> =>
  Result.flatMap(collect({ socketPath, endpoint, pid }), ({ endpoint, pid, socketPath }): Checked<AgentEndpoint> => {
    if (Option.isSome(socketPath)) {
      const processId = Option.match(pid, { onNone: () => "slave(1)", onSome: ({ id }) => id })
      const path = `/${processId}${executorApiPath}`
      return Result.succeed(new UnixSocketEndpoint({ socketPath: socketPath.value, path }))
    }
    if (Option.isSome(endpoint)) {
      return Result.succeed(new TcpEndpoint(endpoint.value))
    }
    if (Option.isSome(pid)) {
      const { host, id, port } = pid.value
      return Result.succeed(new TcpEndpoint({ host, port, path: `/${id}${executorApiPath}` }))
    }
    return problem(
      variables.agentEndpoint,
      `not set, and neither is ${variables.agentPid}: one of them must give the agent's address`
    )
  })

// The agent sets the reconnection durations only for checkpointing
// frameworks, and then an executor cannot do without them (the C++ library
// exits if either is missing).
const reconnectionDuration = (
  variable: string,
  checkpoint: Checked<boolean>,
  value: Checked<Option.Option<Duration.Duration>>,
  fallback: Duration.Duration
): Checked<Duration.Duration> =>
  Result.flatMap(value, (value) =>
    Option.match(value, {
      onSome: Result.succeed,
      // A malformed MESOS_CHECKPOINT is reported on its own; it does not make this one required too.
      onNone: () =>
        Result.getOrElse(checkpoint, () => false)
          ? problem(variable, `required when ${variables.checkpoint}=1, but not set`)
          : Result.succeed(fallback)
    })
  )

// An empty variable counts as unset, as everywhere in Effect's Config.
const lookup = <A>(variable: string, config: Config.Config<A>): Effect.Effect<Checked<Option.Option<A>>> =>
  Config.option(config).pipe(
    Effect.mapError((error): Arr.NonEmptyReadonlyArray<Problem> => [{ variable, problem: error.message }]),
    Effect.result
  )

const lookupString = (variable: string) => lookup(variable, Config.String(variable))

const parseDuration = (text: string): Result.Result<Duration.Duration, string> =>
  Result.mapError(MesosDuration.parse(text), (error) => error.message)

// Built once: every `Config` builds schemas, and Effect memoizes schema work in WeakMaps whose tables
// grow with each new schema (about 15 MiB over 50,000 loads when these were built per load).
const readEnvironment = Effect.all({
  frameworkId: lookupString(variables.frameworkId),
  executorId: lookupString(variables.executorId),
  agentEndpoint: lookupString(variables.agentEndpoint),
  agentPid: lookupString(variables.agentPid),
  domainSocket: lookupString(variables.domainSocket),
  agentId: lookupString(variables.agentId),
  directory: lookupString(variables.directory),
  sandbox: lookupString(variables.sandbox),
  checkpoint: lookupString(variables.checkpoint),
  recoveryTimeout: lookupString(variables.recoveryTimeout),
  subscriptionBackoffMax: lookupString(variables.subscriptionBackoffMax),
  shutdownGracePeriod: lookupString(variables.shutdownGracePeriod),
  authenticationToken: lookup(variables.authenticationToken, Config.Redacted(variables.authenticationToken))
})

const loadSettings: Effect.Effect<ExecutorSettings, ExecutorConfigError> = Effect.gen(function*() {
  const env = yield* readEnvironment
  const checkpoint = Result.map(
    Result.flatMap(env.checkpoint, parsedWith(variables.checkpoint, parseCheckpoint)),
    Option.getOrElse(() => false)
  )
  const settings = collect({
    frameworkId: Result.flatMap(env.frameworkId, required(variables.frameworkId)),
    executorId: Result.flatMap(env.executorId, required(variables.executorId)),
    agent: agentEndpoint(
      env.domainSocket,
      Result.flatMap(env.agentEndpoint, parsedWith(variables.agentEndpoint, parseAgentEndpoint)),
      Result.flatMap(env.agentPid, parsedWith(variables.agentPid, parseAgentPid))
    ),
    agentId: env.agentId,
    directory: env.directory,
    sandbox: env.sandbox,
    checkpoint,
    recoveryTimeout: reconnectionDuration(
      variables.recoveryTimeout,
      checkpoint,
      Result.flatMap(env.recoveryTimeout, parsedWith(variables.recoveryTimeout, parseDuration)),
      agentDefaults.recoveryTimeout
    ),
    subscriptionBackoffMax: reconnectionDuration(
      variables.subscriptionBackoffMax,
      checkpoint,
      Result.flatMap(env.subscriptionBackoffMax, parsedWith(variables.subscriptionBackoffMax, parseDuration)),
      agentDefaults.subscriptionBackoffMax
    ),
    shutdownGracePeriod: Result.map(
      Result.flatMap(env.shutdownGracePeriod, parsedWith(variables.shutdownGracePeriod, parseDuration)),
      Option.getOrElse(() => agentDefaults.shutdownGracePeriod)
    ),
    authenticationToken: env.authenticationToken
  })
  return yield* Result.match(settings, {
    onFailure: (problems) => Effect.fail(new ExecutorConfigError({ problems })),
    onSuccess: (fields) => Effect.succeed(new ExecutorSettings(fields))
  })
})

/**
 * The executor's configuration as a service.
 *
 * - `ExecutorConfig.layer` reads it from the environment (the current
 *   `ConfigProvider`, `process.env` unless replaced);
 * - `ExecutorConfig.layerFrom(ExecutorConfig.make({ ... }))` supplies it
 *   directly, in tests or when an executor is not started by an agent.
 */
export class ExecutorConfig extends Context.Service<ExecutorConfig, ExecutorSettings>()(
  "effect-mesos-executor/ExecutorConfig"
) {
  /**
   * Builds settings from the required values, taking the defaults for the
   * rest. Throws if a value is out of its range (a port outside 1-65535, a
   * path not starting with `/`).
   */
  static readonly make = (input: ConstructorParameters<typeof ExecutorSettings>[0]): ExecutorSettings =>
    new ExecutorSettings(input)

  /** Reads the settings from the environment, reporting every problem at once. */
  static readonly load: Effect.Effect<ExecutorSettings, ExecutorConfigError> = loadSettings

  static readonly layer: Layer.Layer<ExecutorConfig, ExecutorConfigError> = Layer.effect(ExecutorConfig, loadSettings)

  static readonly layerFrom = (settings: ExecutorSettings): Layer.Layer<ExecutorConfig> =>
    Layer.succeed(ExecutorConfig, settings)
}

/** Reads the settings from the environment; see `ExecutorConfig.load`. */
export const load = ExecutorConfig.load

/** Builds settings with defaults; see `ExecutorConfig.make`. */
export const make = ExecutorConfig.make

/** The service, read from the environment. */
export const layer = ExecutorConfig.layer

/** The service, from given settings. */
export const layerFrom = ExecutorConfig.layerFrom
