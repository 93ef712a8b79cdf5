/**
 * Where in a protobuf body decoding failed. protobuf-es's `fromBinary` errors say what went wrong
 * (`premature EOF`, `invalid varint`) but not where; reading the same bytes again with the same
 * `BinaryReader` calls, in the order `fromBinary` makes them, stops at the same place and knows which
 * field it was in. Only bytes that already failed to decode are read again, so it costs nothing on the
 * normal path.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf"
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire"
import { quote } from "./Excerpt.js"

/**
 * The record being read when decoding failed, with the byte offset of its tag:
 * - `Field`: a field of the schema, by its proto path (`launch.task.resources[2].name`);
 * - `UnknownField`: a field number the schema does not have, inside the message at `message`;
 * - `Tag`: the tag itself did not parse, inside the message at `message` (`""` for the top level).
 */
export type BinaryLocation =
  | { readonly _tag: "Field"; readonly offset: number; readonly path: string }
  | { readonly _tag: "UnknownField"; readonly offset: number; readonly message: string; readonly number: number }
  | { readonly _tag: "Tag"; readonly offset: number; readonly message: string }

/** fromBinary's default. */
const recursionLimit = 100

/**
 * The location at which reading `bytes` as `schema` fails, or undefined if it does not fail. Mesos's
 * protos have no groups (delimited encoding), so message fields are read as length-prefixed only.
 */
export const locate = (schema: DescMessage, bytes: Uint8Array): BinaryLocation | undefined => {
  const reader = new BinaryReader(bytes)
  let location: BinaryLocation | undefined

  const readMessage = (desc: DescMessage, length: number, path: string, depth: number): void => {
    if (depth > recursionLimit) throw new Error("maximum recursion depth")
    const end = reader.pos + length
    const listItems = new Map<number, number>()
    while (reader.pos < end) {
      const offset = reader.pos
      location = { _tag: "Tag", offset, message: path }
      const [number, wireType] = reader.tag()
      const field = desc.fields.find((candidate) => candidate.number === number)
      if (field === undefined) {
        location = { _tag: "UnknownField", offset, message: path, number }
        reader.skip(wireType, number, recursionLimit - depth)
        continue
      }
      const fieldPath = path === "" ? field.name : `${path}.${field.name}`
      location = { _tag: "Field", offset, path: fieldPath }
      readField(field, wireType, fieldPath, depth, listItems)
    }
  }

  const readField = (
    field: DescField,
    wireType: WireType,
    path: string,
    depth: number,
    listItems: Map<number, number>
  ): void => {
    switch (field.fieldKind) {
      case "scalar":
        return void readScalar(field.scalar, field.utf8Validation)
      case "enum":
        return void reader.int32()
      case "message":
        return readMessage(field.message, reader.uint32(), path, depth + 1)
      case "list": {
        const index = listItems.get(field.number) ?? 0
        listItems.set(field.number, index + 1)
        if (field.listKind === "message") {
          return readMessage(field.message, reader.uint32(), `${path}[${index}]`, depth + 1)
        }
        const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar
        if (wireType === WireType.LengthDelimited && scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES) {
          const end = reader.uint32() + reader.pos
          while (reader.pos < end) readScalar(scalar, field.utf8Validation)
          return
        }
        return void readScalar(scalar, field.utf8Validation)
      }
      case "map": {
        const end = reader.uint32() + reader.pos
        // The key usually comes first; the value's path names it then.
        let entryPath = path
        while (reader.pos < end) {
          const [number, entryWireType] = reader.tag()
          if (number === 1) entryPath = `${path}[${quote(String(readScalar(field.mapKey, field.utf8Validation)))}]`
          else if (number !== 2) reader.skip(entryWireType, number, recursionLimit - depth)
          else if (field.mapKind === "message") readMessage(field.message, reader.uint32(), entryPath, depth + 1)
          else readScalar(field.mapKind === "enum" ? ScalarType.INT32 : field.scalar, field.utf8Validation)
        }
        return
      }
    }
  }

  const readScalar = (scalar: ScalarType, utf8Validation: boolean): unknown => {
    switch (scalar) {
      case ScalarType.STRING:
        return reader.string(utf8Validation)
      case ScalarType.BYTES:
        return reader.bytes()
      case ScalarType.BOOL:
        return reader.bool()
      case ScalarType.DOUBLE:
        return reader.double()
      case ScalarType.FLOAT:
        return reader.float()
      case ScalarType.INT32:
        return reader.int32()
      case ScalarType.UINT32:
        return reader.uint32()
      case ScalarType.SINT32:
        return reader.sint32()
      case ScalarType.FIXED32:
        return reader.fixed32()
      case ScalarType.SFIXED32:
        return reader.sfixed32()
      case ScalarType.INT64:
        return reader.int64()
      case ScalarType.UINT64:
        return reader.uint64()
      case ScalarType.SINT64:
        return reader.sint64()
      case ScalarType.FIXED64:
        return reader.fixed64()
      case ScalarType.SFIXED64:
        return reader.sfixed64()
    }
  }

  try {
    readMessage(schema, bytes.length, "", 1)
    return undefined
  } catch {
    return location
  }
}

/** `in field 'launch.task.name' (from byte 31 of 37)` and the like, for an error message. */
export const describe = (location: BinaryLocation | undefined, byteLength: number): string => {
  if (location === undefined) return `(${byteLength} bytes)`
  const at = `byte ${location.offset} of ${byteLength}`
  const within = (message: string) => (message === "" ? "" : ` of '${message}'`)
  switch (location._tag) {
    case "Field":
      return `in field '${location.path}' (from ${at})`
    case "UnknownField":
      return `in unknown field ${location.number}${within(location.message)} (from ${at})`
    case "Tag":
      // Only a message whose length prefix claims more than the body holds is read past its end.
      return `in a field tag${within(location.message)} at ${at}` +
        (location.offset >= byteLength ? " (past the end: a length prefix claims more bytes than there are)" : "")
  }
}
