/**
 * The two media types of the Mesos v1 executor API, and how the agent picks
 * between them: the request `Content-Type` by exact string equality, and the
 * SUBSCRIBE event-stream encoding by `Accept` negotiation that tries JSON
 * before protobuf.
 */
import { Option, Schema } from "effect"

/** Binary proto2 encoding of `mesos.v1.executor.Call` / `Event`. */
export const protobuf = "application/x-protobuf"

/** Mesos's own proto-to-JSON mapping (see `MesosJson`). */
export const json = "application/json"

/** A content type the executor API speaks. */
export const ContentType = Schema.Literals([protobuf, json])

export type ContentType = typeof ContentType.Type

/**
 * Reads a `Content-Type` header value the way the agent does: only the exact
 * strings `application/x-protobuf` and `application/json` are recognised, so
 * `application/json; charset=utf-8` is not (the agent answers 415).
 */
export const parse = (headerValue: string): Option.Option<ContentType> =>
  headerValue === protobuf || headerValue === json ? Option.some(headerValue) : Option.none()

/**
 * Chooses the SUBSCRIBE response encoding for an `Accept` header value
 * (`undefined` when the request has none), as the agent does: JSON if it is
 * acceptable, else protobuf if that is, else none (the agent answers 406).
 *
 * So no header, the full wildcard, `application/*` and even
 * `application/x-protobuf, application/json` all choose JSON; q-values other
 * than 0 are not ranked.
 */
export const negotiate = (accept: string | undefined): Option.Option<ContentType> =>
  accepts(accept, json) ? Option.some(json) : accepts(accept, protobuf) ? Option.some(protobuf) : Option.none()

/**
 * Whether an `Accept` header value accepts `mediaType`, after libprocess's
 * `Request::acceptsMediaType`: whitespace is removed; `type/subtype`, then
 * `type/*`, then the full wildcard is looked for (case-insensitively), and
 * the first entry matching a candidate decides: acceptable unless it carries
 * exactly one `q` parameter that is not a positive number.
 */
const accepts = (accept: string | undefined, mediaType: ContentType): boolean => {
  if (accept === undefined) return true
  const entries = tokenize(accept.replace(/[ \t\n]/g, ""), ",").map((entry) => tokenize(entry, ";"))
  const candidates = [mediaType, `${mediaType.slice(0, mediaType.indexOf("/"))}/*`, "*/*"]
  for (const candidate of candidates) {
    for (const [range, ...parameters] of entries) {
      if (range !== undefined && range.toLowerCase() === candidate) return hasPositiveQuality(parameters)
    }
  }
  return false
}

/** Splits on `delimiter`, dropping empty pieces (stout's `strings::tokenize`). */
const tokenize = (value: string, delimiter: string): Array<string> =>
  value.split(delimiter).filter((piece) => piece.length > 0)

const hasPositiveQuality = (parameters: ReadonlyArray<string>): boolean => {
  const qualities = parameters
    .map((parameter) => tokenize(parameter, "="))
    .filter((pair) => pair.length === 2 && pair[0] === "q")
  // No q, or a repeated one, counts as acceptable, as in libprocess.
  if (qualities.length !== 1) return true
  const quality = qualities[0]![1]!
  return decimalNumber.test(quality) && Number(quality) > 0
}

const decimalNumber = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
