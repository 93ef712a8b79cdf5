// The benchmark's own executor as it is deployed: one ES module bundled with rolldown, as the README's
// "Deploying" section recommends for executors (the agent starts one per executor, so start-up counts).
import { statSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** Bundles `entry` (which imports the package by name, resolved to the built dist/) into `output`. */
export const bundleExecutor = async (entry: string, output: string): Promise<{ readonly kib: number }> => {
  await build({
    input: entry,
    platform: "node",
    logLevel: "warn",
    resolve: {
      alias: {
        "effect-mesos-executor/testing": `${root}dist/testing/index.js`,
        "effect-mesos-executor": `${root}dist/index.js`
      }
    },
    output: { file: output, format: "esm", codeSplitting: false, minify: true }
  })
  return { kib: Math.round(statSync(output).size / 1024) }
}
