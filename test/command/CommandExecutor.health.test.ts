import { isFieldSet } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import * as Path from "node:path"
import { HealthCheck_Type, TaskState, TaskStatusSchema } from "../../src/gen/mesos/v1/mesos_pb.js"
import type { AgentModelShape } from "../../src/testing/AgentModel.js"
import { awaitState, isHealthUpdate, stateName, start, updatesOf } from "./harness.js"

const fast = { delaySeconds: 0, intervalSeconds: 0.1, timeoutSeconds: 2, gracePeriodSeconds: 0 }

/** The task's updates as `STATE` or `STATE(healthy|unhealthy)` for health updates. */
const timeline = (agent: AgentModelShape, taskId: string) =>
  Effect.map(updatesOf(agent, taskId), (updates) =>
    updates.map((update) =>
      isFieldSet(update.status, TaskStatusSchema.field.healthy)
        ? `${stateName(update.status.state)}(${update.status.healthy ? "healthy" : "unhealthy"})`
        : stateName(update.status.state)
    ))

/** A loopback server, closed with the scope. */
const listen = <S extends Net.Server>(server: S) =>
  Effect.acquireRelease(
    Effect.callback<S>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.callback<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
  ).pipe(Effect.map((server) => ({ server, port: (server.address() as AddressInfo).port })))

