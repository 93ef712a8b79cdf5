// Minimal reproductions of the defects the fuzzing found (docs/RELIABILITY.md, "Defects"). Each prints
// what happens; the last line counts how many still reproduce, so a fix shows up as a lower number.
//
// Run: npm run build && node reliability/defects.ts
import { create } from "@bufbuild/protobuf"
import { Cause, Deferred, Duration, Effect, Exit, Layer, Logger, Result } from "effect"
import { Executor, ExecutorConfig, ExecutorDriver, Mesos, MesosExecutor, MesosJson, WireCodec } from "effect-mesos-executor"
import { AgentModel, FakeAgent } from "effect-mesos-executor/testing"

const { CallSchema, Call_Type } = MesosExecutor
const ids = { frameworkId: { value: "fake-framework-0000" }, executorId: { value: "fake-executor" } }
const uuid = Uint8Array.of(1, 2, 3, 4, 5, 6, 0x40, 8, 0x80, 10, 11, 12, 13, 14, 15, 16)
const updateCall = (status: Record<string, unknown>) =>
  create(CallSchema, { ...ids, type: Call_Type.UPDATE, update: { status: { uuid, source: 1, ...status } as never } })
const show = (result: Result.Result<unknown, { readonly message: string }>): string =>
  Result.isSuccess(result) ? "Success" : `Failure: ${result.failure.message}`

const configLayer = ExecutorConfig.layerFrom(
  ExecutorConfig.make({
    frameworkId: "fake-framework-0000",
    executorId: "fake-executor",
    agent: new ExecutorConfig.TcpEndpoint({ host: "127.0.0.1", port: 5051 })
  })
)

interface Defect {
  readonly id: string
  readonly title: string
  /** Whether it still reproduces, and what was seen. */
  readonly run: () => Promise<{ readonly reproduced: boolean; readonly observed: ReadonlyArray<string> }>
}

