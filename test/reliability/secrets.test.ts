// The executor authentication token is a secret: with a distinctive token in MESOS_EXECUTOR_AUTHENTICATION_TOKEN,
// nothing the library, the bin or `local` writes may hold it (nor its base64): log lines at every level
// (Debug included), error messages and their JSON and inspect forms, span names and attributes, a task's
// environment, the stdout and stderr of the processes and the sandbox's files. Each run also shows the
// token where it must be, in the Authorization header the agent received, so that no check passes
// because the token never got anywhere.
import { assert, describe, it } from "@effect/vitest"
import { create } from "@bufbuild/protobuf"
import { Cause, ConfigProvider, Effect, Fiber, Layer, Logger, Option, Redacted, References, Tracer } from "effect"
import {
  ContentType,
  Executor,
  ExecutorConfig,
  ExecutorDriver,
  HttpAgentClient,
  Mesos,
  MesosExecutor
} from "effect-mesos-executor"
import { AgentModel, FakeAgent, HttpFakeAgent } from "effect-mesos-executor/testing"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { inspect } from "node:util"
import { agentPath, runBin, temporaryDirectory, writeTasks } from "../cli/bin.js"
import { listen } from "../transport/RawAgentServer.js"

const token = "Tok3n-QX7Z9-secret-d41d8cd98f00b204"
const wrongToken = "Tok3n-WRONG-5f4dcc3b5aa765d61d83"
/** The token as it must never appear: itself, and as base64 (an Authorization header's Basic form, a dump). */
const forms = (secret: string) => [
  secret,
  Buffer.from(secret).toString("base64"),
  Buffer.from(secret).toString("base64url"),
  Buffer.from(`Bearer ${secret}`).toString("base64")
]

/** Everything the runs below showed, by where it came from. */
class Evidence {
  readonly texts: Array<{ readonly where: string; readonly text: string }> = []

  add(where: string, text: string): void {
    this.texts.push({ where, text })
  }

  /** An error as a user sees it: message, String, JSON and inspect forms, and its cause pretty-printed. */
  addError(where: string, error: unknown): void {
    this.add(`${where}: message`, error instanceof Error ? error.message : String(error))
    this.add(`${where}: String`, String(error))
    this.add(`${where}: JSON`, JSON.stringify(error) ?? "")
    this.add(`${where}: inspect`, inspect(error, { depth: 20 }))
    this.add(`${where}: Cause.pretty`, Cause.pretty(Cause.fail(error)))
  }

  assertNone(...secrets: ReadonlyArray<string>): void {
    assert.isAbove(this.texts.length, 0)
    for (const secret of secrets) {
      for (const form of forms(secret)) {
        for (const { text, where } of this.texts) assert.notInclude(text, form, `${where} shows the token`)
      }
    }
  }
}

/** Every log line at every level, structured and as logfmt, into the evidence. */
const captureLogs = (evidence: Evidence) =>
  Layer.merge(
    Logger.layer([
      Logger.map(Logger.formatStructured, (line) => evidence.add("log (structured)", JSON.stringify(line))),
      Logger.map(Logger.formatLogFmt, (line) => evidence.add("log (logfmt)", line))
    ]),
    Layer.succeed(References.MinimumLogLevel, "All")
  )

/** A tracer keeping every span: its name, attributes, events and how it ended. */
const captureSpans = (spans: Array<Tracer.NativeSpan>) =>
  Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })

const addSpans = (evidence: Evidence, spans: ReadonlyArray<Tracer.NativeSpan>) => {
  for (const span of spans) {
    evidence.add(`span ${span.name}`, span.name)
    evidence.add(`span ${span.name}: attributes`, inspect([...span.attributes], { depth: 10 }))
    evidence.add(`span ${span.name}: events`, inspect(span.events, { depth: 10 }))
    evidence.add(`span ${span.name}: status`, inspect(span.status, { depth: 10 }))
  }
}

const task = (id: string, command?: string) => ({
  name: id,
  taskId: { value: id },
  agentId: { value: "fake-agent-S0" },
  ...(command === undefined ? {} : { command: { value: command } })
})

/**
 * An executor that logs its settings at Debug (as a user may), reports each task RUNNING then FINISHED,
 * and answers framework messages with one of its own.
 */