describe("CommandExecutor: health checks", () => {
  it.live("reports a COMMAND check's health changes and kills the task after consecutive failures", () =>
    Effect.gen(function*() {
      const { agent, executor, sandbox } = yield* start()
      const marker = Path.join(sandbox, "healthy")
      Fs.writeFileSync(marker, "")
      yield* agent.launch({
        taskId: { value: "checked" },
        command: {
          value: "exec sleep 30",
          environment: { variables: [{ name: "EXPECTED", value: "from the task" }] }
        },
        healthCheck: {
          ...fast,
          consecutiveFailures: 2,
          type: HealthCheck_Type.COMMAND,
          // In the sandbox, with the task's environment plus its own.
          command: {
            value: "test -f healthy && test \"$EXPECTED\" = 'from the task' && test \"$OWN\" = yes",
            environment: { variables: [{ name: "OWN", value: "yes" }] }
          }
        }
      })
      yield* agent.awaitUpdate((update) => update.taskId === "checked" && update.status.healthy)
      yield* Effect.sleep("300 millis") // more passing checks: nothing new to report
      Fs.rmSync(marker)

      const killed = yield* awaitState(agent, "checked", TaskState.TASK_KILLED)
      assert.isFalse(killed.status.healthy)
      assert.deepStrictEqual(yield* timeline(agent, "checked"), [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_RUNNING(healthy)",
        "TASK_RUNNING(unhealthy)",
        "TASK_RUNNING(unhealthy)",
        "TASK_KILLING",
        "TASK_KILLED(unhealthy)"
      ])
      assert.strictEqual(yield* Fiber.join(executor), "Stopped")
    }))

  it.live("checks HTTP: a 2xx or 3xx status is healthy, anything else is not", () =>
    Effect.gen(function*() {
      let status = 302
      const paths: Array<string> = []
      const { port } = yield* listen(Http.createServer((request, response) => {
        paths.push(request.url ?? "")
        response.writeHead(status).end()
      }))
      const { agent } = yield* start()
      yield* agent.launch({
        taskId: { value: "web" },
        command: { value: "exec sleep 30" },
        healthCheck: { ...fast, consecutiveFailures: 1, type: HealthCheck_Type.HTTP, http: { port, path: "/health" } }
      })
      yield* agent.awaitUpdate((update) => update.taskId === "web" && update.status.healthy)
      status = 503
      const killed = yield* awaitState(agent, "web", TaskState.TASK_KILLED)
      assert.isFalse(killed.status.healthy)
      assert.deepStrictEqual(yield* timeline(agent, "web"), [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_RUNNING(healthy)",
        "TASK_RUNNING(unhealthy)",
        "TASK_KILLING",
        "TASK_KILLED(unhealthy)"
      ])
      assert.isTrue(paths.every((path) => path === "/health"))
    }))

  it.live("checks TCP: healthy while something listens on the port", () =>
    Effect.gen(function*() {
      const { port, server } = yield* listen(Net.createServer((socket) => socket.destroy()))
      const { agent } = yield* start()
      yield* agent.launch({
        taskId: { value: "tcp" },
        command: { value: "exec sleep 30" },
        healthCheck: { ...fast, consecutiveFailures: 2, type: HealthCheck_Type.TCP, tcp: { port } }
      })
      yield* agent.awaitUpdate((update) => update.taskId === "tcp" && update.status.healthy)
      server.close()
      const killed = yield* awaitState(agent, "tcp", TaskState.TASK_KILLED)
      assert.isFalse(killed.status.healthy)
    }))

  it.live("stops checking a task once it is being killed", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start()
      yield* agent.launch({
        taskId: { value: "dying" },
        command: { value: "trap '' TERM; echo $$ > pid; exec sleep 30" },
        killPolicy: { gracePeriod: { nanoseconds: 600_000_000n } },
        healthCheck: {
          ...fast,
          consecutiveFailures: 100,
          type: HealthCheck_Type.COMMAND,
          command: { value: "echo >> checks; exit 1" }
        }
      })
      yield* agent.awaitUpdate((update) => update.taskId === "dying" && isHealthUpdate(update))
      yield* agent.kill("dying")
      yield* awaitState(agent, "dying", TaskState.TASK_KILLING)
      const checksWhenKilled = checksIn(sandbox)
      yield* awaitState(agent, "dying", TaskState.TASK_KILLED)
      assert.isAtMost(checksIn(sandbox), checksWhenKilled + 1, "at most the check under way completes")

      const updates = yield* updatesOf(agent, "dying")
      const killing = updates.findIndex((update) => update.status.state === TaskState.TASK_KILLING)
      assert.isFalse(updates.slice(killing).some(isHealthUpdate), "no health update while the task is killed")
      const last = updates.at(-1)!
      assert.strictEqual(stateName(last.status.state), "TASK_KILLED")
      assert.isFalse(
        isFieldSet(last.status, TaskStatusSchema.field.healthy),
        "a kill by the scheduler does not mark the task unhealthy"
      )
    }))

  it.live("pauses health checks while disconnected from the agent, and resumes them on re-subscription", () =>
    Effect.gen(function*() {
      const { agent, sandbox } = yield* start({
        checkpoint: true,
        subscriptionBackoffMax: Duration.millis(50),
        agent: { frameworks: [{ checkpoint: true }] }
      })
      yield* agent.launch({
        taskId: { value: "checked" },
        command: { value: "exec sleep 30" },
        healthCheck: {
          ...fast,
          intervalSeconds: 0.05,
          type: HealthCheck_Type.COMMAND,
          command: { value: "echo >> checks" }
        }
      })
      yield* agent.awaitUpdate((update) => update.taskId === "checked" && update.status.healthy)

      yield* agent.restart({ downFor: "700 millis" })
      yield* Effect.sleep("150 millis") // a check under way when the connection broke may still end
      const paused = checksIn(sandbox)
      yield* Effect.sleep("400 millis")
      assert.strictEqual(checksIn(sandbox), paused, "no check while disconnected")

      yield* agent.awaitState((state) => state.subscriptions.length === 2 ? true : undefined)
      yield* Effect.sleep("300 millis")
      assert.isAbove(checksIn(sandbox), paused + 2, "checks resumed")
      assert.deepStrictEqual(
        (yield* updatesOf(agent, "checked")).filter(isHealthUpdate).length,
        1,
        "still healthy: nothing new to report"
      )
    }))
})

const checksIn = (sandbox: string) => {
  const path = Path.join(sandbox, "checks")
  return Fs.existsSync(path) ? Fs.readFileSync(path, "utf8").length : 0
}
