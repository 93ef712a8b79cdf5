// Regenerates the wire code: proto/ from the Mesos schema facts, then src/gen/ from proto/ with buf.
//
//   node scripts/generate.ts           rewrite proto/ and src/gen/ (npm run generate)
//   node scripts/generate.ts --check   generate into a temporary directory and exit 1 if the committed
//                                      files differ; the working tree is left untouched (npm test)
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const generatedDirs = ["proto", "src/gen"]

function run(command: string, args: ReadonlyArray<string>, cwd: string): void {
  const result = spawnSync(command, args, {
    cwd,
    stdio: "inherit",
    // buf and protoc-gen-es start with `#!/usr/bin/env node`: make that the Node running this script.
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? ""}` }
  })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`\`${command} ${args.join(" ")}\` failed in ${cwd}`)
}

/** Writes proto/ and src/gen/ under `root`, which holds buf.yaml, buf.gen.yaml and node_modules. */
function generateInto(root: string): void {
  rmSync(join(root, "proto"), { recursive: true, force: true }) // buf.gen.yaml's `clean` does the same for src/gen
  run(process.execPath, [join(repoRoot, "scripts/proto-from-schema.ts"), "--out", join(root, "proto")], root)
  run(join(repoRoot, "node_modules/.bin/buf"), ["generate"], root)
}

function filesUnder(dir: string): Set<string> {
  try {
    return new Set(
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    )
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Set()
    throw error
  }
}

/** Committed generated files that do not match a fresh generation, each with the reason. */
function staleFiles(freshRoot: string): Array<string> {
  const stale: Array<string> = []
  for (const dir of generatedDirs) {
    const fresh = filesUnder(join(freshRoot, dir))
    const committed = filesUnder(join(repoRoot, dir))
    for (const file of [...new Set([...fresh, ...committed])].toSorted()) {
      const path = join(dir, file)
      if (!fresh.has(file)) stale.push(`${path} (not generated)`)
      else if (!committed.has(file)) stale.push(`${path} (missing)`)
      else if (!readFileSync(join(freshRoot, path)).equals(readFileSync(join(repoRoot, path)))) {
        stale.push(`${path} (differs)`)
      }
    }
  }
  return stale
}

/** Generates into a scratch directory and compares; the working tree is only read. */
function check(): Array<string> {
  const scratch = mkdtempSync(join(tmpdir(), "effect-mesos-executor-generate-"))
  try {
    // A copy of the repository's generation inputs, so the check runs the very same buf configuration.
    copyFileSync(join(repoRoot, "buf.yaml"), join(scratch, "buf.yaml"))
    copyFileSync(join(repoRoot, "buf.gen.yaml"), join(scratch, "buf.gen.yaml"))
    symlinkSync(join(repoRoot, "node_modules"), join(scratch, "node_modules"), "dir")
    generateInto(scratch)
    return staleFiles(scratch)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } })
try {
  if (!values.check) {
    generateInto(repoRoot)
  } else {
    const stale = check()
    if (stale.length > 0) {
      console.error(
        `generate --check: the committed wire code is stale:\n${stale.map((file) => `  ${file}`).join("\n")}\n` +
          "Run `npm run generate` and commit the result."
      )
      process.exitCode = 1
    } else {
      console.log(`generate --check: ${generatedDirs.join(" and ")} are up to date.`)
    }
  }
} catch (error) {
  console.error(`generate: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
