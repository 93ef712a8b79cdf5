// Writes our .proto files from the Mesos v1 wire schema facts (../shared/mesos/schema.json).
//
//   node scripts/proto-from-schema.ts [--out <dir>]    (default: proto/ of this repository)
//
// The facts list every message and enum the executor API can reach, field for field. Everything is
// emitted in a fixed order (per scope: enums, then messages, by name; fields by number), so the output
// only changes when the facts do. Anything the facts say that this script cannot express faithfully
// (an unknown key, an unknown type, an irregular map entry) stops it with an error rather than being
// dropped.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const schemaPath = fileURLToPath(new URL("../../shared/mesos/schema.json", import.meta.url))
const defaultOutDir = fileURLToPath(new URL("../proto/", import.meta.url))

// The facts name files but not packages; these are the packages of the two official files.
const packageOfFile: Record<string, string> = {
  "mesos/v1/mesos.proto": "mesos.v1",
  "mesos/v1/executor/executor.proto": "mesos.v1.executor"
}

interface SchemaField {
  readonly name: string
  readonly number: number
  readonly label: "optional" | "required" | "repeated"
  readonly type: string
  readonly type_name?: string
  readonly default?: string
  readonly deprecated?: boolean
  readonly packed?: boolean
  readonly oneof?: string
}

interface SchemaMessage {
  readonly file: string
  readonly fields: ReadonlyArray<SchemaField>
  readonly oneofs?: ReadonlyArray<string>
  readonly map_entry?: boolean
}

interface SchemaEnum {
  readonly file: string
  readonly values: Readonly<Record<string, number>>
}

interface Schema {
  readonly source: string
  readonly syntax: string
  readonly messages: Readonly<Record<string, SchemaMessage>>
  readonly enums: Readonly<Record<string, SchemaEnum>>
}

const scalarTypes = new Set([
  "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string", "bytes",
  "uint32", "sfixed32", "sfixed64", "sint32", "sint64"
])

const knownKeys = {
  schema: ["source", "syntax", "messages", "enums"],
  message: ["file", "fields", "oneofs", "map_entry"],
  field: ["name", "number", "label", "type", "type_name", "default", "deprecated", "packed", "oneof"],
  enum: ["file", "values"]
}

function fail(message: string): never {
  throw new Error(`proto-from-schema: ${message}`)
}

function checkKeys(what: string, value: object, allowed: ReadonlyArray<string>): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(`${what} has key "${key}", which this script does not emit`)
  }
}

function readSchema(path: string): Schema {
  const schema = JSON.parse(readFileSync(path, "utf8")) as Schema
  checkKeys("the schema", schema, knownKeys.schema)
  if (schema.syntax !== "proto2") fail(`expected proto2 facts, got syntax "${schema.syntax}"`)
  for (const [name, message] of Object.entries(schema.messages)) {
    checkKeys(`message ${name}`, message, knownKeys.message)
    for (const field of message.fields) checkKeys(`field ${name}.${field.name}`, field, knownKeys.field)
  }
  for (const [name, enumFacts] of Object.entries(schema.enums)) checkKeys(`enum ${name}`, enumFacts, knownKeys.enum)
  return schema
}

/** A message or the file itself: the scope that nested declarations and fields live in. */
interface Scope {
  readonly fullName: string
  readonly enums: Array<string>
  readonly messages: Array<string>
}

function parentName(fullName: string): string {
  const dot = fullName.lastIndexOf(".")
  return dot === -1 ? "" : fullName.slice(0, dot)
}

function simpleName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf(".") + 1)
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** protoc's name for the entry message of a map field: `node_stage_secrets` → `NodeStageSecretsEntry`. */
function mapEntryName(fieldName: string): string {
  return fieldName.replace(/(?:^|_)([a-z])/g, (_, letter: string) => letter.toUpperCase()).replaceAll("_", "") + "Entry"
}

/**
 * Every name a type reference could collide with, as protoc scopes them: packages, messages (map
 * entries included), enums, enum values (which live beside their enum), fields and oneofs.
 */
type Symbols = ReadonlyMap<string, "package" | "message" | "enum" | "other">

