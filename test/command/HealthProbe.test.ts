import { create, type MessageInitShape } from "@bufbuild/protobuf"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Result } from "effect"
import { ChildProcessSpawner } from "effect/process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import * as Path from "node:path"
import * as HealthProbe from "../../src/command/HealthProbe.js"
import { HealthCheck_Type, HealthCheckSchema } from "../../src/gen/mesos/v1/mesos_pb.js"
import { isAlive, makeSandbox, readPid } from "./harness.js"

const probeFor = (init: MessageInitShape<typeof HealthCheckSchema>, environment: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const sandbox = yield* makeSandbox
    const probe = HealthProbe.make(create(HealthCheckSchema, init), { spawner, cwd: sandbox, environment })
    return { probe: Result.getOrThrow(probe), sandbox }
  })

/** The probe's failure message, or "healthy". */
const outcome = (probe: HealthProbe.Probe) =>
  Effect.match(probe, { onFailure: (failure) => failure.message, onSuccess: () => "healthy" })

const httpServer = (status: number) =>
  Effect.acquireRelease(
    Effect.callback<Http.Server>((resume) => {
      const server = Http.createServer((_, response) => response.writeHead(status).end())
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.sync(() => server.close())
  ).pipe(Effect.map((server) => (server.address() as AddressInfo).port))

/** A port nothing listens on (it was just released). */
const closedPort = Effect.callback<number>((resume) => {
  const server = Net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

describe("HealthProbe", () => {
  it.live("COMMAND: healthy on exit status 0, run in the sandbox with the task's and the check's variables", () =>
    Effect.gen(function*() {
      const { probe, sandbox } = yield* probeFor(
        {
          type: HealthCheck_Type.COMMAND,
          command: {
            value: "test -f here && test \"$TASK_VAR\" = task && test \"$CHECK_VAR\" = check",
            environment: { variables: [{ name: "CHECK_VAR", value: "check" }] }
          }
        },
        { TASK_VAR: "task" }
      )
      assert.strictEqual(yield* outcome(probe), "Command exited with status 1")
      Fs.writeFileSync(Path.join(sandbox, "here"), "")
      assert.strictEqual(yield* outcome(probe), "healthy")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("COMMAND: a check cut short kills its whole process group", () =>
    Effect.gen(function*() {
      const { probe, sandbox } = yield* probeFor({
        type: HealthCheck_Type.COMMAND,
        command: { value: "echo $$ > check.pid; sleep 30 & echo $! > child.pid; wait" }
      })
      const check = yield* Effect.forkChild(probe)
      const pids = [yield* readPid(sandbox, "check.pid"), yield* readPid(sandbox, "child.pid")]
      assert.deepStrictEqual(pids.filter(isAlive), pids)
      yield* Fiber.interrupt(check) // as a timeout does
      assert.deepStrictEqual(pids.filter(isAlive), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("HTTP: GETs the path on loopback; healthy on [200, 400)", () =>
    Effect.gen(function*() {
      const check = (port: number, path = "/health") =>
        Effect.flatMap(
          probeFor({ type: HealthCheck_Type.HTTP, http: { port, path } }),
          ({ probe }) => outcome(probe)
        )
      assert.strictEqual(yield* check(yield* httpServer(200)), "healthy")
      assert.strictEqual(yield* check(yield* httpServer(399), "no-leading-slash"), "healthy")
      assert.strictEqual(yield* check(yield* httpServer(400)), "Unexpected HTTP response code: 400 Bad Request")
      assert.strictEqual(yield* check(yield* httpServer(500)), "Unexpected HTTP response code: 500 Internal Server Error")
      const closed = yield* closedPort
      const refused = new RegExp(`^GET http://127\\.0\\.0\\.1:${closed}/health failed: .*ECONNREFUSED`)
      assert.match(yield* check(closed), refused)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("TCP: healthy when the port accepts a connection", () =>
    Effect.gen(function*() {
      const check = (port: number) =>
        Effect.flatMap(probeFor({ type: HealthCheck_Type.TCP, tcp: { port } }), ({ probe }) => outcome(probe))
      assert.strictEqual(yield* check(yield* httpServer(200)), "healthy")
      assert.match(yield* check(yield* closedPort), /^TCP connection failed: .*ECONNREFUSED/)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses checks it cannot perform", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const invalid = (init: MessageInitShape<typeof HealthCheckSchema>) =>
        Result.match(HealthProbe.make(create(HealthCheckSchema, init), { spawner, cwd: undefined, environment: {} }), {
          onFailure: (error) => error.message,
          onSuccess: () => "valid"
        })
      assert.strictEqual(invalid({}), "health check of type UNKNOWN")
      assert.strictEqual(invalid({ type: HealthCheck_Type.HTTP }), "HTTP health check without 'http'")
      assert.strictEqual(invalid({ type: HealthCheck_Type.TCP }), "TCP health check without 'tcp'")
      assert.strictEqual(
        invalid({ type: HealthCheck_Type.HTTP, http: { port: 1, scheme: "ftp" } }),
        "HTTP health check with unsupported scheme 'ftp'"
      )
      assert.strictEqual(invalid({ type: HealthCheck_Type.COMMAND }), "COMMAND health check without 'command'")
      assert.strictEqual(
        invalid({ type: HealthCheck_Type.COMMAND, command: { value: "" } }),
        "Shell command of the health check is not specified"
      )
    }).pipe(Effect.provide(NodeServices.layer)))
})
