// Fails fast, with the fix, when npm scripts would run on a Node older than 22.
const [major = 0] = process.versions.node.split(".").map(Number)
if (major < 22) {
  console.error(
    `effect-mesos-executor needs Node >= 22, but ${process.execPath} is ${process.version}.\n` +
      "Run `npm ci`: it brings Node 22 into node_modules/.bin, which npm scripts put first on PATH."
  )
  process.exit(1)
}
