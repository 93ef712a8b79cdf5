/**
 * Health checking of one task, timed and judged as Mesos does it (`src/checks/health_checker.cpp`,
 * `checker_process.cpp`):
 *
 * - the first check runs `delay_seconds` after the checker starts (when the task was forked), each next
 *   one `interval_seconds` after the previous one ended; a check that takes longer than
 *   `timeout_seconds` (0: no limit) fails;
 * - until the first success, failures within `grace_period_seconds` of the start are ignored;
 * - the first success, and the first success after failures, report the task healthy; every counted
 *   failure reports it unhealthy, with `killTask` once `consecutive_failures` are reached in a row.
 *
 * While checks are paused (the executor is disconnected from its agent), none starts and the outcome
 * of one under way is dropped; on resumption a check runs at once.
 */
import { Cause, Clock, Duration, Effect, Latch } from "effect"
import type { HealthCheck } from "../gen/mesos/v1/mesos_pb.js"
import { HealthCheckFailed, type Probe } from "./HealthProbe.js"

export interface Settings {
  readonly delay: Duration.Duration
  readonly interval: Duration.Duration
  /** Undefined: a check may take as long as it takes. */
  readonly timeout: Duration.Duration | undefined
  readonly gracePeriod: Duration.Duration
  readonly consecutiveFailures: number
}

/** One health change to report. */
export interface HealthStatus {
  readonly healthy: boolean
  /** Failures in a row so far; 0 when healthy. */
  readonly consecutiveFailures: number
  /** Failures reached `consecutive_failures`: the task must be killed. */
  readonly killTask: boolean
}

const seconds = (value: number) => Duration.millis(Math.max(0, value) * 1000)

export const settings = (check: HealthCheck): Settings => ({
  delay: seconds(check.delaySeconds),
  interval: seconds(check.intervalSeconds),
  timeout: check.timeoutSeconds > 0 ? seconds(check.timeoutSeconds) : undefined,
  gracePeriod: seconds(check.gracePeriodSeconds),
  consecutiveFailures: check.consecutiveFailures
})

const withTimeout = (probe: Probe, timeout: Duration.Duration | undefined): Probe =>
  timeout === undefined ? probe : probe.pipe(
    Effect.timeout(timeout),
    Effect.catchIf(
      Cause.isTimeoutError,
      () => Effect.fail(new HealthCheckFailed({ message: `Health check timed out after ${Duration.format(timeout)}` }))
    )
  )

/**
 * Checks forever, calling `report` for every change to report; checks run only while `active` is open.
 * Interrupt it to stop checking.
 */
export const run = <R>(
  settings: Settings,
  probe: Probe,
  report: (status: HealthStatus) => Effect.Effect<void, never, R>,
  active: Latch.Latch
): Effect.Effect<never, never, R> =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const check = withTimeout(probe, settings.timeout)
    let initializing = true
    let consecutiveFailures = 0
    yield* Effect.sleep(settings.delay)
    while (true) {
      yield* active.await
      const outcome = yield* Effect.result(check)
      if (!Latch.isOpen(active)) continue
      if (outcome._tag === "Success") {
        yield* Effect.logDebug("health check passed")
        if (initializing || consecutiveFailures > 0) {
          initializing = false
          consecutiveFailures = 0
          yield* report({ healthy: true, consecutiveFailures: 0, killTask: false })
        }
      } else {
        const now = yield* Clock.currentTimeMillis
        const grace = Duration.toMillis(settings.gracePeriod)
        if (initializing && grace > 0 && now - startedAt <= grace) {
          yield* Effect.logInfo("ignoring a health check failure within the grace period", outcome.failure.message)
        } else {
          consecutiveFailures++
          yield* Effect.logWarning(`health check failed ${consecutiveFailures} time(s) in a row`, outcome.failure.message)
          yield* report({
            healthy: false,
            consecutiveFailures,
            killTask: consecutiveFailures >= settings.consecutiveFailures
          })
        }
      }
      yield* Effect.sleep(settings.interval)
    }
  })
