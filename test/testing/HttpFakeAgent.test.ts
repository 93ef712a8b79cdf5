import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Result, Schedule } from "effect"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Call, type Event, Event_Type } from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { TaskState, TaskStatus_Source } from "../../src/gen/mesos/v1/mesos_pb.js"
import type { AgentModelShape } from "../../src/testing/AgentModel.js"
import * as HttpFakeAgent from "../../src/testing/HttpFakeAgent.js"
import * as ContentType from "../../src/wire/ContentType.js"
import * as RecordIO from "../../src/wire/RecordIO.js"
import * as WireCodec from "../../src/wire/WireCodec.js"
import * as calls from "./calls.js"
import * as Raw from "./rawHttp.js"

const textPlain = "text/plain; charset=utf-8"

const encode = (call: Call, contentType: ContentType.ContentType = ContentType.protobuf): Uint8Array =>
  Result.getOrThrow(WireCodec.forContentType(contentType).encodeCall(call))

/** A POST of `call` as an executor sends it. */
const post = (call: Call, contentType: ContentType.ContentType = ContentType.protobuf, headers = {}): Raw.Request => ({
  headers: { "Content-Type": contentType, ...headers },
  body: encode(call, contentType)
})

/** The whole records of a SUBSCRIBE response so far, whatever the chunking. */
const records = (response: Raw.Response): Array<Uint8Array> =>
  Result.getOrElse(RecordIO.decodeAll(response.chunks), () => [])

/** Waits until the stream has brought `count` events. */
const received = (response: Raw.Response, count: number) =>
  response.until((response) => records(response).length >= count)

/** The events of a SUBSCRIBE response so far, decoded with the codec its Content-Type names. */
const events = (response: Raw.Response): Array<Event> => {
  const codec = WireCodec.forContentType(response.headers["content-type"] as ContentType.ContentType)
  return records(response).map((record) => Result.getOrThrow(codec.decodeEvent(record)))
}

const eventTypes = (response: Raw.Response) => events(response).map((event) => Event_Type[event.type])

const withAgent = <A, E>(
  test: (agent: HttpFakeAgent.HttpFakeAgentShape, model: AgentModelShape) => Effect.Effect<A, E>,
  options: HttpFakeAgent.Options = {}
) =>
  Effect.scoped(Effect.flatMap(HttpFakeAgent.make(options), (agent) => test(agent, agent.model)))

