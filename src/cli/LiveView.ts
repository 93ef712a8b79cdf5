/**
 * The display of a local run on a terminal: notable lines (executors starting and ending, kills,
 * shutdowns, protocol problems, echoed output) scroll by, and below them a live table of every task
 * by state is redrawn in place, at most ten times a second.
 */
import { Clock, Effect, Layer, Schedule, Terminal } from "effect"
import { Event_Type } from "../gen/mesos/v1/executor/executor_pb.js"
import { TaskState } from "../gen/mesos/v1/mesos_pb.js"
import { type Activity, describe, statusDetails } from "./Activity.js"
import { ansiStyle, Display, formatLine, renderSummary } from "./Display.js"
import { describeExit } from "./ExecutorContainer.js"
import { stateName, type TasksFile, taskIds } from "./TasksFile.js"

interface TaskRow {
  readonly executorId: string
  readonly taskId: string
  state: TaskState | undefined
  detail: string
}

const redrawInterval = "100 millis"

// ANSI: to the start of the line `n` lines up, clear to the end of the screen, hide and show the cursor.
const up = (lines: number) => (lines === 0 ? "" : `\x1b[${lines}F`)
const clearBelow = "\x1b[0J"
const hideCursor = "\x1b[?25l"
const showCursor = "\x1b[?25h"

export const layer = (tasksFile: TasksFile): Layer.Layer<Display, never, Terminal.Terminal> =>
  Layer.effect(
    Display,
    Effect.gen(function*() {
      const terminal = yield* Terminal.Terminal
      const rows: Array<TaskRow> = tasksFile.executors.flatMap((executor) =>
        executor.launches.flatMap((launch) =>
          taskIds(launch.work).map((taskId) => ({ executorId: executor.executorId, taskId, state: undefined, detail: "" }))
        )
      )
      const executorStatus = new Map(tasksFile.executors.map((executor) => [executor.executorId, "not started"]))
      let header = ""
      let startedAt: number | undefined
      /** Lines to print above the table at the next redraw. */
      let pending: Array<string> = []
      let drawnLines = 0
      let drawnAt = 0
      let dirty = false
      let finished = false

      const write = (text: string) => Effect.ignore(terminal.display(text))

      const record = (activity: Activity): void => {
        startedAt ??= activity.at
        switch (activity._tag) {
          case "AgentStarted":
            header = `agent ${activity.url} · sandboxes under ${activity.workDir}`
            break
          case "ExecutorLaunched":
            executorStatus.set(activity.executorId, `starting, pid ${activity.pid}`)
            break
          case "ExecutorExited":
            executorStatus.set(activity.executorId, describeExit(activity.exit))
            break
          case "ContainerDestroyed":
            executorStatus.set(activity.container.executorId, "container destroyed")
            break
          case "EventSent": {
            const { event, executorId } = activity.event
            if (event.type === Event_Type.SUBSCRIBED) executorStatus.set(executorId, "subscribed")
            if (event.type === Event_Type.SHUTDOWN) executorStatus.set(executorId, "shutting down")
            if (event.type === Event_Type.LAUNCH || event.type === Event_Type.LAUNCH_GROUP) {
              const launched = event.launch?.task === undefined
                ? event.launchGroup?.taskGroup?.tasks ?? []
                : [event.launch.task]
              for (const task of launched) {
                const row = rows.find((candidate) => candidate.taskId === task.taskId?.value)
                if (row !== undefined && row.state === undefined) row.state = TaskState.TASK_STAGING
              }
            }
            break
          }
          case "UpdateHandled": {
            const { update } = activity
            const row = rows.find((candidate) => candidate.taskId === update.taskId)
            if (row !== undefined && update.outcome === "Forwarded") {
              row.state = update.status.state
              row.detail = statusDetails(update.status).join(" ").replace(/ : /, ": ").replace(/^: /, "")
            }
            break
          }
        }
        const line = describe(activity)
        // Details are what the table shows; echoed output is shown as it comes.
        if (line !== undefined && (line.kind !== "Detail" || activity._tag === "ExecutorOutput")) {
          pending.push(formatLine(line, activity.at - startedAt, ansiStyle))
        }
        dirty = true
      }

      const table = (now: number, columns: number): Array<string> => {
        const elapsed = startedAt === undefined ? 0 : (now - startedAt) / 1000
        const idWidth = Math.max(4, ...rows.map((row) => row.taskId.length))
        const byState = new Map<string, number>()
        for (const row of rows) {
          const name = row.state === undefined ? "queued" : stateName(row.state).replace("TASK_", "").toLowerCase()
          byState.set(name, (byState.get(name) ?? 0) + 1)
        }
        const lines = [
          ansiStyle.dim(fit(`${elapsed.toFixed(1)}s · ${header}`, columns)),
          fit(`tasks: ${[...byState].map(([state, count]) => `${count} ${state}`).join(" · ")}`, columns)
        ]
        for (const executor of tasksFile.executors) {
          lines.push(ansiStyle.bold(fit(`executor ${executor.executorId}: ${executorStatus.get(executor.executorId)}`, columns)))
          for (const row of rows) {
            if (row.executorId !== executor.executorId) continue
            const state = row.state === undefined ? "(queued)" : stateName(row.state)
            const text = `  ${row.taskId.padEnd(idWidth)}  ${state.padEnd(22)}  ${row.detail}`.trimEnd()
            lines.push(colour(row.state)(fit(text, columns)))
          }
        }
        return lines
      }

      /** Prints the pending lines and redraws the table in their place; every terminal write goes through here. */
      const redraw = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // A terminal that does not know its width reports 0.
        const columns = yield* terminal.columns
        const lines = table(now, columns > 0 ? columns : 80)
        const output = (drawnLines === 0 ? hideCursor : "") + up(drawnLines) + clearBelow +
          pending.map((line) => `${line}\n`).join("") + lines.map((line) => `${line}\n`).join("")
        pending = []
        drawnLines = lines.length
        drawnAt = now
        dirty = false
        yield* write(output)
      })

      // The clock in the first line moves once a second even when nothing else does.
      yield* Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (!finished && startedAt !== undefined && (dirty || now - drawnAt >= 1000)) yield* redraw
      }).pipe(Effect.repeat(Schedule.spaced(redrawInterval)), Effect.forkScoped)
      yield* Effect.addFinalizer(() => finished ? Effect.void : write(showCursor))

      return Display.of({
        show: (activity) => Effect.sync(() => record(activity)),
        finish: (report) =>
          Effect.gen(function*() {
            yield* redraw
            finished = true
            yield* write(`${showCursor}\n${renderSummary(report, ansiStyle)}\n`)
          })
      })
    })
  )

/** One terminal line: cut short rather than wrapped, so the table keeps its height. */
const fit = (text: string, columns: number): string =>
  text.length < columns ? text : `${text.slice(0, Math.max(0, columns - 2))}…`

const colour = (state: TaskState | undefined): (text: string) => string => {
  switch (state) {
    case TaskState.TASK_FINISHED:
      return ansiStyle.ok
    case TaskState.TASK_FAILED:
    case TaskState.TASK_ERROR:
    case TaskState.TASK_LOST:
    case TaskState.TASK_DROPPED:
    case TaskState.TASK_GONE:
    case TaskState.TASK_GONE_BY_OPERATOR:
      return ansiStyle.problem
    case TaskState.TASK_KILLED:
    case TaskState.TASK_KILLING:
      return ansiStyle.warning
    case undefined:
    case TaskState.TASK_STAGING:
      return ansiStyle.dim
    default:
      return (text) => text
  }
}
