/** Executor calls for the fake-agent tests, addressed to the fakes' default executor. */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import {
  type Call,
  Call_SubscribeSchema,
  Call_Type,
  CallSchema
} from "../../src/gen/mesos/v1/executor/executor_pb.js"
import { type TaskState, TaskStatus_Source, type TaskStatusSchema } from "../../src/gen/mesos/v1/mesos_pb.js"

export const frameworkId = "fake-framework-0000"
export const executorId = "fake-executor"

export interface Sender {
  readonly executorId?: string
  readonly frameworkId?: string
}

const ids = (sender: Sender = {}) => ({
  executorId: { value: sender.executorId ?? executorId },
  frameworkId: { value: sender.frameworkId ?? frameworkId }
})

/** A random version 4 UUID's 16 bytes, as executors make them. */
export const uuid = (): Uint8Array => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  return bytes
}

export const subscribe = (
  init: MessageInitShape<typeof Call_SubscribeSchema> = {},
  sender?: Sender
): Call =>
  create(CallSchema, { ...ids(sender), type: Call_Type.SUBSCRIBE, subscribe: create(Call_SubscribeSchema, init) })

/** A task as the executor keeps it until an update for it is acknowledged, for `unacknowledged_tasks`. */
export const unacknowledgedTask = (taskId: string) => ({
  name: taskId,
  taskId: { value: taskId },
  agentId: { value: "fake-agent-S0" }
})

/** An UPDATE as a well-behaved executor sends it; `status` overrides any field. */
export const update = (
  taskId: string,
  state: TaskState,
  status: MessageInitShape<typeof TaskStatusSchema> = {},
  sender?: Sender
): Call => {
  const defaults: MessageInitShape<typeof TaskStatusSchema> = {
    taskId: { value: taskId },
    state,
    source: TaskStatus_Source.EXECUTOR,
    executorId: { value: sender?.executorId ?? executorId },
    uuid: uuid()
  }
  const init = { ...defaults, ...status } as MessageInitShape<typeof TaskStatusSchema>
  return create(CallSchema, { ...ids(sender), type: Call_Type.UPDATE, update: { status: init } })
}

export const message = (data: string, sender?: Sender): Call =>
  create(CallSchema, { ...ids(sender), type: Call_Type.MESSAGE, message: { data: new TextEncoder().encode(data) } })

/** The C++ library's HEARTBEAT, with its placeholder ids. */
export const heartbeat = (): Call =>
  create(CallSchema, { ...ids({ executorId: "unused", frameworkId: "unused" }), type: Call_Type.HEARTBEAT })

export const unknown = (sender?: Sender): Call => create(CallSchema, { ...ids(sender), type: Call_Type.UNKNOWN })
