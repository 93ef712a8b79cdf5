// `npm run bundle`: the CLI and everything it imports as ONE ES module that plain Node >= 22 runs
// (`node effect-mesos-executor.mjs command`), for agents that fetch the executor as a single file.
// It bundles the compiled dist/ (so run it after `npm run build`), inlining the lazily imported parts.
// Usage: node scripts/bundle.ts [output file]   (default dist/effect-mesos-executor.mjs)
import { statSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const root = fileURLToPath(new URL("..", import.meta.url))
const output = process.argv[2] ?? `${root}dist/effect-mesos-executor.mjs`

await build({
  input: `${root}dist/cli/main.js`,
  platform: "node",
  logLevel: "warn",
  output: {
    file: output,
    format: "esm",
    codeSplitting: false,
    minify: true,
    banner: "#!/usr/bin/env node"
  }
})

console.log(`${output}: ${(statSync(output).size / 1024).toFixed(0)} KiB`)
