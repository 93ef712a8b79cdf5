import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Deadlines } from "../../src/driver/Deadlines.js"

interface Item {
  readonly id: number
  dueAt: number
  deadlineIndex: number
}

type Operation =
  | { readonly op: "schedule"; readonly id: number; readonly dueAt: number }
  | { readonly op: "remove"; readonly id: number }
  | { readonly op: "takeDue"; readonly now: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant("schedule" as const), id: fc.nat(30), dueAt: fc.nat(1000) }),
  fc.record({ op: fc.constant("remove" as const), id: fc.nat(30) }),
  fc.record({ op: fc.constant("takeDue" as const), now: fc.nat(1000) })
)

describe("Deadlines", () => {
  it("behaves like a list sorted by due time, under any mix of schedule, move, remove and takeDue", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const items = new Map<number, Item>()
        const item = (id: number) => {
          let found = items.get(id)
          if (found === undefined) {
            found = { id, dueAt: 0, deadlineIndex: -1 }
            items.set(id, found)
          }
          return found
        }
        const deadlines = new Deadlines<Item>()
        const model = new Map<number, number>()
        for (const operation of operations) {
          switch (operation.op) {
            case "schedule":
              deadlines.schedule(item(operation.id), operation.dueAt)
              model.set(operation.id, operation.dueAt)
              break
            case "remove":
              deadlines.remove(item(operation.id))
              model.delete(operation.id)
              break
            case "takeDue": {
              const taken = deadlines.takeDue(operation.now)
              const earliest = Math.min(...model.values())
              if (model.size === 0 || earliest > operation.now) {
                expect(taken).toBeUndefined()
              } else {
                expect(taken?.dueAt).toBe(earliest)
                expect(model.get(taken!.id)).toBe(earliest)
                expect(taken?.deadlineIndex).toBe(-1)
                model.delete(taken!.id)
              }
            }
          }
          expect(deadlines.size).toBe(model.size)
          const first = deadlines.peek()
          expect(first?.dueAt).toBe(model.size === 0 ? undefined : Math.min(...model.values()))
        }
      }),
      { numRuns: 300 }
    )
  })
})
