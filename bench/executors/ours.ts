// The benchmark's executor written with this library's public API: each LAUNCH is answered with
// TASK_RUNNING then TASK_FINISHED, with no child process, so what it costs is the library's own cost.
// Configured from the MESOS_* environment the agent sets; the driver's defaults otherwise.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { Executor, ExecutorConfig, ExecutorDriver, HttpAgentClient, Mesos } from "effect-mesos-executor"

const executor = Executor.make({
  launchTask: (task) =>
    Effect.gen(function*() {
      const driver = yield* ExecutorDriver.ExecutorDriver
      const taskId = task.taskId!
      yield* driver.sendStatusUpdate({ taskId, state: Mesos.TaskState.TASK_RUNNING })
      yield* driver.sendStatusUpdate({ taskId, state: Mesos.TaskState.TASK_FINISHED })
    })
})

NodeRuntime.runMain(
  ExecutorDriver.run(executor).pipe(
    Effect.provide(HttpAgentClient.layer.pipe(Layer.provideMerge(ExecutorConfig.layer)))
  )
)