function collectSymbols(schema: Schema): Symbols {
  const kind = new Map<string, "package" | "message" | "enum" | "other">()
  for (const pkg of Object.values(packageOfFile)) {
    const parts = pkg.split(".")
    for (let i = 1; i <= parts.length; i++) kind.set(parts.slice(0, i).join("."), "package")
  }
  for (const [name, message] of Object.entries(schema.messages)) {
    kind.set(name, "message")
    for (const field of message.fields) kind.set(`${name}.${field.name}`, "other")
    for (const oneof of message.oneofs ?? []) kind.set(`${name}.${oneof}`, "other")
  }
  for (const [name, enumFacts] of Object.entries(schema.enums)) {
    kind.set(name, "enum")
    for (const value of Object.keys(enumFacts.values)) kind.set(`${parentName(name)}.${value}`, "other")
  }
  for (const name of [...Object.keys(schema.messages), ...Object.keys(schema.enums)]) {
    for (let outer = parentName(name); !kind.has(outer); outer = parentName(outer)) kind.set(outer, "message")
  }
  return kind
}

/** Resolves a relative type name the way protoc does from inside `scope` (DescriptorBuilder::LookupSymbol). */
function resolveTypeName(symbols: Symbols, scope: string, name: string): string | undefined {
  const firstPart = name.split(".")[0] ?? name
  for (let outer = scope; ; outer = parentName(outer)) {
    const candidate = outer === "" ? firstPart : `${outer}.${firstPart}`
    const kind = symbols.get(candidate)
    if (kind !== undefined) {
      if (firstPart !== name) {
        // A compound name commits to the first aggregate it finds, even if the rest is missing there.
        if (kind !== "other") {
          const full = `${candidate}${name.slice(firstPart.length)}`
          return symbols.get(full) !== undefined ? full : undefined
        }
      } else if (kind === "message" || kind === "enum") {
        return candidate
      }
    }
    if (outer === "") return undefined
  }
}

/** The shortest name that resolves to `target` from inside `scope`, so references read like hand-written ones. */
function typeReference(symbols: Symbols, scope: string, target: string): string {
  const parts = target.split(".")
  for (let i = parts.length - 1; i >= 0; i--) {
    const name = parts.slice(i).join(".")
    if (resolveTypeName(symbols, scope, name) === target) return name
  }
  return `.${target}`
}

function stringLiteral(value: string): string {
  const escaped = value.replace(/[\\"\u0000-\u001f\u007f]/g, (char) => {
    switch (char) {
      case "\\": return "\\\\"
      case "\"": return "\\\""
      case "\n": return "\\n"
      case "\r": return "\\r"
      case "\t": return "\\t"
      default: return `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`
    }
  })
  return `"${escaped}"`
}

/** The proto2 literal for a field's default, given the descriptor's `default_value` text. */
function defaultLiteral(schema: Schema, owner: string, field: SchemaField, value: string): string {
  const where = `${owner}.${field.name}`
  switch (field.type) {
    case "string":
      return stringLiteral(value)
    case "bytes":
      return `"${value}"` // descriptors already hold bytes defaults C-escaped
    case "bool":
      if (value !== "true" && value !== "false") fail(`${where} has bool default "${value}"`)
      return value
    case "enum": {
      const values = schema.enums[field.type_name ?? ""]?.values ?? {}
      if (!Object.hasOwn(values, value)) fail(`${where} defaults to "${value}", not a value of ${field.type_name}`)
      return value
    }
    case "message":
      return fail(`${where} is a message field with a default`)
    default:
      if (!/^(?:-?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|inf)|nan)$/.test(value)) fail(`${where} has default "${value}"`)
      return value
  }
}

function fieldOptions(schema: Schema, owner: string, field: SchemaField): string {
  const options: Array<string> = []
  if (field.default !== undefined) options.push(`default = ${defaultLiteral(schema, owner, field, field.default)}`)
  if (field.deprecated !== undefined) options.push(`deprecated = ${field.deprecated}`)
  if (field.packed !== undefined) options.push(`packed = ${field.packed}`)
  return options.length === 0 ? "" : ` [${options.join(", ")}]`
}

interface Emitter {
  readonly schema: Schema
  readonly symbols: Symbols
  readonly scopes: Map<string, Scope>
  readonly lines: Array<string>
}

function fieldType(emitter: Emitter, owner: string, field: SchemaField): string {
  if (field.type === "message" || field.type === "enum") {
    const target = field.type_name ?? fail(`${owner}.${field.name} has no type_name`)
    const known = field.type === "message" ? emitter.schema.messages[target] : emitter.schema.enums[target]
    if (known === undefined) fail(`${owner}.${field.name} refers to ${field.type} ${target}, absent from the facts`)
    return typeReference(emitter.symbols, owner, target)
  }
  if (!scalarTypes.has(field.type)) fail(`${owner}.${field.name} has unsupported type "${field.type}"`)
  if (field.type_name !== undefined) fail(`${owner}.${field.name} is a ${field.type} with a type_name`)
  return field.type
}

