import { create } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import * as KillPolicy from "../../src/command/KillPolicy.js"
import { KillPolicySchema } from "../../src/gen/mesos/v1/mesos_pb.js"

const policy = (seconds?: number) =>
  create(KillPolicySchema, seconds === undefined ? {} : { gracePeriod: { nanoseconds: BigInt(seconds * 1e9) } })

const millis = (duration: Duration.Duration) => Duration.toMillis(duration)

describe("KillPolicy", () => {
  it("takes the KILL's grace period, else the task's, else 3 seconds", () => {
    assert.strictEqual(millis(KillPolicy.gracePeriod(policy(1), policy(7))), 1000)
    assert.strictEqual(millis(KillPolicy.gracePeriod(undefined, policy(7))), 7000)
    assert.strictEqual(millis(KillPolicy.gracePeriod(policy(), policy(7))), 7000, "a policy without a grace period")
    assert.strictEqual(millis(KillPolicy.gracePeriod(undefined, undefined)), 3000)
    assert.strictEqual(millis(KillPolicy.gracePeriod(policy(0), policy(7))), 0, "zero means SIGKILL at once")
  })

  it("leaves 2 seconds of the shutdown grace period for the ends to be reported, or half of a short one", () => {
    assert.strictEqual(millis(KillPolicy.shutdownGracePeriod(Duration.seconds(5))), 3000)
    assert.strictEqual(millis(KillPolicy.shutdownGracePeriod(Duration.seconds(3))), 1000)
    assert.strictEqual(millis(KillPolicy.shutdownGracePeriod(Duration.seconds(2))), 1000)
    assert.strictEqual(millis(KillPolicy.shutdownGracePeriod(Duration.millis(500))), 250)
  })
})
