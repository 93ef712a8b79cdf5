// "A message a person can act on": the checks every rejection's message must pass.

/** The message with its quoted parts (echoes of the input) blanked. */
const unquoted = (message: string): string =>
  message.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/'(?:[^'\\]|\\.)*'/g, "''")

/**
 * What is wrong with an error message, if anything: not a string, empty, or showing a value that was
 * never turned into text (`[object Object]`, `undefined`, `NaN`). Echoes of the input in quotes are
 * not held against it, nor are `got undefined`, `the number NaN` and `NaN cannot be written`, which
 * describe an input value.
 */
export const messageProblem = (message: unknown): string | undefined => {
  if (typeof message !== "string") return `the message is a ${typeof message}, not a string`
  if (message.trim() === "") return "the message is empty"
  const text = unquoted(message)
    .replace(/\bgot undefined\b/g, "")
    .replace(/\bthe number NaN\b|\bNaN cannot be written\b/g, "")
  if (/\[object \w*\]/.test(text)) return `the message shows "[object ...]": ${JSON.stringify(message)}`
  if (/\bundefined\b/.test(text)) return `the message shows "undefined": ${JSON.stringify(message)}`
  if (/\bNaN\b/.test(text)) return `the message shows "NaN": ${JSON.stringify(message)}`
  return undefined
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