/** `map<K, V>` for a repeated field of a map entry type, after checking the entry is the one protoc would make. */
function mapType(emitter: Emitter, owner: string, field: SchemaField, entryName: string, entry: SchemaMessage): string {
  const where = `${owner}.${field.name}`
  if (field.label !== "repeated" || field.oneof !== undefined) {
    fail(`${where} uses map entry ${entryName} but is not a plain repeated field`)
  }
  if (entryName !== `${owner}.${mapEntryName(field.name)}`) {
    fail(`${where} uses map entry ${entryName}, but map<> would declare ${owner}.${mapEntryName(field.name)}`)
  }
  const [key, value, ...rest] = entry.fields
  const isEntryField = (f: SchemaField | undefined, name: string, number: number) =>
    f !== undefined && f.name === name && f.number === number && f.label === "optional" &&
    f.default === undefined && f.deprecated === undefined && f.packed === undefined && f.oneof === undefined
  if (!isEntryField(key, "key", 1) || !isEntryField(value, "value", 2) || rest.length > 0 || entry.oneofs !== undefined) {
    fail(`map entry ${entryName} is not exactly "optional key = 1; optional value = 2"`)
  }
  return `map<${fieldType(emitter, entryName, key!)}, ${fieldType(emitter, entryName, value!)}>`
}

function emitField(emitter: Emitter, owner: string, field: SchemaField, indent: string, inOneof: boolean): void {
  const entry = field.type === "message" ? emitter.schema.messages[field.type_name ?? ""] : undefined
  const options = fieldOptions(emitter.schema, owner, field)
  if (entry?.map_entry === true) {
    const type = mapType(emitter, owner, field, field.type_name!, entry)
    emitter.lines.push(`${indent}${type} ${field.name} = ${field.number}${options};`)
    return
  }
  if (inOneof && field.label !== "optional") fail(`${owner}.${field.name} is in a oneof but ${field.label}`)
  const label = inOneof ? "" : `${field.label} `
  emitter.lines.push(`${indent}${label}${fieldType(emitter, owner, field)} ${field.name} = ${field.number}${options};`)
}

function emitEnum(emitter: Emitter, fullName: string, indent: string): void {
  const values = Object.entries(emitter.schema.enums[fullName]!.values)
  const numbers = values.map(([, number]) => number)
  if (new Set(numbers).size !== numbers.length) fail(`enum ${fullName} has aliases, which need allow_alias`)
  emitter.lines.push(`${indent}enum ${simpleName(fullName)} {`)
  // Declaration order matters: an unset proto2 enum field reads as the first value.
  for (const [name, number] of values) emitter.lines.push(`${indent}  ${name} = ${number};`)
  emitter.lines.push(`${indent}}`)
}

/** Nested enums, then nested messages, then fields by number; a oneof sits where its first field would. */
function emitMembers(emitter: Emitter, scope: Scope, indent: string): void {
  const blocks: Array<() => void> = [
    ...scope.enums.toSorted(byName).map((name) => () => emitEnum(emitter, name, indent)),
    ...scope.messages.toSorted(byName).map((name) => () => emitMessage(emitter, name, indent))
  ]
  blocks.forEach((emitBlock, i) => {
    if (i > 0) emitter.lines.push("")
    emitBlock()
  })

  const message = emitter.schema.messages[scope.fullName]
  if (message === undefined) return
  const fields = message.fields.toSorted((a, b) => a.number - b.number)
  if (blocks.length > 0 && fields.length > 0) emitter.lines.push("")
  const emittedOneofs = new Set<string>()
  for (const field of fields) {
    if (field.oneof === undefined) {
      emitField(emitter, scope.fullName, field, indent, false)
    } else if (!emittedOneofs.has(field.oneof)) {
      if (!(message.oneofs ?? []).includes(field.oneof)) {
        fail(`${scope.fullName}.${field.name} is in undeclared oneof ${field.oneof}`)
      }
      emittedOneofs.add(field.oneof)
      emitter.lines.push(`${indent}oneof ${field.oneof} {`)
      for (const member of fields.filter((f) => f.oneof === field.oneof)) {
        emitField(emitter, scope.fullName, member, `${indent}  `, true)
      }
      emitter.lines.push(`${indent}}`)
    }
  }
  for (const oneof of message.oneofs ?? []) {
    if (!emittedOneofs.has(oneof)) fail(`${scope.fullName} declares oneof ${oneof} without fields`)
  }
}

