/** Reading what the fake agent saw, for tests. */
import { Effect } from "effect"
import { Mesos } from "effect-mesos-executor"
import { AgentModel } from "effect-mesos-executor/testing"

/** Task id → the states the executor reported and the agent accepted, in order. */
export const statesByTask = Effect.gen(function*() {
  const agent = yield* AgentModel.AgentModel
  const states: Record<string, Array<string>> = {}
  for (const update of (yield* agent.state).updates) {
    if (update.origin === "Executor" && update.outcome === "Forwarded") {
      ;(states[update.taskId] ??= []).push(Mesos.TaskState[update.status.state] ?? "?")
    }
  }
  return states
})
