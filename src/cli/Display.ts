/**
 * How a local run is shown: as it happens, then its summary. Three displays: `plain`, timestamped
 * lines for pipes and CI logs; `json`, one JSON object per line for tools; and the live view of a
 * terminal (`LiveView`).
 */
import { Console, Context, Duration, Effect, Layer } from "effect"
import * as MesosDuration from "../config/MesosDuration.js"
import { type Activity, describe, type Line } from "./Activity.js"
import { describeExit } from "./ExecutorContainer.js"
import { describeExpectation, describeOutcome, type Report } from "./Report.js"
import { reasonName, stateName } from "./TasksFile.js"

export interface DisplayShape {
  /** Something happened; activities arrive in order, the first being `AgentStarted`. */
  readonly show: (activity: Activity) => Effect.Effect<void>
  /** The run is over: its summary. Nothing is shown after it. */
  readonly finish: (report: Report) => Effect.Effect<void>
}

export class Display extends Context.Service<Display, DisplayShape>()("effect-mesos-executor/cli/Display") {}

/** Timestamped lines, seconds since the agent started: everything that happens, then the summary. */
export const plain: Layer.Layer<Display> = Layer.sync(Display, () =>
  Display.of({
    show: printedLines((line, elapsedMillis) => formatLine(line, elapsedMillis)),
    finish: (report) => Console.log(`\n${renderSummary(report, plainStyle)}`)
  }))

/** Prints each activity that has a line, rendered with the milliseconds since the first activity. */
const printedLines = (
  render: (line: Line, elapsedMillis: number, activity: Activity) => string
): DisplayShape["show"] => {
  let startedAt: number | undefined
  return (activity) =>
    Effect.suspend(() => {
      startedAt ??= activity.at
      const line = describe(activity)
      return line === undefined ? Effect.void : Console.log(render(line, activity.at - startedAt, activity))
    })
}

/**
 * One JSON object per line: `{"type":"Activity","t":<seconds>,"activity":<tag>,"executor_id":…,
 * "kind":"Problem"|"Notable"|"Detail","text":…}` for each activity, then `{"type":"Summary",…}`.
 */
export const json: Layer.Layer<Display> = Layer.sync(Display, () =>
  Display.of({
    show: printedLines((line, elapsedMillis, activity) =>
      JSON.stringify({
        type: "Activity",
        t: elapsedMillis / 1000,
        activity: activity._tag,
        executor_id: line.executorId ?? null,
        kind: line.kind,
        text: line.text
      })
    ),
    finish: (report) => Console.log(JSON.stringify(summaryJson(report)))
  }))

/** `+  1.234s [executor] text`, continuation lines indented under the text. */
export const formatLine = (line: Line, elapsedMillis: number, style: Style = plainStyle): string => {
  const time = `+${(elapsedMillis / 1000).toFixed(3).padStart(7)}s`
  const who = line.executorId === undefined ? "" : `[${line.executorId}] `
  const text = line.kind === "Problem" ? style.problem(line.text) : line.kind === "Detail" ? line.text : style.bold(line.text)
  const indent = " ".repeat(time.length + 1 + who.length)
  return `${style.dim(time)} ${who}${text.split("\n").join(`\n${indent}`)}`
}

/** Text decorations: ANSI colours on a terminal, nothing elsewhere. */
export interface Style {
  readonly bold: (text: string) => string
  readonly dim: (text: string) => string
  readonly ok: (text: string) => string
  readonly problem: (text: string) => string
  readonly warning: (text: string) => string
}

export const plainStyle: Style = { bold: identity, dim: identity, ok: identity, problem: identity, warning: identity }

export const ansiStyle: Style = {
  bold: (text) => `\x1b[1m${text}\x1b[22m`,
  dim: (text) => `\x1b[2m${text}\x1b[22m`,
  ok: (text) => `\x1b[32m${text}\x1b[39m`,
  problem: (text) => `\x1b[31m${text}\x1b[39m`,
  warning: (text) => `\x1b[33m${text}\x1b[39m`
}

