// `npm run build`: compiles src/ into dist/ without a moment where dist/ is missing or half written, so a
// bin, test or benchmark running from dist/ meanwhile keeps working: tsc writes a fresh directory, which
// then replaces dist/ by two renames.
import { execFileSync } from "node:child_process"
import { existsSync, renameSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const fresh = `${root}dist.next`
const old = `${root}dist.old`

rmSync(fresh, { recursive: true, force: true })
rmSync(old, { recursive: true, force: true })
execFileSync(`${root}node_modules/.bin/tsc`, ["-p", "tsconfig.build.json", "--outDir", fresh], { cwd: root, stdio: "inherit" })
if (existsSync(`${root}dist`)) renameSync(`${root}dist`, old)
renameSync(fresh, `${root}dist`)
rmSync(old, { recursive: true, force: true })
