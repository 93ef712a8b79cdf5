/**
 * Brings dist/ up to date once, before any test file runs: the CLI, integration and bundle tests run the
 * built bin as agents do. `npm ci` builds through `prepare`; this only rebuilds after a source change, so
 * tests never judge stale code, and no two test files build at the same time.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

const modificationTimes = (dir: string, extension: string): Array<number> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(extension))
    .map((file) => statSync(join(dir, file)).mtimeMs)

const isStale = (): boolean => {
  const dist = join(root, "dist")
  if (!existsSync(join(dist, "cli", "main.js"))) return true
  return Math.max(...modificationTimes(join(root, "src"), ".ts")) > Math.min(...modificationTimes(dist, ".js"))
}

export default function setup(): void {
  if (isStale()) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" })
}
