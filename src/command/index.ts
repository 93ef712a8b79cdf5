/**
 * The command executor: a ready-made executor that runs each task's `TaskInfo.command` as a child
 * process, as the Mesos command and default executors do.
 */
export * as CommandExecutor from "./CommandExecutor.js"
