import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Examples and tests import the package by its name, as users do; resolve it to the sources.
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-mesos-executor\/testing$/, replacement: source("./src/testing/index.ts") },
      { find: /^effect-mesos-executor$/, replacement: source("./src/index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
