/**
 * `npm run bundle`'s output is self-contained: copied alone into an empty directory (no node_modules
 * anywhere above it), plain Node runs it as the command executor under the loopback agent.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Mesos } from "effect-mesos-executor"
import { HttpFakeAgent } from "effect-mesos-executor/testing"

const bundleScript = fileURLToPath(new URL("../../scripts/bundle.ts", import.meta.url))

describe("npm run bundle", () => {
  it.live("writes one .mjs file that plain Node runs as the command executor", () =>
    Effect.gen(function*() {
      const http = yield* HttpFakeAgent.HttpFakeAgent
      const directory = mkdtempSync(join(tmpdir(), "emx-bundle-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(directory, { recursive: true, force: true })))
      const bundle = join(directory, "effect-mesos-executor.mjs")
      execFileSync(process.execPath, [bundleScript, bundle], { stdio: "ignore" })

      yield* http.model.launch({
        name: "hello",
        taskId: { value: "hello" },
        agentId: { value: "fake-agent-S0" },
        command: { value: "echo hello from the bundle" }
      })
      const env = { ...(yield* http.environment({ sandbox: directory })), PATH: "/usr/bin:/bin" }
      const exitCode = yield* Effect.callback<number>((resume) => {
        const child = spawn(process.execPath, [bundle, "command"], { env, cwd: directory, stdio: "ignore" })
        child.on("exit", (code) => resume(Effect.succeed(code ?? -1)))
        return Effect.sync(() => child.kill("SIGKILL"))
      })
      assert.strictEqual(exitCode, 0)
      const finished = yield* http.model.awaitUpdate((update) => update.status.state === Mesos.TaskState.TASK_FINISHED)
      assert.strictEqual(finished.taskId, "hello")
    }).pipe(Effect.provide(HttpFakeAgent.layer()), Effect.scoped), { timeout: 60_000 })
})
