// The bin's entry point. It checks the Node version before importing anything that needs Node 22,
// so that an old `node` fails with a message instead of a syntax or engine error.
const [major = 0] = process.versions.node.split(".").map(Number)
if (major < 22) {
  process.stderr.write(
    `effect-mesos-executor needs Node >= 22; ${process.execPath} is ${process.version}.\n`
  )
  process.exit(1)
}

const usage = `effect-mesos-executor: Apache Mesos executors on Effect

Usage:
  effect-mesos-executor command      run the command executor (started by a Mesos agent, or by 'local')
  effect-mesos-executor local        run an executor under a local agent, without a Mesos cluster
  effect-mesos-executor --help       show this text

Both subcommands arrive with the driver and the command executor; this build ships the wire layer.
`

const [subcommand] = process.argv.slice(2)
if (subcommand === undefined || subcommand === "--help" || subcommand === "-h") {
  process.stdout.write(usage)
} else {
  process.stderr.write(`effect-mesos-executor: '${subcommand}' is not available yet\n\n${usage}`)
  process.exitCode = 2
}
