// "A message a person can act on": the checks every rejection's message must pass.

/** The message with its quoted parts (echoes of the input) blanked. */
const unquoted = (message: string): string =>
  message.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/'(?:[^'\\]|\\.)*'/g, "''")

/** The longest line a message may have: enough for a path, a problem and a bounded quote of the input. */
export const maxLineLength = 1024

/** The most lines: `ExecutorConfigError` lists one per variable (13), under a heading. */
export const maxLines = 16

/** The most characters of input a message may quote (`Excerpt.maxQuotedChars` in the library). */
export const maxQuotedChars = 64

/** A quoted string literal's text, or undefined if it does not read as one (V8 quotes snippets loosely). */
const literalText = (literal: string): string | undefined => {
  try {
    const text: unknown = JSON.parse(literal)
    return typeof text === "string" ? text : undefined
  } catch {
    return undefined
  }
}

/**
 * What is wrong with an error message, if anything: not a string, empty, too long (a line over
 * {@link maxLineLength}, more than {@link maxLines} lines, a quote of more than {@link maxQuotedChars}
 * characters of input), holding a stack trace, or showing a value that was never turned into text
 * (`[object Object]`, `undefined`, `NaN`). Echoes of the input in quotes are not held against it, nor are
 * `got undefined`, `the number NaN` and `NaN cannot be written`, which describe an input value.
 */
export const messageProblem = (message: unknown): string | undefined => {
  if (typeof message !== "string") return `the message is a ${typeof message}, not a string`
  if (message.trim() === "") return "the message is empty"
  const lines = message.split("\n")
  if (lines.length > maxLines) return `the message has ${lines.length} lines, more than ${maxLines}`
  const longest = Math.max(...lines.map((line) => line.length))
  if (longest > maxLineLength) {
    return `the message has a line of ${longest} characters, more than ${maxLineLength}: ${excerpt(message)}`
  }
  if (/^\s+at \S.*(:\d+:\d+\)?|\(native\))$/m.test(message)) return `the message holds a stack trace: ${excerpt(message)}`
  for (const [literal] of message.matchAll(/"(?:[^"\\]|\\.)*"/g)) {
    const text = literalText(literal)
    if (text !== undefined && text.length > maxQuotedChars) {
      return `the message quotes ${text.length} characters of input, more than ${maxQuotedChars}: ${excerpt(message)}`
    }
  }
  const text = unquoted(message)
    .replace(/\bgot undefined\b/g, "")
    .replace(/\bthe number NaN\b|\bNaN cannot be written\b/g, "")
  if (/\[object \w*\]/.test(text)) return `the message shows "[object ...]": ${JSON.stringify(message)}`
  if (/\bundefined\b/.test(text)) return `the message shows "undefined": ${JSON.stringify(message)}`
  if (/\bNaN\b/.test(text)) return `the message shows "NaN": ${JSON.stringify(message)}`
  return undefined
}

/** The start of a (too long) message, for a failure report. */
const excerpt = (message: string): string => JSON.stringify(message.slice(0, 200)) + (message.length > 200 ? "…" : "")

/**
 * How the library quotes `text` in a message, written independently of it: the whole of it as a JSON
 * string literal, or its first {@link maxQuotedChars} characters (one fewer if that would split a
 * surrogate pair) and `… (N chars)`.
 */
export const expectedQuote = (text: string): string => {
  if (text.length <= maxQuotedChars) return JSON.stringify(text)
  const highSurrogateLast = /[\ud800-\udbff]/.test(text.charAt(maxQuotedChars - 1))
  return `${JSON.stringify(text.slice(0, highSurrogateLast ? maxQuotedChars - 1 : maxQuotedChars))}… (${text.length} chars)`
}

/** `messageProblem`, then that the message mentions each of `mentions`. */
export const messageMentions = (message: unknown, mentions: ReadonlyArray<string>): string | undefined => {
  const problem = messageProblem(message)
  if (problem !== undefined) return problem
  for (const mention of mentions) {
    if (!(message as string).includes(mention)) {
      return `the message does not mention ${JSON.stringify(mention)}: ${JSON.stringify(message)}`
    }
  }
  return undefined
}

/** The first defined problem, for chaining checks. */
export const firstProblem = (...checks: ReadonlyArray<() => string | undefined>): string | undefined => {
  for (const check of checks) {
    const problem = check()
    if (problem !== undefined) return problem
  }
  return undefined
}

/** Whether `value` is an effect `Result` (what every fuzzed function must return). */
export const isResult = (value: unknown): value is { readonly _tag: "Success" | "Failure" } =>
  typeof value === "object" && value !== null && "_tag" in value &&
  (value._tag === "Success" || value._tag === "Failure")
