/**
 * The chaos suite in small: a few fixed seeds of `npm run chaos`, chosen to inject every kind of fault
 * (disconnections with and without checkpointing), the real bin against the loopback agent through the
 * fault proxy, with no invariant violated; and the invariant checker shown to flag each kind of violation
 * planted in the record of a clean run, so that the suite cannot pass for want of looking.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { Mesos } from "effect-mesos-executor"
import * as Invariants from "../../reliability/chaos/Invariants.ts"
import type { Observation } from "../../reliability/chaos/Run.ts"
import { disconnects, faultKinds } from "../../reliability/chaos/Scenario.ts"
import * as Suite from "../../reliability/chaos/Suite.ts"

const { TaskState } = Mesos

/**
 * Between them: every fault kind; cuts and garbage with and without checkpointing; a disconnection inside
 * an ACK fault's window; both endings.
 */
const fixedSeeds = [1, 6, 7, 54, 97, 115, 132, 185]

let report: Suite.Report

beforeAll(async () => {
  // Two at a time: the rest of the test suite runs meanwhile, on two cores.
  report = await Effect.runPromise(Suite.runSeeds(fixedSeeds, { concurrency: 2 }))
}, 90_000)

describe("chaos suite (the real bin, faults on the wire and in the agent)", () => {
  it("no invariant is violated", () => {
    const failed = report.results.filter((result) => result.violations.length > 0)
    assert.deepStrictEqual(
      report.violations,
      [],
      failed.map((result) => `${Suite.timeline(result)}\n${result.observation?.output.slice(-2000) ?? ""}`).join("\n\n")
    )
  })

  it("every kind of fault was injected; disconnections with and without checkpointing; overlaps; both endings", () => {
    for (const kind of faultKinds) assert.isAbove(report.faultsByKind.get(kind)!, 0, kind)
    const observations = report.results.flatMap((result) => (result.observation === undefined ? [] : [result.observation]))
    const injected = (checkpoint: boolean, kind: string) =>
      observations.some((observation) =>
        observation.scenario.checkpoint === checkpoint &&
        observation.faults.some((fault) => fault.injected && fault.kind === kind)
      )
    for (const kind of faultKinds.filter(disconnects)) {
      if (kind !== "restart-within-recovery" && kind !== "restart-past-recovery") {
        assert.isTrue(injected(true, kind) && injected(false, kind), kind)
      }
    }
    const overlapping = observations.some((observation) =>
      observation.faults.some((fault) => fault.injected && observation.scenario.faults[fault.index]!.overlaps)
    )
    assert.isTrue(overlapping, "a fault injected while another one's window was open")
    assert.isAbove(report.lostAgent, 0)
    assert.isAbove(report.endings.shutdown, 0)
    assert.isAbove(report.endings.tasksEnd, 0)
  })

  describe("the invariant checker flags what is planted in a clean run", () => {
    /** A run that kept its agent and in which the scheduler killed a task. */
    const clean = (): Observation => {
      const result = report.results.find((candidate) =>
        candidate.violations.length === 0 && candidate.observation?.lostAgentAt === undefined &&
        candidate.scenario.tasks.some((task) => task.killDuring !== undefined)
      )
      assert.isDefined(result?.observation)
      return result!.observation!
    }

    const flagged = (observation: Observation): Array<string> =>
      [...new Set(Invariants.check(observation).map((violation) => violation.invariant))].sort()

    const killedTask = (observation: Observation) =>
      observation.scenario.tasks.find((task) => task.nature === "RunsUntilKilled")!.id

    /** The agent's history and its view of one task rewritten. */
    const withAgent = (observation: Observation, change: Partial<Observation["agent"]>): Observation => ({
      ...observation,
      agent: { ...observation.agent, ...change }
    })

    const withTaskState = (observation: Observation, taskId: string, state: Mesos.TaskState): Observation =>
      withAgent(observation, {
        executors: observation.agent.executors.map((executor) => ({
          ...executor,
          tasks: executor.tasks.map((task) => (task.task.taskId?.value === taskId ? { ...task, state } : task))
        }))
      })

    it("a clean run has nothing to flag", () => {
      assert.deepStrictEqual(Invariants.check(clean()), [])
    })

    it("an ACK that never reached the executor", () => {
      const observation = clean()
      // The last update, so that no later SUBSCRIBE should have carried it.
      const uuid = observation.calls.findLast((call) => call.type === "UPDATE")!.updates[0]!.uuid
      const planted = { ...observation, delivered: observation.delivered.filter((event) => event.ack?.uuid !== uuid) }
      assert.deepStrictEqual(flagged(planted), ["delivered"])
    })

    it("a terminal update the agent never received: lost, wrong sequence, wrong final state", () => {
      const observation = clean()
      const taskId = killedTask(observation)
      const terminal = observation.agent.updates.find((update) =>
        update.taskId === taskId && update.status.state === TaskState.TASK_KILLED
      )!
      const planted = withTaskState(
        withAgent(observation, { updates: observation.agent.updates.filter((update) => update !== terminal) }),
        taskId,
        TaskState.TASK_KILLING
      )
      assert.deepStrictEqual(flagged(planted), ["delivered", "final-state", "update-sequence"])
    })

    it("an update the agent forwarded twice", () => {
      const observation = clean()
      const forwarded = observation.agent.updates.find((update) => update.origin === "Executor")!
      const planted = withAgent(observation, { updates: [...observation.agent.updates, forwarded] })
      assert.deepStrictEqual(flagged(planted), ["acknowledged-once", "update-sequence"])
    })

    it("a TASK_STAGING sent", () => {
      const observation = clean()
      const call = observation.calls.find((candidate) => candidate.type === "UPDATE")!
      const planted = {
        ...observation,
        calls: [...observation.calls, {
          ...call,
          updates: [{ ...call.updates[0]!, uuid: "00".repeat(16), state: TaskState.TASK_STAGING }]
        }]
      }
      assert.include(flagged(planted), "no-staging")
    })

    it("a re-SUBSCRIBE that leaves out an unacknowledged update", () => {
      const observation = clean()
      const at = observation.calls.at(-1)!.at + 1
      const update = { taskId: killedTask(observation), uuid: "ab".repeat(16), state: TaskState.TASK_RUNNING }
      const planted: Observation = {
        ...observation,
        calls: [
          ...observation.calls,
          { at, type: "UPDATE", updates: [update], tasks: [], answer: "Unreachable", status: undefined },
          { at: at + 1, type: "SUBSCRIBE", updates: [], tasks: [], answer: "Forwarded", status: 200 }
        ]
      }
      assert.include(flagged(planted), "resubscribe-lists-unacknowledged")
    })

    it("a call the agent rejected", () => {
      const observation = clean()
      const planted = withAgent(observation, {
        calls: [...observation.agent.calls, { ...observation.agent.calls.at(-1)!, status: 400, body: "Bad Request" }]
      })
      assert.deepStrictEqual(flagged(planted), ["calls-accepted"])
    })

    it("a task process that outlived the executor", () => {
      const planted = { ...clean(), survivors: [{ pid: 4242, commandLine: "sleep 60" }] }
      assert.deepStrictEqual(flagged(planted), ["no-survivors"])
    })

    it("a wrong exit code, a death by signal, no exit at all", () => {
      const at = clean().exit!.at
      assert.deepStrictEqual(flagged({ ...clean(), exit: { _tag: "Exited", code: 1, at } }), ["exit-code"])
      assert.deepStrictEqual(flagged({ ...clean(), exit: { _tag: "Signaled", signal: "SIGKILL", at } }), ["exit-code"])
      assert.deepStrictEqual(flagged({ ...clean(), exit: undefined }), ["exits"])
    })

    it("a stack trace, an uncaught error, an ERROR log in the executor's output", () => {
      const output = (text: string) => ({ ...clean(), output: `${clean().output}${text}` })
      assert.deepStrictEqual(flagged(output("TypeError: boom\n    at run (file:///x.js:1:2)\n")), ["nothing-unhandled"])
      assert.deepStrictEqual(flagged(output("Uncaught exception\n")), ["nothing-unhandled"])
      assert.deepStrictEqual(flagged(output("[12:00:00.000] ERROR (#1): task supervision failed\n")), ["nothing-unhandled"])
    })

    it("an executor that lost its agent but exited 0, its tasks ended as if nothing happened", () => {
      const lost = report.results.find((result) => result.observation?.lostAgentAt !== undefined)!.observation!
      assert.deepStrictEqual(Invariants.check(lost), [])
      assert.include(flagged({ ...lost, exit: { _tag: "Exited", code: 0, at: lost.exit!.at } }), "exit-code")
    })
  })
})
