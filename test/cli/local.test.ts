import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fixture, processRunning, root, run, runBin, temporaryDirectory, writeTasks } from "./bin.js"

/** This test's Node, by absolute path: the agent's PATH would find another one. */
const node = process.execPath

/** The cells of the summary's row whose `column`th cell is `key`. */
const row = (output: string, key: string, column = 0): Array<string> | undefined =>
  output.split("\n").map((line) => line.trim().split(/\s{2,}/)).find((cells) => cells[column] === key)

/** A task's summary row: `<executor> <task> <final state> <expected> <ok|FAIL> [<message>]`. */
const taskRow = (output: string, taskId: string) => row(output, taskId, 1)

/** An executor's summary row: `<executor> <exit> <expected> <ok|FAIL> <sandbox>`. */
const executorRow = (output: string, executorId: string) => row(output.slice(output.indexOf("\nExecutors\n")), executorId)

/** The sandbox directories under a work directory, by executor id. */
const sandboxOf = (workDir: string, executorId: string): string => {
  const runs = Path.join(workDir, "slaves", "fake-agent-S0", "frameworks", "fake-framework-0000", "executors", executorId, "runs")
  return Path.join(runs, Fs.readdirSync(runs)[0]!)
}

const oneTask = (executorId: string, expect: unknown, task: object = {}) => ({
  executors: [{
    executor: { executor_id: { value: executorId } },
    launches: [{ task: { task_id: { value: "only" }, ...task }, expect }]
  }]
})