function emitMessage(emitter: Emitter, fullName: string, indent: string): void {
  if (emitter.schema.messages[fullName] === undefined) {
    emitter.lines.push(`${indent}// Only a namespace: the executor API reaches none of its own fields.`)
  }
  const scope = emitter.scopes.get(fullName)!
  const isEmpty = scope.enums.length === 0 && scope.messages.length === 0 &&
    (emitter.schema.messages[fullName]?.fields.length ?? 0) === 0
  if (isEmpty) {
    emitter.lines.push(`${indent}message ${simpleName(fullName)} {}`)
    return
  }
  emitter.lines.push(`${indent}message ${simpleName(fullName)} {`)
  emitMembers(emitter, scope, `${indent}  `)
  emitter.lines.push(`${indent}}`)
}

function renderFile(schema: Schema, symbols: Symbols, file: string, imports: ReadonlyArray<string>): string {
  const pkg = packageOfFile[file]!
  const scopes = new Map<string, Scope>([[pkg, { fullName: pkg, enums: [], messages: [] }]])
  const inFile = (facts: Record<string, { readonly file: string }>) =>
    Object.keys(facts).filter((name) => facts[name]!.file === file)
  // Map entries are declared by their map<> fields, not as messages of their own.
  const messages = inFile(schema.messages).filter((name) => schema.messages[name]!.map_entry !== true)
  for (const name of messages) scopes.set(name, { fullName: name, enums: [], messages: [] })
  const scopeOf = (name: string): Scope => {
    if (!name.startsWith(`${pkg}.`)) fail(`${name} is in ${file}, but not inside package ${pkg}`)
    const parent = parentName(name)
    let scope = scopes.get(parent)
    if (scope === undefined) {
      // The facts may hold nested types of a message that is itself unreachable (Value.Scalar
      // without Value): declare that message as a field-less namespace so the full names stay right.
      scope = { fullName: parent, enums: [], messages: [] }
      scopes.set(parent, scope)
      scopeOf(parent).messages.push(parent)
    }
    return scope
  }
  for (const name of messages) scopeOf(name).messages.push(name)
  for (const name of inFile(schema.enums)) scopeOf(name).enums.push(name)

  const emitter: Emitter = {
    schema,
    symbols,
    scopes,
    lines: [
      "// Generated by scripts/proto-from-schema.ts from ../shared/mesos/schema.json, the wire schema",
      `// facts of ${schema.source}.`,
      "// Do not edit: run `npm run generate`.",
      "",
      `syntax = "proto2";`,
      "",
      `package ${pkg};`,
      ""
    ]
  }
  if (imports.length > 0) emitter.lines.push(...imports.map((dependency) => `import "${dependency}";`), "")
  emitMembers(emitter, scopes.get(pkg)!, "")
  return `${emitter.lines.join("\n")}\n`
}

/** The files each file's fields refer to, so that every referenced type is imported. */
function importsOf(schema: Schema, file: string): Array<string> {
  const fileOfType = (name: string) => schema.messages[name]?.file ?? schema.enums[name]?.file
  const imports = new Set<string>()
  for (const message of Object.values(schema.messages)) {
    if (message.file !== file) continue
    for (const field of message.fields) {
      const dependency = field.type_name === undefined ? undefined : fileOfType(field.type_name)
      if (dependency !== undefined && dependency !== file) imports.add(dependency)
    }
  }
  return [...imports].toSorted(byName)
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: "string" } } })
  const outDir = resolve(values.out ?? defaultOutDir)
  const schema = readSchema(schemaPath)
  const files = new Set([...Object.values(schema.messages), ...Object.values(schema.enums)].map((facts) => facts.file))
  for (const file of files) {
    if (packageOfFile[file] === undefined) fail(`the facts mention ${file}, whose package this script does not know`)
  }
  const symbols = collectSymbols(schema)
  for (const file of [...files].toSorted(byName)) {
    const path = join(outDir, file)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, renderFile(schema, symbols, file, importsOf(schema, file)))
  }
}

main()
