// The bin's entry point. It checks the Node version before importing anything that needs Node 22,
// so that an old `node` fails with a message instead of a syntax or engine error.
// A namespace import: a named one would fail on a Node without `enableCompileCache`, before the check.
import * as Module from "node:module"

const [major = 0] = process.versions.node.split(".").map(Number)
if (major < 22) {
  process.stderr.write(
    `effect-mesos-executor needs Node >= 22; ${process.execPath} is ${process.version}.\n`
  )
  process.exit(1)
}

// An agent starts `command` for every executor: keeping the compiled code of the modules below (in the
// temporary directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off) cuts its start by about a quarter.
Module.enableCompileCache()
const { main } = await import("./Cli.js")
main()
