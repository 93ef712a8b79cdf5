/**
 * effect-mesos-executor: Apache Mesos executors on Effect.
 *
 * Write an `Executor` (typed callbacks), run it with `ExecutorDriver`, configured from the agent's
 * environment by `ExecutorConfig`, over `HttpAgentClient`. The wire layer (`RecordIO`, `WireCodec`,
 * `MesosJson`, `AgentEvent`) and the generated protobuf messages (`Mesos`, `MesosExecutor`) are
 * exported for tools that speak the protocol themselves.
 */
export * as AgentClient from "./transport/AgentClient.js"
export * as HttpAgentClient from "./transport/HttpAgentClient.js"
export * as AgentEvent from "./wire/AgentEvent.js"
export * as CommandExecutor from "./command/CommandExecutor.js"
export * as ContentType from "./wire/ContentType.js"
export * as Executor from "./driver/Executor.js"
export * as ExecutorConfig from "./config/ExecutorConfig.js"
export * as ExecutorDriver from "./driver/ExecutorDriver.js"
export * as ExecutorDriverError from "./driver/ExecutorDriverError.js"
export * as MesosDuration from "./config/MesosDuration.js"
export * as MesosJson from "./wire/MesosJson.js"
export * as RecordIO from "./wire/RecordIO.js"
export * as StatusUuid from "./wire/StatusUuid.js"
export * as TaskStates from "./wire/TaskStates.js"
export * as WireCodec from "./wire/WireCodec.js"
/** Generated messages of package `mesos.v1` (TaskInfo, TaskStatus, TaskState, ...). */
export * as Mesos from "./gen/mesos/v1/mesos_pb.js"
/** Generated messages of package `mesos.v1.executor` (Call, Event). */
export * as MesosExecutor from "./gen/mesos/v1/executor/executor_pb.js"