const executor = Executor.make<unknown, ExecutorConfig.ExecutorConfig | ExecutorDriver.ExecutorDriver>({
  registered: () =>
    Effect.gen(function*() {
      yield* Effect.logDebug("settings", yield* ExecutorConfig.ExecutorConfig)
    }),
  launchTask: (launched) =>
    Effect.gen(function*() {
      const driver = yield* ExecutorDriver.ExecutorDriver
      yield* driver.runTask(
        launched.taskId!,
        Effect.gen(function*() {
          yield* driver.sendStatusUpdate({ taskId: launched.taskId!, state: Mesos.TaskState.TASK_RUNNING })
          const finished = { taskId: launched.taskId!, state: Mesos.TaskState.TASK_FINISHED }
          yield* (yield* driver.sendStatusUpdate(finished)).acknowledged
        })
      )
    }),
  frameworkMessage: (data) =>
    Effect.flatMap(ExecutorDriver.ExecutorDriver, (driver) => driver.sendFrameworkMessage(data))
})

/** The environment an agent with `authentication` gives the executor, with our token. */
const environmentOf = (http: HttpFakeAgent.HttpFakeAgentShape) =>
  Effect.map(http.environment(), (env) => {
    assert.strictEqual(env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"], token, "the agent hands out the token")
    return env
  })

const fromEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

/** Runs the executor to its end against the agent: one task, one framework message, then SHUTDOWN. */
const exercise = <R>(model: AgentModel.AgentModelShape, run: Effect.Effect<ExecutorDriver.DriverEnd, unknown, R>) =>
  Effect.gen(function*() {
    yield* model.launch(task("t1"))
    const running = yield* Effect.forkChild(run)
    yield* model.awaitUpdate((update) => update.status.state === Mesos.TaskState.TASK_FINISHED)
    yield* model.frameworkMessage(new TextEncoder().encode("ping"))
    yield* model.awaitState((state) => (state.messages.length > 0 ? true : undefined))
    yield* model.shutdownExecutor()
    assert.strictEqual(yield* Fiber.join(running), "Stopped")
  })

/** Every call the agent answered was accepted: with authentication on, that means the right token. */
const assertAuthenticated = (model: AgentModel.AgentModelShape) =>
  Effect.gen(function*() {
    const calls = (yield* model.state).calls
    assert.isAtLeast(calls.length, 4)
    for (const call of calls) {
      assert.oneOf(call.status, [200, 202], `${call.call?.type} answered ${call.status} ${call.body}`)
    }
  })

describe("the authentication token appears nowhere but in the Authorization header", () => {
  it.live("the driver over HTTP (HttpAgentClient, config from the environment): logs, spans, errors", () => {
    const evidence = new Evidence()
    const spans: Array<Tracer.NativeSpan> = []
    return Effect.gen(function*() {
      const http = yield* HttpFakeAgent.HttpFakeAgent
      const env = yield* environmentOf(http)
      const live = (environment: Record<string, string>) =>
        ExecutorDriver.run(executor).pipe(
          Effect.provide(HttpAgentClient.layer.pipe(Layer.provideMerge(ExecutorConfig.layer))),
          fromEnv(environment)
        )
      yield* exercise(http.model, live(env))
      yield* assertAuthenticated(http.model)

      // Refused: a wrong token (401), and a configuration error with the token set.
      const refused = yield* Effect.flip(live({ ...env, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: wrongToken }))
      assert.include(String(refused), "401")
      evidence.addError("driver refused", refused)
      const invalid = yield* Effect.flip(ExecutorConfig.load.pipe(fromEnv({ ...env, MESOS_FRAMEWORK_ID: "" })))
      evidence.addError("invalid configuration", invalid)
      const settings = yield* ExecutorConfig.load.pipe(fromEnv(env))
      evidence.add("settings: inspect", inspect(settings, { depth: 10 }))
      evidence.add("settings: JSON", JSON.stringify(settings))
      evidence.add("settings: String", String(settings))

      addSpans(evidence, spans)
      assert.isAtLeast(spans.length, 5, "the calls and callbacks were traced")
      evidence.assertNone(token, wrongToken)
    }).pipe(
      Effect.provide(HttpFakeAgent.layer({ authentication: true, executors: [{ token }] })),
      Effect.provide(captureLogs(evidence)),
      Effect.withTracer(captureSpans(spans))
    )
  })

  it.effect("the driver against the in-memory fake agent, configured from the environment", () => {
    const evidence = new Evidence()
    const spans: Array<Tracer.NativeSpan> = []
    return Effect.gen(function*() {
      const model = yield* AgentModel.AgentModel
      const env = {
        MESOS_FRAMEWORK_ID: "fake-framework-0000",
        MESOS_EXECUTOR_ID: "fake-executor",
        MESOS_AGENT_ENDPOINT: "127.0.0.1:5051",
        MESOS_EXECUTOR_AUTHENTICATION_TOKEN: token
      }
      yield* exercise(model, ExecutorDriver.run(executor).pipe(Effect.provide(ExecutorConfig.layer), fromEnv(env)))
      yield* assertAuthenticated(model)
      addSpans(evidence, spans)
      assert.isAbove(spans.length, 0)
      evidence.assertNone(token)
    }).pipe(
      Effect.provide(FakeAgent.layer({ authentication: true, executors: [{ token }] })),
      Effect.provide(captureLogs(evidence)),
      Effect.withTracer(captureSpans(spans))
    )
  })

  it.live("an agent (or proxy) echoing the request in its error: the detail shows <redacted>", () => {
    const evidence = new Evidence()
    return Effect.gen(function*() {
      const agent = yield* listen((request, response) => {
        response.writeHead(400, { "content-type": "text/plain" })
        response.end(`Bad request; you sent Authorization: ${request.headers.authorization}`)
      })
      const client = yield* HttpAgentClient.make({
        agent: agent.endpoint,
        contentType: ContentType.protobuf,
        authenticationToken: Option.some(Redacted.make(token))
      })
      const call = create(MesosExecutor.CallSchema, {
        frameworkId: { value: "f" },
        executorId: { value: "e" },
        type: MesosExecutor.Call_Type.HEARTBEAT
      })
      const error = yield* Effect.flip(client.send(call))
      assert.strictEqual(agent.requests[0]?.headers.authorization, `Bearer ${token}`)
      assert.include(error.detail, "Authorization: Bearer <redacted>")
      evidence.addError("AgentCallError", error)
      evidence.assertNone(token)
    }).pipe(Effect.provide(captureLogs(evidence)), Effect.scoped)
  })

  it.live("bin/effect-mesos-executor command: its output, a task's environment and the sandbox", () =>
    Effect.gen(function*() {
      const http = yield* HttpFakeAgent.HttpFakeAgent
      const sandbox = yield* temporaryDirectory
      yield* http.model.launch(task("dump", "env > task-env.txt; env; echo done"))
      const env: Record<string, string> = { ...(yield* http.environment({ sandbox })), PATH: agentPath }
      assert.strictEqual(env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"], token)
      const outcome = yield* runBin(["command"], { env, cwd: sandbox })
      assert.strictEqual(outcome.exit, 0, outcome.stdout + outcome.stderr)
      yield* assertAuthenticated(http.model)
      const taskEnv = Fs.readFileSync(Path.join(sandbox, "task-env.txt"), "utf8")
      assert.include(taskEnv, `MESOS_SANDBOX=${sandbox}`, "the task's environment was dumped")
      assert.include(outcome.stdout, "MESOS_SANDBOX=", "the task's output reached the executor's")
      const evidence = new Evidence()
      evidence.add("executor stdout", outcome.stdout)
      evidence.add("executor stderr", outcome.stderr)
      for (const file of Fs.readdirSync(sandbox)) {
        evidence.add(`sandbox ${file}`, Fs.readFileSync(Path.join(sandbox, file), "utf8"))
      }
      evidence.assertNone(token)
    }).pipe(Effect.provide(HttpFakeAgent.layer({ authentication: true, executors: [{ token }] })), Effect.scoped))

  it.live("local, itself run with the token in its environment: none reaches its executors or output", () =>
    Effect.gen(function*() {
      const workDir = yield* temporaryDirectory
      const tasks = writeTasks(workDir, "tasks.json", {
        executors: [{
          executor: { executor_id: { value: "dump" } },
          launches: [{
            task: { task_id: { value: "env" }, command: { value: "env > task-env.txt; env" } },
            expect: "TASK_FINISHED"
          }]
        }]
      })
      const outcome = yield* runBin(["local", "--tasks", tasks, "--work-dir", workDir, "--echo"], {
        env: { ...stringEnv(), MESOS_EXECUTOR_AUTHENTICATION_TOKEN: token }
      })
      assert.strictEqual(outcome.exit, 0, outcome.stdout + outcome.stderr)
      assert.include(outcome.stdout, "MESOS_FRAMEWORK_ID=", "the task's environment was echoed")
      const evidence = new Evidence()
      evidence.add("local stdout", outcome.stdout)
      evidence.add("local stderr", outcome.stderr)
      for (const file of Fs.readdirSync(workDir, { recursive: true, encoding: "utf8" })) {
        const path = Path.join(workDir, file)
        if (Fs.statSync(path).isFile()) evidence.add(`work dir ${file}`, Fs.readFileSync(path, "utf8"))
      }
      const dumped = evidence.texts.find(({ where }) => where.endsWith("task-env.txt"))
      assert.include(dumped?.text, "MESOS_SANDBOX=", "the task's environment was dumped")
      evidence.assertNone(token)
    }).pipe(Effect.scoped))
})

/** This process's environment, without unset variables. */
const stringEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined))