function identity(text: string): string {
  return text
}

/** The summary: a table of tasks, how each executor ended, the protocol problems, the verdict. */
export const renderSummary = (report: Report, style: Style): string => {
  const verdict = (ok: boolean) => (ok ? style.ok("ok") : style.problem("FAIL"))
  const tasks = table(
    ["EXECUTOR", "TASK", "FINAL STATE", "EXPECTED", "OK", "MESSAGE"],
    report.tasks.map((task) => [
      task.executorId,
      task.taskId,
      describeOutcome(task),
      describeExpectation(task.expected),
      verdict(task.ok),
      task.message ?? ""
    ])
  )
  const executors = table(
    ["EXECUTOR", "EXIT", "EXPECTED", "OK", "SANDBOX"],
    report.executors.map((executor) => [
      executor.executorId,
      executor.exit === undefined ? "still running" : describeExit(executor.exit),
      `exit code ${executor.expectedExitCode}`,
      verdict(executor.ok),
      executor.sandbox
    ])
  )
  const problems = report.problems.length === 0
    ? ["Protocol problems: none"]
    : [
      `Protocol problems (${report.problems.length}):`,
      ...report.problems.map((problem) =>
        `  ${problem.executorId === undefined ? "" : `[${problem.executorId}] `}${style.problem(problem.text)}`
      )
    ]
  const expected = report.tasks.filter((task) => task.ok).length
  const exited = report.executors.filter((executor) => executor.ok).length
  const result = [
    `${expected} of ${report.tasks.length} task(s) ended as expected`,
    `${exited} of ${report.executors.length} executor(s) exited as expected`,
    ...(report.timedOut === undefined ? [] : [`timed out after ${MesosDuration.format(report.timedOut)}`])
  ].join("; ")
  return [
    style.bold("Tasks"),
    ...tasks,
    "",
    style.bold("Executors"),
    ...executors,
    "",
    ...problems,
    "",
    `${report.ok ? style.ok("PASSED") : style.problem("FAILED")}: ${result}`
  ].join("\n")
}

/** Left-aligned columns two spaces apart; the last one is not padded. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const visible = (cell: string) => cell.replace(/\x1b\[[0-9;]*m/g, "").length
  const widths = header.map((title, column) => Math.max(visible(title), ...rows.map((row) => visible(row[column] ?? ""))))
  const render = (row: ReadonlyArray<string>) =>
    "  " + row.map((cell, column) =>
      column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - visible(cell))
    ).join("  ").trimEnd()
  return [render(header), ...rows.map(render)]
}

const summaryJson = (report: Report) => ({
  type: "Summary",
  ok: report.ok,
  timed_out: report.timedOut === undefined ? null : Duration.toMillis(report.timedOut) / 1000,
  tasks: report.tasks.map((task) => ({
    executor_id: task.executorId,
    task_id: task.taskId,
    state: stateName(task.state),
    reason: task.reason === undefined ? null : reasonName(task.reason),
    message: task.message ?? null,
    healthy: task.healthy,
    expected: {
      state: stateName(task.expected.state),
      reason: task.expected.reason === undefined ? null : reasonName(task.expected.reason),
      healthy: task.expected.healthy
    },
    ok: task.ok
  })),
  executors: report.executors.map((executor) => ({
    executor_id: executor.executorId,
    sandbox: executor.sandbox,
    subscribed: executor.subscribed,
    exit: executor.exit === undefined
      ? null
      : executor.exit._tag === "Exited"
      ? { code: executor.exit.code }
      : { signal: executor.exit.signal },
    expected_exit_code: executor.expectedExitCode,
    ok: executor.ok
  })),
  problems: report.problems.map((problem) => ({ executor_id: problem.executorId ?? null, text: problem.text }))
})
