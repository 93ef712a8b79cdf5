import { create, type MessageInitShape } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as TaskCommand from "../../src/command/TaskCommand.js"
import {
  CommandInfoSchema,
  Environment_Variable_Type,
  TaskInfoSchema
} from "../../src/gen/mesos/v1/mesos_pb.js"

const command = (init: MessageInitShape<typeof CommandInfoSchema>) => create(CommandInfoSchema, init)

describe("TaskCommand", () => {
  it("runs a shell command as /bin/sh -c", () => {
    const process = TaskCommand.make(command({ value: "echo hi && exit 3" }), { cwd: "/sandbox", environment: {} })
    assert.strictEqual(process.command, "/bin/sh")
    assert.deepStrictEqual(process.args, ["-c", "echo hi && exit 3"])
    assert.strictEqual(process.options.cwd, "/sandbox")
  })

  it("runs a plain command with arguments[0] as argv[0], so the program's arguments come after it", () => {
    const process = TaskCommand.make(
      command({ shell: false, value: "/usr/bin/env", arguments: ["env", "-u", "HOME", "printenv"] }),
      { cwd: undefined, environment: {} }
    )
    assert.strictEqual(process.command, "/usr/bin/env")
    assert.deepStrictEqual(process.args, ["-u", "HOME", "printenv"])
  })

  it("extends the executor's environment, removing the agent's token, in its own process group", () => {
    const { options } = TaskCommand.make(command({ value: "env" }), { cwd: undefined, environment: { A: "1" } })
    assert.isTrue(options.extendEnv)
    assert.deepStrictEqual(options.env, { A: "1", MESOS_EXECUTOR_AUTHENTICATION_TOKEN: undefined })
    assert.notStrictEqual(options.detached, false)
    assert.deepStrictEqual([options.stdin, options.stdout, options.stderr], ["ignore", "inherit", "inherit"])
  })

  it("never lets a task set the token either", () => {
    const { options } = TaskCommand.make(command({ value: "env" }), {
      cwd: undefined,
      environment: { MESOS_EXECUTOR_AUTHENTICATION_TOKEN: "forged" }
    })
    assert.isUndefined(options.env?.MESOS_EXECUTOR_AUTHENTICATION_TOKEN)
  })

  it("gives a task its command's variables, skipping secrets, and its allocation role", () => {
    const task = create(TaskInfoSchema, {
      taskId: { value: "t" },
      resources: [{ name: "cpus", allocationInfo: { role: "web" } }],
      command: {
        value: "env",
        environment: {
          variables: [
            { name: "PLAIN", value: "yes" },
            { name: "MESOS_ALLOCATION_ROLE", value: "overridden by the role" },
            { name: "SECRET", type: Environment_Variable_Type.SECRET, secret: { type: 1 } }
          ]
        }
      }
    })
    assert.deepStrictEqual(TaskCommand.taskEnvironment(task), { PLAIN: "yes", MESOS_ALLOCATION_ROLE: "web" })
    assert.deepStrictEqual(TaskCommand.taskEnvironment(create(TaskInfoSchema, { command: { value: "env" } })), {})
  })

  it("rejects a command that names nothing to run, in the command executor's words", () => {
    const message = (init: MessageInitShape<typeof CommandInfoSchema>) =>
      Result.match(TaskCommand.validate(command(init), "task 'web'"), {
        onFailure: (error) => error.message,
        onSuccess: () => "valid"
      })
    assert.strictEqual(message({ value: "" }), "Shell command of task 'web' is not specified")
    assert.strictEqual(message({ shell: false, arguments: ["x"] }), "Executable of task 'web' is not specified")
    assert.strictEqual(message({ value: "true" }), "valid")
  })
})
