import { assert, describe, it } from "@effect/vitest"
import * as Excerpt from "../../src/wire/Excerpt.js"

describe("Excerpt", () => {
  it("quotes short text whole, as a JSON string literal", () => {
    assert.strictEqual(Excerpt.quote("5s"), `"5s"`)
    assert.strictEqual(Excerpt.quote(`a"b\n`), `"a\\"b\\n"`)
    assert.strictEqual(Excerpt.quote("x".repeat(64)), `"${"x".repeat(64)}"`)
  })

  it("quotes the first 64 characters of longer text, then its length", () => {
    assert.strictEqual(Excerpt.quote("x".repeat(65)), `"${"x".repeat(64)}"… (65 chars)`)
    assert.strictEqual(Excerpt.abbreviate("9".repeat(100)), `${"9".repeat(64)}… (100 chars)`)
    assert.strictEqual(Excerpt.abbreviate("12"), "12")
  })

  it("never cuts a surrogate pair in two", () => {
    const text = `${"x".repeat(63)}🙂${"y".repeat(10)}`
    assert.strictEqual(Excerpt.quote(text), `"${"x".repeat(63)}"… (75 chars)`)
  })
})