describe.concurrent("effect-mesos-executor local", () => {
  it.live("npm start: runs examples/tasks.json with the command executor, every task ends as expected, exit 0", () =>
    Effect.gen(function*() {
      const workDir = yield* temporaryDirectory
      const outcome = yield* run("npm", ["start", "--silent", "--", "--work-dir", workDir], { cwd: root })
      assert.strictEqual(outcome.exit, 0, outcome.stdout + outcome.stderr)
      const { stdout } = outcome
      // Not a terminal: plain lines, timestamped from the agent's start.
      assert.match(stdout, /^\+ {2}0\.000s agent listening on http:\/\/127\.0\.0\.1:\d+; sandboxes under /)
      assert.match(stdout, /^\+ +\d+\.\d{3}s \[examples\] ← KILL stubborn \(grace period 500ms\)$/m)
      for (
        const [task, state, expected] of [
          ["hello", "TASK_FINISHED", "TASK_FINISHED"],
          ["nap", "TASK_FINISHED", "TASK_FINISHED"],
          ["exit-3", "TASK_FAILED", "TASK_FAILED"],
          ["stubborn", "TASK_KILLED", "TASK_KILLED"],
          ["group-fails", "TASK_FAILED", "TASK_FAILED"],
          ["group-sibling", "TASK_KILLED", "TASK_KILLED"],
          ["healthy", "TASK_FINISHED (healthy)", "TASK_FINISHED (healthy)"]
        ]
      ) {
        assert.deepStrictEqual(taskRow(stdout, task!)?.slice(0, 5), ["examples", task, state, expected, "ok"])
      }
      assert.deepStrictEqual(taskRow(stdout, "exit-3")?.[5], "Command exited with status 3")
      assert.deepStrictEqual(executorRow(stdout, "examples")?.slice(0, 4), ["examples", "exited with code 0", "exit code 0", "ok"])
      assert.include(stdout, "Protocol problems: none")
      assert.include(stdout, "PASSED: 7 of 7 task(s) ended as expected; 1 of 1 executor(s) exited as expected")
      // The tasks wrote into the sandbox's stdout, where Mesos keeps an executor's output.
      const sandbox = sandboxOf(workDir, "examples")
      assert.include(Fs.readFileSync(Path.join(sandbox, "stdout"), "utf8"), `hello from ${sandbox}\n`)
    }))

  it.live("starts an executor with exactly the environment of a real agent, in its sandbox", () =>
    Effect.gen(function*() {
      const workDir = yield* temporaryDirectory
      const tasks = writeTasks(workDir, "tasks.json", {
        framework: { checkpoint: false },
        executors: [{
          executor: { executor_id: { value: "dump" }, shutdown_grace_period: { nanoseconds: 3000000000 } },
          launches: [{
            task: { task_id: { value: "never-run" } },
            expect: { state: "TASK_FAILED", reason: "REASON_EXECUTOR_TERMINATED" }
          }]
        }]
      })
      const outcome = yield* runBin(
        ["local", "--tasks", tasks, "--work-dir", workDir, "--checkpoint", "--executor", "env > environment"]
      )
      assert.strictEqual(outcome.exit, 0, outcome.stdout)
      const sandbox = sandboxOf(workDir, "dump")
      const environment = Object.fromEntries(
        Fs.readFileSync(Path.join(sandbox, "environment"), "utf8").trim().split("\n").map((line) => {
          const at = line.indexOf("=")
          return [line.slice(0, at), line.slice(at + 1)]
        })
      )
      // Variables a shell adds for itself (dash adds PWD; bash also SHLVL and _).
      const { PWD, SHLVL: _shlvl, _: _underscore, ...agentSet } = environment
      assert.strictEqual(PWD, sandbox)
      const endpoint = agentSet["MESOS_AGENT_ENDPOINT"]!
      assert.match(endpoint, /^127\.0\.0\.1:\d+$/)
      assert.deepStrictEqual(agentSet, {
        LIBPROCESS_PORT: "0",
        MESOS_AGENT_ENDPOINT: endpoint,
        MESOS_CHECKPOINT: "1",
        MESOS_DIRECTORY: sandbox,
        MESOS_EXECUTOR_ID: "dump",
        MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "3secs",
        MESOS_FRAMEWORK_ID: "fake-framework-0000",
        MESOS_HTTP_COMMAND_EXECUTOR: "0",
        MESOS_RECOVERY_TIMEOUT: "15mins",
        MESOS_SANDBOX: sandbox,
        MESOS_SLAVE_ID: "fake-agent-S0",
        MESOS_SLAVE_PID: `slave(1)@${endpoint}`,
        MESOS_SUBSCRIPTION_BACKOFF_MAX: "2secs",
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
      })
      assert.include(outcome.stdout, "never subscribed: no SUBSCRIBE reached the agent before the executor exited with code 0")
    }))

  it.live("runs another executor (examples/sleep-executor.ts) and prints JSON lines with --json", () =>
    Effect.gen(function*() {
      const outcome = yield* runBin([
        "local",
        "--tasks",
        fixture("sleep-tasks.json"),
        "--json",
        "--idle-shutdown",
        "500ms",
        "--executor",
        `${node} ${Path.join(root, "examples", "sleep-executor.ts")}`
      ])
      assert.strictEqual(outcome.exit, 0, outcome.stdout + outcome.stderr)
      const lines = outcome.stdout.trim().split("\n").map((line) => JSON.parse(line))
      const summary = lines.at(-1)
      assert.strictEqual(summary.type, "Summary")
      assert.isTrue(summary.ok)
      assert.deepStrictEqual(
        summary.tasks.map((task: { task_id: string; state: string; ok: boolean }) => [task.task_id, task.state, task.ok]),
        [["short-nap", "TASK_FINISHED", true], ["long-nap", "TASK_KILLED", true]]
      )
      assert.deepStrictEqual(summary.executors[0].exit, { code: 0 })
      const texts = lines.slice(0, -1).map((line: { type: string; text: string }) => line.text)
      assert.include(texts, "the scheduler kills long-nap")
      // The example waits for more tasks; the framework leaves once its tasks are done.
      assert.include(texts, "the scheduler shuts the executor down (its tasks ended 500ms ago and it is still running)")
    }))

  it.live("exits 1 when a task does not end as expected, and says which", () =>
    Effect.gen(function*() {
      const dir = yield* temporaryDirectory
      const tasks = writeTasks(dir, "tasks.json", {
        executors: [{
          launches: [
            { task: { task_id: { value: "fails" }, command: { value: "exit 3" } }, expect: "TASK_FINISHED" },
            { task: { task_id: { value: "unchecked" }, command: { value: "true" } }, expect: { state: "TASK_FINISHED", healthy: true } },
            { task: { task_id: { value: "fine" }, command: { value: "true" } }, expect: "TASK_FINISHED" }
          ]
        }]
      })
      const outcome = yield* runBin(["local", "--tasks", tasks, "--work-dir", dir])
      assert.strictEqual(outcome.exit, 1)
      assert.deepStrictEqual(taskRow(outcome.stdout, "fails")?.slice(2, 5), ["TASK_FAILED", "TASK_FINISHED", "FAIL"])
      assert.deepStrictEqual(taskRow(outcome.stdout, "unchecked")?.slice(2, 5), ["TASK_FINISHED", "TASK_FINISHED (healthy)", "FAIL"])
      assert.deepStrictEqual(taskRow(outcome.stdout, "fine")?.slice(2, 5), ["TASK_FINISHED", "TASK_FINISHED", "ok"])
      assert.include(outcome.stdout, "FAILED: 1 of 3 task(s) ended as expected; 1 of 1 executor(s) exited as expected")
    }))

  it.live("reports the protocol mistakes of an executor as the agent rejects them; --strict fails on them", () =>
    Effect.gen(function*() {
      const args = ["local", "--tasks", fixture("bad-tasks.json"), "--executor", `${node} ${fixture("bad-executor.ts")}`]
      const [lenient, strict] = yield* Effect.all([runBin(args), runBin([...args, "--strict"])], { concurrency: 2 })
      assert.strictEqual(lenient.exit, 0, lenient.stdout)
      assert.strictEqual(strict.exit, 1, strict.stdout)
      const problems = lenient.stdout.slice(lenient.stdout.indexOf("Protocol problems (4):"))
      for (
        const problem of [
          "[careless] → UPDATE only TASK_STAGING rejected: 400 Failed to validate Executor::Call: Received TASK_STAGING " +
          "from executor careless of framework fake-framework-0000 which is not allowed",
          "[careless] → UPDATE only TASK_RUNNING rejected: 400 Failed to validate Executor::Call: Not a valid UUID",
          "[careless] → UPDATE only TASK_RUNNING rejected: 400 Failed to validate Executor::Call: Received Call from " +
          "executor careless of framework fake-framework-0000 with invalid source, expecting 'SOURCE_EXECUTOR'",
          "[careless] → UPDATE only TASK_RUNNING: its agent_id names another agent; dropped without a word, never acknowledged"
        ]
      ) {
        assert.include(problems, problem)
      }
      // Also as they happen.
      assert.match(lenient.stdout, /^\+ +\d+\.\d{3}s \[careless\] → UPDATE only TASK_STAGING rejected: 400 /m)
      assert.include(strict.stdout, "FAILED: 1 of 1 task(s) ended as expected; 1 of 1 executor(s) exited as expected")
    }))

  it.live("destroys an executor that outstays its shutdown grace period, as the agent does", () =>
    Effect.gen(function*() {
      const dir = yield* temporaryDirectory
      const tasks = writeTasks(dir, "tasks.json", {
        executors: [{
          executor: { executor_id: { value: "stuck" }, shutdown_grace_period: { nanoseconds: 500000000 } },
          shutdown_at: 0.2,
          launches: [{
            task: { task_id: { value: "only" } },
            expect: { state: "TASK_FAILED", reason: "REASON_EXECUTOR_TERMINATED" }
          }]
        }]
      })
      const outcome = yield* runBin(["local", "--tasks", tasks, "--executor", `${node} ${fixture("bad-executor.ts")} hang`])
      assert.strictEqual(outcome.exit, 1, outcome.stdout)
      assert.include(outcome.stdout, "the scheduler shuts the executor down (shutdown_at 200ms)")
      assert.include(
        outcome.stdout,
        "[stuck] the agent destroyed the container: the executor was still running when its shutdown grace period ended (500ms)"
      )
      assert.deepStrictEqual(executorRow(outcome.stdout, "stuck")?.slice(0, 4), ["stuck", "killed by SIGKILL", "exit code 0", "FAIL"])
      assert.deepStrictEqual(taskRow(outcome.stdout, "only")?.[4], "ok")
    }))

  it.live("destroys an executor that never subscribes, after the registration timeout", () =>
    Effect.gen(function*() {
      const dir = yield* temporaryDirectory
      const tasks = writeTasks(dir, "tasks.json", oneTask("silent", "TASK_FINISHED"))
      const outcome = yield* runBin(["local", "--tasks", tasks, "--executor", "exec sleep 97", "--registration-timeout", "500ms"])
      assert.strictEqual(outcome.exit, 1)
      assert.deepStrictEqual(
        taskRow(outcome.stdout, "only")?.slice(2),
        ["TASK_FAILED [REASON_EXECUTOR_REGISTRATION_TIMEOUT]", "TASK_FINISHED", "FAIL", "Executor did not register within 500ms"]
      )
      assert.include(outcome.stdout, "[silent] the agent destroyed the container: the executor did not subscribe within the registration timeout (500ms)")
      assert.isFalse(yield* processRunning("sleep 97"))
    }))

  it.live("gives up at --timeout, destroying every container, and exits 1", () =>
    Effect.gen(function*() {
      const dir = yield* temporaryDirectory
      const tasks = writeTasks(dir, "tasks.json", oneTask("slow", "TASK_FINISHED"))
      const started = Date.now()
      // A process group of its own inside the container, as a task's would be.
      const outcome = yield* runBin(["local", "--tasks", tasks, "--executor", "setsid sleep 98 & exec sleep 99", "--timeout", "1secs"])
      assert.strictEqual(outcome.exit, 1)
      assert.isBelow(Date.now() - started, 5000)
      assert.match(outcome.stdout, /^\+ +1\.\d{3}s timed out after 1secs: destroying every container$/m)
      assert.include(outcome.stdout, "timed out after 1secs")
      assert.isFalse(yield* processRunning("sleep 98"))
      assert.isFalse(yield* processRunning("sleep 99"))
    }))

  it.live("rejects a tasks file that does not describe a run, naming every problem", () =>
    Effect.gen(function*() {
      const dir = yield* temporaryDirectory
      const tasks = writeTasks(dir, "tasks.json", {
        executors: [{
          launches: [
            { task: { command: { value: "true" } }, expect: "TASK_FINISHED" },
            { task: { task_id: { value: "a" }, command: 3 }, expect: "TASK_FINISHED" },
            { task_group: { tasks: [{ task_id: { value: "b" } }] }, expect: { c: "TASK_FAILED" } },
            { task: { task_id: { value: "d" } }, expect: "TASK_DONE" }
          ]
        }]
      })
      const outcome = yield* runBin(["local", "--tasks", tasks])
      assert.strictEqual(outcome.exit, 1)
      assert.include(outcome.stderr, `The tasks file ${tasks} cannot be used:`)
      assert.include(outcome.stderr, "executors[0].launches[3].expect")
      const fixed = writeTasks(dir, "fixed.json", {
        executors: [{
          launches: [
            { task: { command: { value: "true" } }, expect: "TASK_FINISHED" },
            { task: { task_id: { value: "a" }, command: 3 }, expect: "TASK_FINISHED" },
            { task_group: { tasks: [{ task_id: { value: "b" } }] }, expect: { c: "TASK_FAILED" } }
          ]
        }]
      })
      const mesos = yield* runBin(["local", "--tasks", fixed])
      assert.strictEqual(mesos.exit, 1)
      assert.include(mesos.stderr, "executors[0].launches[0].task: required fields not set: task_id")
      assert.include(mesos.stderr, "executors[0].launches[1].task.command")
      assert.include(mesos.stderr, "executors[0].launches[2].expect: not tasks of the group: c")
    }))
})