describe("HttpFakeAgent", () => {
  describe("HTTP checks, in the agent's order", () => {
    it.live("answers a method other than POST with 405 and Allow: POST, before looking at the content type", () =>
      withAgent((agent) =>
        Effect.gen(function*() {
          for (const method of ["GET", "PUT"]) {
            const response = yield* Raw.exchange(agent, {
              method,
              headers: { "Content-Type": "text/plain" },
              body: "x"
            })
            assert.strictEqual(response.status, 405)
            assert.strictEqual(response.headers["allow"], "POST")
            assert.strictEqual(response.headers["content-type"], textPlain)
            assert.strictEqual(
              response.text,
              `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${method}'.`
            )
          }
        })
      ))

    it.live("answers 400 without a Content-Type and 415 for any but the two exact media types", () =>
      withAgent((agent) =>
        Effect.gen(function*() {
          const body = encode(calls.message("probe"))
          const missing = yield* Raw.exchange(agent, { body })
          assert.deepStrictEqual([missing.status, missing.text], [400, "Expecting 'Content-Type' to be present"])
          const unsupported = ["application/unknown-media-type", "application/json; charset=utf-8", "Application/JSON"]
          for (const contentType of unsupported) {
            const response = yield* Raw.exchange(agent, { headers: { "Content-Type": contentType }, body })
            assert.strictEqual(response.status, 415)
            assert.strictEqual(response.text, "Expecting 'Content-Type' of application/json or application/x-protobuf")
          }
        })
      ))

    it.live("answers 400 to bodies that do not parse into a Call", () =>
      withAgent((agent) =>
        Effect.gen(function*() {
          const protobuf = yield* Raw.exchange(agent, {
            headers: { "Content-Type": ContentType.protobuf },
            body: "MALFORMED_CONTENT"
          })
          assert.deepStrictEqual([protobuf.status, protobuf.text], [400, "Failed to parse body into Call protobuf"])
          const json = yield* Raw.exchange(agent, {
            headers: { "Content-Type": ContentType.json },
            body: "MALFORMED_CONTENT"
          })
          assert.strictEqual(json.status, 400)
          assert.match(json.text, /^Failed to parse body into JSON: /)
          const notACall = yield* Raw.exchange(agent, {
            headers: { "Content-Type": ContentType.json },
            body: JSON.stringify({ string: "valid_json" })
          })
          assert.deepStrictEqual(
            [notACall.status, notACall.text],
            [400, "Failed to convert JSON into Call protobuf: Missing required fields: executor_id, framework_id"]
          )
          const unknownType = yield* Raw.exchange(agent, {
            headers: { "Content-Type": ContentType.json },
            body: JSON.stringify({ executor_id: { value: "x" }, framework_id: { value: "y" }, type: "FOO" })
          })
          assert.deepStrictEqual(
            [unknownType.status, unknownType.text],
            [400, "Failed to validate Executor::Call: Expecting 'type' to be present"]
          )
          const camelCase = yield* Raw.exchange(agent, {
            headers: { "Content-Type": ContentType.json },
            body: JSON.stringify({ executorId: { value: "x" }, frameworkId: { value: "y" }, type: "HEARTBEAT" })
          })
          assert.strictEqual(camelCase.status, 400)
          assert.strictEqual(camelCase.headers["content-type"], textPlain)
        })
      ))

    describe.each<ContentType.ContentType>([ContentType.protobuf, ContentType.json])("in %s", (contentType) => {
      it.live("answers 400 to a valid body that is an invalid call", () =>
        withAgent((agent, model) =>
          Effect.gen(function*() {
            yield* model.launch({ taskId: { value: "task-1" } })
            const subscribed = yield* Effect.scoped(
              Effect.flatMap(Raw.send(agent, post(calls.subscribe(), contentType)), (response) =>
                received(response, 2))
            )
            assert.strictEqual(subscribed.status, 200)
            const cases: Array<[Call, string]> = [
              [{ ...calls.subscribe(), subscribe: undefined }, "Expecting 'subscribe' to be present"],
              [{ ...calls.update("task-1", TaskState.TASK_RUNNING), update: undefined }, "Expecting 'update' to be present"],
              [{ ...calls.message("probe"), message: undefined }, "Expecting 'message' to be present"],
              [
                calls.update("task-1", TaskState.TASK_RUNNING, { executorId: { value: "someone-else" } }),
                "ExecutorID in Call: fake-executor does not match ExecutorID in TaskStatus: someone-else"
              ],
              [
                calls.update("task-1", TaskState.TASK_RUNNING, { uuid: new TextEncoder().encode("dummy_uuid") }),
                "Not a valid UUID"
              ],
              [
                calls.update("task-1", TaskState.TASK_STAGING),
                "Received TASK_STAGING from executor fake-executor of framework fake-framework-0000 which is not allowed"
              ],
              [
                calls.update("task-1", TaskState.TASK_RUNNING, { source: TaskStatus_Source.MASTER }),
                "Received Call from executor fake-executor of framework fake-framework-0000 with invalid source, " +
                "expecting 'SOURCE_EXECUTOR'"
              ]
            ]
            for (const [call, message] of cases) {
              const response = yield* Raw.exchange(agent, post(call, contentType))
              assert.strictEqual(response.status, 400)
              assert.strictEqual(response.headers["content-type"], textPlain)
              assert.strictEqual(response.text, `Failed to validate Executor::Call: ${message}`)
            }
          })
        ))

      it.live("answers 400 to a MESSAGE from an unknown framework", () =>
        withAgent((agent) =>
          Effect.gen(function*() {
            const response = yield* Raw.exchange(
              agent,
              post(calls.message("probe", { frameworkId: "no-such-framework" }), contentType)
            )
            assert.deepStrictEqual([response.status, response.text], [400, "Framework cannot be found"])
          })
        ))

      for (const [accept, expected] of [[undefined, ContentType.json], ["*/*", ContentType.json]] as const) {
        it.live(`streams JSON for SUBSCRIBE with Accept ${accept ?? "absent"}`, () =>
          withAgent((agent) =>
            Effect.scoped(Effect.gen(function*() {
              const response = yield* Raw.send(
                agent,
                post(calls.subscribe(), contentType, accept === undefined ? {} : { Accept: accept })
              )
              yield* received(response, 1)
              assert.strictEqual(response.status, 200)
              assert.strictEqual(response.headers["content-type"], expected)
              assert.deepStrictEqual(eventTypes(response), ["SUBSCRIBED"])
            }))
          ))
      }
    })

    it.live("answers 406 when Accept allows neither type, before looking the executor up", () =>
      withAgent((agent) =>
        Effect.gen(function*() {
          const response = yield* Raw.exchange(
            agent,
            post(calls.subscribe({}, { executorId: "x", frameworkId: "y" }), ContentType.protobuf, { Accept: "foo" })
          )
          assert.strictEqual(response.status, 406)
          assert.strictEqual(
            response.text,
            "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
          )
        })
      ))

    it.live("prefers JSON whenever Accept allows it; protobuf only when JSON is not acceptable", () =>
      withAgent((agent) =>
        Effect.gen(function*() {
          const cases = [
            ["application/x-protobuf, application/json", ContentType.json],
            ["application/*", ContentType.json],
            ["application/x-protobuf", ContentType.protobuf],
            ["application/json;q=0, application/x-protobuf", ContentType.protobuf]
          ] as const
          for (const [accept, expected] of cases) {
            const response = yield* Effect.scoped(
              Effect.flatMap(Raw.send(agent, post(calls.subscribe(), ContentType.json, { Accept: accept })), (response) =>
                received(response, 1))
            )
            assert.strictEqual(response.headers["content-type"], expected, accept)
            assert.deepStrictEqual(eventTypes(response), ["SUBSCRIBED"])
          }
        })
      ))

    it.live("routes both paths and the trailing slash; other paths are 404", () =>
      withAgent((agent) =>
        Effect.gen(function*() {
          for (const path of ["/api/v1/executor", "/slave(1)/api/v1/executor", "/api/v1/executor/"]) {
            const response = yield* Raw.exchange(agent, { ...post(calls.heartbeat()), path })
            assert.strictEqual(response.status, 202, path)
          }
          const other = yield* Raw.exchange(agent, { ...post(calls.heartbeat()), path: "/slave(2)/api/v1/executor" })
          assert.deepStrictEqual([other.status, other.text], [404, "404 Not Found."])
        })
      ))
  })

  describe.each<ContentType.ContentType>([ContentType.protobuf, ContentType.json])("the %s event stream", (contentType) => {
    it.live("is a chunked RecordIO stream, one record per chunk: SUBSCRIBED, LAUNCH, then ACKNOWLEDGED for an UPDATE", () =>
      withAgent((agent, model) =>
        Effect.scoped(Effect.gen(function*() {
          yield* model.launch({ taskId: { value: "task-1" }, command: { value: "exit 0" } })
          const stream = yield* Raw.send(agent, post(calls.subscribe(), contentType, { Accept: contentType }))
          yield* received(stream, 2)
          assert.strictEqual(stream.status, 200)
          assert.strictEqual(stream.headers["transfer-encoding"], "chunked")
          assert.isUndefined(stream.headers["content-length"])
          assert.strictEqual(stream.headers["content-type"], contentType)
          // Each chunk is exactly one whole record.
          assert.strictEqual(stream.chunks.length, 2)
          for (const chunk of stream.chunks) {
            assert.strictEqual(Result.getOrThrow(RecordIO.decodeAll([chunk])).length, 1)
          }
          const [subscribed, launch] = events(stream)
          assert.strictEqual(subscribed?.subscribed?.executorInfo?.executorId?.value, calls.executorId)
          assert.strictEqual(subscribed?.subscribed?.containerId?.value, "fake-container-0")
          assert.strictEqual(subscribed?.subscribed?.agentInfo?.port, agent.port)
          assert.strictEqual(launch?.launch?.task?.command?.value, "exit 0")

          const update = calls.update("task-1", TaskState.TASK_RUNNING)
          const accepted = yield* Raw.exchange(agent, post(update, contentType))
          assert.strictEqual(accepted.status, 202)
          assert.strictEqual(accepted.headers["content-length"], "0")
          assert.isUndefined(accepted.headers["content-type"])
          assert.strictEqual(accepted.body.length, 0)

          yield* received(stream, 3)
          const ack = events(stream)[2]
          assert.strictEqual(ack?.type, Event_Type.ACKNOWLEDGED)
          assert.strictEqual(ack?.acknowledged?.taskId?.value, "task-1")
          assert.deepStrictEqual(ack?.acknowledged?.uuid, update.update!.status!.uuid)
          assert.strictEqual(stream.ending, "open")
        }))
      ))
  })

  it.live("writes the JSON defaults the agent writes", () =>
    withAgent((agent) =>
      Effect.scoped(Effect.gen(function*() {
        const stream = yield* Raw.send(agent, post(calls.subscribe(), ContentType.json))
        yield* received(stream, 1)
        const record = Result.getOrThrow(RecordIO.decodeAll(stream.chunks))[0]!
        const json = JSON.parse(new TextDecoder().decode(record))
        assert.strictEqual(json.type, "SUBSCRIBED")
        assert.strictEqual(json.subscribed.framework_info.checkpoint, false)
        assert.strictEqual(json.subscribed.agent_info.id.value, "fake-agent-S0")
      }))
    ))

  it.live("ends the previous stream with the last chunk when the executor subscribes again", () =>
    withAgent((agent) =>
      Effect.scoped(Effect.gen(function*() {
        const first = yield* Raw.send(agent, post(calls.subscribe()))
        yield* received(first, 1)
        const second = yield* Raw.send(agent, post(calls.subscribe()))
        yield* first.done
        assert.strictEqual(first.ending, "terminated")
        yield* received(second, 1)
        assert.deepStrictEqual(eventTypes(second), ["SUBSCRIBED"])
      }))
    ))

  it.live("the agent notices neither a closed stream nor the connection's end", () =>
    withAgent((agent, model) =>
      Effect.gen(function*() {
        yield* model.launch({ taskId: { value: "task-1" } })
        yield* Effect.scoped(
          Effect.flatMap(Raw.send(agent, post(calls.subscribe())), (stream) =>
            received(stream, 2))
        )
        yield* model.awaitState((state) => state.subscriptions[0]?.ended?.reason === "ClosedByExecutor" || undefined)
        const accepted = yield* Raw.exchange(agent, post(calls.update("task-1", TaskState.TASK_RUNNING)))
        assert.strictEqual(accepted.status, 202)
        const state = yield* model.state
        assert.strictEqual(state.executors[0]?.status, "Running")
        assert.deepStrictEqual(state.events.map((sent) => Event_Type[sent.event.type]), [
          "SUBSCRIBED",
          "LAUNCH",
          "ACKNOWLEDGED"
        ])
      })
    ))

  it.live("while restarting: refuses connections, then 404, then 503 to everything, then SUBSCRIBE but not UPDATE", () =>
    withAgent((agent, model) =>
      Effect.gen(function*() {
        yield* model.launch({ taskId: { value: "task-1" } })
        const stream = yield* Raw.send(agent, post(calls.subscribe()))
        yield* received(stream, 2)

        // A call still arriving when the agent dies.
        const inFlight = yield* Raw.send(agent, {
          headers: { "Content-Type": ContentType.protobuf, "Content-Length": "100" },
          body: "partial"
        })

        // A poller like the one behind real-agent/restart.txt: GET on a fresh connection every 10 ms.
        const seen: Array<number | "unreachable"> = []
        let refused = false
        const poller = yield* Raw.exchange(agent, { method: "GET" }).pipe(
          Effect.map((response): number | "unreachable" => response.status!),
          Effect.catch((unreachable) =>
            Effect.sync(() => {
              refused ||= unreachable.cause.includes("ECONNREFUSED")
              return "unreachable" as const
            })
          ),
          Effect.tap((outcome) => Effect.sync(() => seen.at(-1) !== outcome && seen.push(outcome))),
          Effect.repeat(Schedule.spaced("10 millis")),
          Effect.forkChild
        )
        yield* Effect.sleep("30 millis")
        yield* model.restart({
          downFor: "200 millis",
          notFoundFor: "150 millis",
          unavailableFor: "150 millis",
          reregistrationTimeout: "400 millis"
        })
        // The agent died: the stream breaks off without its last chunk, and every connection is cut.
        yield* stream.done
        assert.strictEqual(stream.ending, "closed")
        yield* inFlight.until((response) => response.connectionClosed).pipe(Effect.timeout("1 second"))
        assert.isUndefined(inFlight.status)

        yield* model.awaitPhase("Recovering")
        const resubscribed = yield* Raw.send(
          agent,
          post(calls.subscribe({
            unacknowledgedTasks: [calls.unacknowledgedTask("task-1")]
          }))
        ).pipe(Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 20 }))
        yield* received(resubscribed, 1)
        assert.deepStrictEqual(eventTypes(resubscribed), ["SUBSCRIBED"])
        const update = calls.update("task-1", TaskState.TASK_RUNNING)
        const early = yield* Raw.exchange(agent, post(update))
        assert.deepStrictEqual([early.status, early.text], [503, "Agent has not finished recovery"])

        yield* model.awaitPhase("Running")
        const late = yield* Raw.exchange(agent, post(update))
        assert.strictEqual(late.status, 202)
        yield* received(resubscribed, 2)
        assert.deepStrictEqual(eventTypes(resubscribed), ["SUBSCRIBED", "ACKNOWLEDGED"])

        yield* Effect.sleep("30 millis")
        yield* Fiber.interrupt(poller)
        assert.deepStrictEqual(seen, [405, "unreachable", 404, 503, 405])
        // The listening socket itself was closed, not just connections reset.
        assert.isTrue(refused)
      }).pipe(Effect.scoped),
    { frameworks: [{ checkpoint: true }] }))

  it.live("over a Unix domain socket, serves only /slave(1)/api/v1/executor", () => {
    const path = join(tmpdir(), `fake-agent-${process.pid}-${Date.now()}.sock`)
    return withAgent((agent) =>
      Effect.gen(function*() {
        assert.strictEqual(agent.socketPath, path)
        const ok = yield* Raw.exchange({ path }, { ...post(calls.heartbeat()), path: "/slave(1)/api/v1/executor" })
        assert.strictEqual(ok.status, 202)
        const forbidden = yield* Raw.exchange({ path }, post(calls.heartbeat()))
        assert.deepStrictEqual([forbidden.status, forbidden.text], [403, "403 Forbidden."])
        const env = yield* agent.environment()
        assert.strictEqual(env["MESOS_DOMAIN_SOCKET"], path)
      }), { socketPath: path }).pipe(Effect.ensuring(Effect.sync(() => rmSync(path, { force: true }))))
  })

  it.live("answers 401 with the Bearer challenge when executors must authenticate", () =>
    withAgent((agent) =>
      Effect.gen(function*() {
        const response = yield* Raw.exchange(agent, post(calls.subscribe()))
        assert.strictEqual(response.status, 401)
        assert.strictEqual(response.headers["www-authenticate"], "Bearer realm=\"mesos-agent-executor\"")
        const env = yield* agent.environment()
        const authorized = yield* Effect.scoped(
          Effect.flatMap(
            Raw.send(
              agent,
              post(calls.subscribe(), ContentType.protobuf, {
                Authorization: `Bearer ${env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"]}`
              })
            ),
            (stream) => received(stream, 1)
          )
        )
        assert.strictEqual(authorized.status, 200)
      }), { authentication: true }))

  it.live("gives the executor the agent's environment", () =>
    withAgent((agent) =>
      Effect.gen(function*() {
        const env = yield* agent.environment({ sandbox: "/tmp/sandbox" })
        assert.deepStrictEqual(env, {
          MESOS_FRAMEWORK_ID: calls.frameworkId,
          MESOS_EXECUTOR_ID: calls.executorId,
          MESOS_SLAVE_ID: "fake-agent-S0",
          MESOS_SLAVE_PID: `slave(1)@127.0.0.1:${agent.port}`,
          MESOS_AGENT_ENDPOINT: `127.0.0.1:${agent.port}`,
          MESOS_CHECKPOINT: "1",
          MESOS_HTTP_COMMAND_EXECUTOR: "0",
          MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "5secs",
          MESOS_RECOVERY_TIMEOUT: "15mins",
          MESOS_SUBSCRIPTION_BACKOFF_MAX: "2secs",
          LIBPROCESS_PORT: "0",
          MESOS_DIRECTORY: "/tmp/sandbox",
          MESOS_SANDBOX: "/tmp/sandbox"
        })
        assert.strictEqual(agent.executorUrl, `http://127.0.0.1:${agent.port}/slave(1)/api/v1/executor`)
      }), { frameworks: [{ checkpoint: true }] }))
})