const defects: ReadonlyArray<Defect> = [
  {
    id: "D1",
    title: "Mesos JSON: a string with an unpaired UTF-16 surrogate is written, but cannot be read back, " +
      "and the error names no field",
    run: async () => {
      // A status message cut in the middle of an emoji, as `text.slice(0, n)` does.
      const message = "disk almost full 🙂".slice(0, -1)
      const call = updateCall({ taskId: { value: "task-1" }, state: Mesos.TaskState.TASK_RUNNING, message })
      const encoded = WireCodec.json.encodeCall(call)
      const decoded: Result.Result<unknown, { readonly message: string }> = Result.isSuccess(encoded)
        ? WireCodec.json.decodeCall(encoded.success)
        : encoded
      const direct = MesosJson.fromJsonValue(Mesos.TaskStatusSchema, { task_id: { value: "t" }, message: "\ud83d" })
      // The same update through the driver, against the fake agent speaking JSON: refused for good.
      const receipt = await Effect.runPromise(
        Effect.gen(function*() {
          const agent = yield* AgentModel.AgentModel
          yield* agent.launch({ taskId: { value: "task-1" }, name: "task-1" })
          const outcome = yield* Deferred.make<string>()
          const executor = Executor.make({
            launchTask: (task) =>
              Effect.gen(function*() {
                const driver = yield* ExecutorDriver.ExecutorDriver
                const sent = yield* driver.sendStatusUpdate({ taskId: task.taskId!, state: Mesos.TaskState.TASK_RUNNING, message })
                const exit = yield* Effect.exit(sent.acknowledged)
                yield* Deferred.succeed(outcome, Exit.isSuccess(exit) ? "acknowledged" : `not acknowledged: ${Cause.pretty(exit.cause).split("\n")[0]}`)
              })
          })
          yield* Effect.forkChild(ExecutorDriver.run(executor))
          return yield* Deferred.await(outcome)
        }).pipe(
          Effect.provide(Layer.merge(FakeAgent.layer({ contentType: "application/json" }), configLayer)),
          Effect.provide(Logger.layer([])),
          Effect.timeout(Duration.seconds(10))
        )
      )
      return {
        reproduced: Result.isSuccess(encoded) && Result.isFailure(decoded),
        observed: [
          `json.encodeCall(UPDATE with message "…\\ud83d"): ${show(encoded)}`,
          `json.decodeCall(those bytes): ${show(decoded)}`,
          `MesosJson.fromJsonValue(TaskStatus, {message: "\\ud83d"}): ` +
          (Result.isFailure(direct) ? `path ${JSON.stringify(direct.failure.path)}, message ${JSON.stringify(direct.failure.message)}` : "Success"),
          `protobuf.encodeCall of the same call: ${show(WireCodec.protobuf.encodeCall(call))} (the surrogate becomes U+FFFD)`,
          `driver + FakeAgent({ contentType: json }), sendStatusUpdate with that message: ${receipt.slice(0, 300)}`
        ]
      }
    }
  },
  {
    id: "D2",
    title: "Mesos JSON: integers outside their field's range are written; protobuf refuses them, the JSON decoder rejects them",
    run: async () => {
      const observed: Array<string> = []
      let reproduced = false
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
        ["int64 unreachable_time.nanoseconds = 2^80", { unreachableTime: { nanoseconds: 2n ** 80n } }],
        ["uint32 check_status.http.status_code = -1", {
          checkStatus: { type: 2, http: { statusCode: -1 } }
        }],
        ["int32 check_status.command.exit_code = 2^40", { checkStatus: { type: 1, command: { exitCode: 2 ** 40 } } }]
      ]
      for (const [label, fields] of cases) {
        const call = updateCall({ taskId: { value: "t" }, state: Mesos.TaskState.TASK_RUNNING, ...fields })
        const json = WireCodec.json.encodeCall(call)
        const back: Result.Result<unknown, { readonly message: string }> = Result.isSuccess(json)
          ? WireCodec.json.decodeCall(json.success)
          : json
        const protobuf = WireCodec.protobuf.encodeCall(call)
        if (Result.isSuccess(json) && Result.isFailure(protobuf)) reproduced = true
        observed.push(
          `${label}:`,
          `  json.encodeCall: ${show(json)}${Result.isSuccess(json) ? ` ${new TextDecoder().decode(json.success).match(/"(nanoseconds|status_code|exit_code)":[^,}]*/)?.[0]}` : ""}`,
          `  json.decodeCall(that): ${show(back)}`,
          `  protobuf.encodeCall: ${show(protobuf)}`
        )
      }
      return { reproduced, observed }
    }
  },
  {
    id: "D3",
    title: "Mesos JSON: deep nesting is reported as a stack overflow, naming no field, or as \"not valid JSON\"",
    run: async () => {
      const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
      const text = (json: string) => new TextEncoder().encode(json)
      const inList = WireCodec.json.decodeEvent(text(`{"type":"LAUNCH","launch":{"task":{"resources":${nested(10_000)}}}}`))
      const valid = WireCodec.json.decodeEvent(text(`{"type":"HEARTBEAT","n":1234567890123456789,"x":${nested(10_000)}}`))
      const sameWithoutNumber = WireCodec.json.decodeEvent(text(`{"type":"HEARTBEAT","x":${nested(10_000)}}`))
      return {
        reproduced: Result.isFailure(inList) && /call stack/.test(inList.failure.message),
        observed: [
          `resources nested 10,000 arrays deep: ${show(inList)}`,
          `valid JSON with a 19-digit number and 10,000 nested arrays under an unknown key: ${show(valid)}`,
          `the same without the number: ${show(sameWithoutNumber)}`
        ]
      }
    }
  }
]

let reproduced = 0
for (const defect of defects) {
  const { observed, reproduced: yes } = await defect.run()
  if (yes) reproduced++
  console.log(`${defect.id} ${yes ? "REPRODUCED" : "not reproduced"}: ${defect.title}`)
  for (const line of observed) console.log(`  ${line}`)
}
console.log(`defects: ${reproduced} of ${defects.length} reproduced`)
