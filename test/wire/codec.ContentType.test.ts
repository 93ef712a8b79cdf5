// Content-Type recognition and SUBSCRIBE Accept negotiation, as the agent does them (SPEC §1.2, §1.4;
// the agent's executor_http_api_tests DefaultAccept, NoAcceptHeader, NotAcceptable, UnsupportedContentMediaType).
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as ContentType from "../../src/wire/ContentType.js"

describe("ContentType.parse", () => {
  it("recognises exactly the two media types", () => {
    expect(ContentType.parse("application/x-protobuf")).toEqual(Option.some("application/x-protobuf"))
    expect(ContentType.parse("application/json")).toEqual(Option.some("application/json"))
  })

  it.each([
    "application/json; charset=utf-8",
    "application/json;charset=utf-8",
    "Application/JSON",
    " application/json",
    "application/protobuf",
    "application/unknown-media-type",
    "application/recordio",
    ""
  ])("does not recognise %j (the agent answers 415)", (value) => {
    expect(ContentType.parse(value)).toEqual(Option.none())
  })
})

describe("ContentType.negotiate", () => {
  it.each([
    ["no Accept header (NoAcceptHeader)", undefined],
    ["*/* (DefaultAccept)", "*/*"],
    ["application/*", "application/*"],
    ["JSON listed after protobuf: JSON is tried first, q is not ranked", "application/x-protobuf, application/json"],
    ["a lower q for JSON still picks it", "application/x-protobuf;q=1, application/json;q=0.1"],
    ["media types are case-insensitive", "APPLICATION/JSON"],
    ["a malformed q counts as acceptable", "application/json;q"],
    ["a repeated q counts as acceptable", "application/json;q=0;q=0"],
    ["protobuf refused, the type wildcard accepts JSON", "application/x-protobuf;q=0, application/*"],
    ["whitespace is ignored", " application / json ; q = 0.5 "]
  ])("chooses JSON: %s", (_case, accept) => {
    expect(ContentType.negotiate(accept)).toEqual(Option.some("application/json"))
  })

  it.each([
    ["protobuf only", "application/x-protobuf"],
    ["JSON refused with q=0", "application/json;q=0, application/x-protobuf"],
    ["JSON refused with q=0.0", "application/json; q=0.0, application/x-protobuf"],
    ["the first entry naming JSON decides, even with a wildcard after it", "application/json;q=0, */*"],
    ["other types listed first", "text/html, application/x-protobuf;q=0.1"]
  ])("chooses protobuf: %s", (_case, accept) => {
    expect(ContentType.negotiate(accept)).toEqual(Option.some("application/x-protobuf"))
  })

  it.each([
    ["an unknown type (NotAcceptable)", "foo"],
    ["an empty header", ""],
    ["application/recordio, which the executor API does not offer", "application/recordio"],
    ["both refused", "application/json;q=0, application/x-protobuf;q=0"],
    ["a q that is not a number", "application/json;q=high"],
    ["a negative q", "application/x-protobuf;q=-1"],
    ["everything refused", "*/*;q=0"]
  ])("chooses none (the agent answers 406): %s", (_case, accept) => {
    expect(ContentType.negotiate(accept)).toEqual(Option.none())
  })
})
