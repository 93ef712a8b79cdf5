/**
 * Input quoted in error messages, bounded: a message must stay readable (and loggable) whatever it
 * quotes, and a 1 MiB environment variable or JSON string must not become a 1 MiB message.
 */

/** Characters of input a message quotes before it cuts the rest. */
export const maxQuotedChars = 64

/**
 * `text` as a JSON string literal when it is short; otherwise its first {@link maxQuotedChars}
 * characters as one, then `… (N chars)` with the full length. The cut never splits a surrogate pair.
 */
export const quote = (text: string): string =>
  text.length <= maxQuotedChars
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, cut(text)))}… (${text.length} chars)`

/** `text` itself when it is short (a number, say); otherwise its start, then `… (N chars)`. */
export const abbreviate = (text: string): string =>
  text.length <= maxQuotedChars ? text : `${text.slice(0, cut(text))}… (${text.length} chars)`

const cut = (text: string): number =>
  isHighSurrogate(text.charCodeAt(maxQuotedChars - 1)) ? maxQuotedChars - 1 : maxQuotedChars

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff
