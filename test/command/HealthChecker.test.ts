import { create } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Latch } from "effect"
import { TestClock } from "effect/testing"
import * as HealthChecker from "../../src/command/HealthChecker.js"
import { HealthCheckFailed } from "../../src/command/HealthProbe.js"
import { HealthCheck_Type, HealthCheckSchema } from "../../src/gen/mesos/v1/mesos_pb.js"

const settings = (overrides: Partial<HealthChecker.Settings> = {}): HealthChecker.Settings => ({
  delay: Duration.seconds(1),
  interval: Duration.seconds(1),
  timeout: Duration.seconds(5),
  gracePeriod: Duration.zero,
  consecutiveFailures: 3,
  ...overrides
})

/** A probe whose outcome the test sets, recording when it ran (seconds of virtual time). */
const scriptedProbe = (initial: boolean) =>
  Effect.gen(function*() {
    let healthy = initial
    const ranAt: Array<number> = []
    const probe = Effect.gen(function*() {
      ranAt.push((yield* Clock.currentTimeMillis) / 1000)
      if (!healthy) return yield* new HealthCheckFailed({ message: "unhealthy" })
    })
    return { probe, ranAt, set: (value: boolean) => (healthy = value) }
  })

/** Runs the checker, recording each report with its virtual time in seconds. */
const runChecker = (
  settings: HealthChecker.Settings,
  probe: Effect.Effect<void, HealthCheckFailed>,
  active?: Latch.Latch
) =>
  Effect.gen(function*() {
    const reports: Array<HealthChecker.HealthStatus & { readonly at: number }> = []
    const latch = active ?? (yield* Latch.make(true))
    const report = (status: HealthChecker.HealthStatus) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        reports.push({ ...status, at: now / 1000 })
      })
    const fiber = yield* Effect.forkChild(HealthChecker.run(settings, probe, report, latch))
    yield* Effect.yieldNow
    return { reports, fiber }
  })

const advance = (seconds: number) => TestClock.adjust(Duration.seconds(seconds))

describe("HealthChecker", () => {
  it("takes Mesos's defaults and its timeout 0 as no limit", () => {
    const defaults = HealthChecker.settings(create(HealthCheckSchema, { type: HealthCheck_Type.TCP }))
    assert.deepStrictEqual(
      [defaults.delay, defaults.interval, defaults.timeout, defaults.gracePeriod].map((d) => d && Duration.toSeconds(d)),
      [15, 10, 20, 10]
    )
    assert.strictEqual(defaults.consecutiveFailures, 3)
    const unlimited = HealthChecker.settings(create(HealthCheckSchema, { timeoutSeconds: 0, intervalSeconds: 0.25 }))
    assert.isUndefined(unlimited.timeout)
    assert.strictEqual(Duration.toMillis(unlimited.interval), 250)
  })

  it.effect("checks after the delay, then an interval after each check, and reports only changes to healthy", () =>
    Effect.gen(function*() {
      const { probe, ranAt } = yield* scriptedProbe(true)
      const { reports, fiber } = yield* runChecker(
        settings({ delay: Duration.seconds(5), interval: Duration.seconds(2) }),
        probe
      )
      yield* advance(4)
      assert.deepStrictEqual(ranAt, [])
      yield* advance(1)
      yield* advance(2)
      yield* advance(2)
      assert.deepStrictEqual(ranAt, [5, 7, 9])
      assert.deepStrictEqual(reports, [{ healthy: true, consecutiveFailures: 0, killTask: false, at: 5 }])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("reports every counted failure, and asks for a kill at consecutive_failures", () =>
    Effect.gen(function*() {
      const { probe, set } = yield* scriptedProbe(true)
      const { reports } = yield* runChecker(settings({ consecutiveFailures: 3 }), probe)
      yield* advance(1) // healthy
      set(false)
      for (let i = 0; i < 3; i++) yield* advance(1)
      set(true)
      yield* advance(1) // healthy again
      yield* advance(1) // no change to report
      const rows = reports.map((report) => [report.at, report.healthy, report.consecutiveFailures, report.killTask])
      assert.deepStrictEqual(rows, [
        [1, true, 0, false],
        [2, false, 1, false],
        [3, false, 2, false],
        [4, false, 3, true],
        [5, true, 0, false]
      ])
    }))

  it.effect("ignores failures within the grace period until the first success", () =>
    Effect.gen(function*() {
      const { probe, set } = yield* scriptedProbe(false)
      const { reports } = yield* runChecker(settings({ gracePeriod: Duration.seconds(3), consecutiveFailures: 1 }), probe)
      yield* advance(3) // failures at 1, 2 and 3 s: within the grace period
      assert.deepStrictEqual(reports, [])
      yield* advance(1)
      assert.deepStrictEqual(reports, [{ healthy: false, consecutiveFailures: 1, killTask: true, at: 4 }])
      set(true)
      yield* advance(1)
      assert.strictEqual(reports.length, 2)
    }))

  it.effect("counts failures within the grace period once the task was healthy", () =>
    Effect.gen(function*() {
      const { probe, set } = yield* scriptedProbe(true)
      const { reports } = yield* runChecker(settings({ gracePeriod: Duration.seconds(10) }), probe)
      yield* advance(1)
      set(false)
      yield* advance(1)
      assert.deepStrictEqual(reports.map((report) => [report.at, report.healthy]), [[1, true], [2, false]])
    }))

  it.effect("fails a check that takes longer than the timeout, and waits for one that has no limit", () =>
    Effect.gen(function*() {
      const ran = yield* Deferred.make<void>()
      const stuck = Effect.andThen(Deferred.succeed(ran, undefined), Effect.never)
      const { reports } = yield* runChecker(settings({ timeout: Duration.seconds(2), consecutiveFailures: 1 }), stuck)
      yield* advance(1)
      yield* Deferred.await(ran)
      yield* advance(2)
      assert.deepStrictEqual(reports, [{ healthy: false, consecutiveFailures: 1, killTask: true, at: 3 }])

      const unlimited = yield* runChecker(settings({ timeout: undefined, consecutiveFailures: 1 }), Effect.never)
      yield* advance(3600)
      assert.deepStrictEqual(unlimited.reports, [])
    }))

  it.effect("pauses while inactive, drops a result obtained meanwhile, and checks at once on resumption", () =>
    Effect.gen(function*() {
      const active = yield* Latch.make(true)
      const release = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      let calls = 0
      const probe = Effect.gen(function*() {
        calls++
        if (calls === 1) {
          yield* Deferred.succeed(started, undefined)
          yield* Deferred.await(release)
        }
        return yield* new HealthCheckFailed({ message: "down" })
      })
      const { reports } = yield* runChecker(settings({ consecutiveFailures: 1 }), probe, active)
      yield* advance(1)
      yield* Deferred.await(started)
      yield* active.close
      yield* Deferred.succeed(release, undefined)
      yield* advance(30)
      assert.strictEqual(calls, 1, "no check while paused")
      assert.deepStrictEqual(reports, [], "the result of the check under way was dropped")
      yield* active.open
      yield* Effect.yieldNow
      assert.strictEqual(calls, 2, "checked at once on resumption")
      assert.deepStrictEqual(reports.map((report) => report.at), [31])
    }))
})
