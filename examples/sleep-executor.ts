/**
 * A complete executor: each task sleeps for the seconds given in its `data` (default 1), then
 * finishes; a KILL interrupts the sleep and reports TASK_KILLED. Run it under a Mesos agent (or
 * `effect-mesos-executor local --executor`) with `node --experimental-strip-types` or once compiled.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Executor, ExecutorConfig, ExecutorDriver, HttpAgentClient, Mesos } from "effect-mesos-executor"

export const sleepExecutor = Executor.make({
  launchTask: (task) =>
    Effect.gen(function*() {
      const driver = yield* ExecutorDriver.ExecutorDriver
      const taskId = task.taskId!
      const seconds = Number(new TextDecoder().decode(task.data)) || 1
      yield* driver.sendStatusUpdate({ taskId, state: Mesos.TaskState.TASK_RUNNING })
      yield* driver.runTask(
        taskId,
        Effect.sleep(`${seconds} seconds`).pipe(
          Effect.andThen(driver.sendStatusUpdate({ taskId, state: Mesos.TaskState.TASK_FINISHED })),
          Effect.onInterrupt(() => Effect.ignore(driver.sendStatusUpdate({ taskId, state: Mesos.TaskState.TASK_KILLED })))
        )
      )
    })
})

/** The executor over HTTP, configured from the MESOS_* environment the agent sets. */
export const main = ExecutorDriver.run(sleepExecutor).pipe(
  Effect.provide(HttpAgentClient.layer.pipe(Layer.provideMerge(ExecutorConfig.layer)))
)

if (import.meta.main) NodeRuntime.runMain(main)
