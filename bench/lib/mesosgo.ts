// The mesos-go peer: Go and the mesos-go v1 library from Debian (installed with apt-get when missing),
// and bench/executors/mesos-go/main.go built against them, once per source version.
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const packages = ["golang-go", "golang-github-mesos-mesos-go-dev"]
const gopath = "/usr/share/gocode"
const library = `${gopath}/src/github.com/mesos/mesos-go/api/v1/lib/executor`
const source = new URL("../executors/mesos-go/main.go", import.meta.url).pathname

export type Prepared = { readonly _tag: "Ready"; readonly binary: string; readonly note: string } | {
  readonly _tag: "Unavailable"
  readonly reason: string
}

const run = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) => {
  const result = spawnSync(command, args, { env, encoding: "utf8", timeout: 600_000 })
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim()
  return { ok: result.status === 0, output: result.error?.message ?? output }
}

const tail = (text: string): string => text.split("\n").slice(-3).join(" | ")

const installed = (): boolean => run("go", ["version"]).ok && existsSync(library)

/** apt-get install, after apt-get update if the first attempt fails (stale or empty package lists). */
const install = (log: (line: string) => void): string | undefined => {
  if (process.platform !== "linux" || !run("apt-get", ["--version"]).ok) {
    return `Go and mesos-go are missing and there is no apt-get to install them (${packages.join(", ")})`
  }
  const root = process.getuid?.() === 0
  const sudo = !root && run("sudo", ["-n", "true"]).ok
  if (!root && !sudo) {
    return `Go and mesos-go are missing and installing them needs root: run 'sudo apt-get install -y ${packages.join(" ")}'`
  }
  const apt = (args: ReadonlyArray<string>) =>
    root ? run("apt-get", args, { ...process.env, DEBIAN_FRONTEND: "noninteractive" }) : run("sudo", ["-n", "apt-get", ...args])
  log(`installing ${packages.join(" ")} with apt-get...`)
  let result = apt(["install", "-y", "-q", ...packages])
  if (!result.ok) {
    apt(["update", "-q"])
    result = apt(["install", "-y", "-q", ...packages])
  }
  if (!result.ok) return `apt-get install ${packages.join(" ")} failed: ${tail(result.output)}`
  return installed() ? undefined : `apt-get installed ${packages.join(" ")} but ${library} or 'go' is still missing`
}

export const prepare = (log: (line: string) => void): Prepared => {
  if (!installed()) {
    const failure = install(log)
    if (failure !== undefined) return { _tag: "Unavailable", reason: failure }
  }
  const code = readFileSync(source)
  const dir = join(tmpdir(), "effect-mesos-executor-bench", "mesos-go")
  const binary = join(dir, `executor-${createHash("sha256").update(code).digest("hex").slice(0, 12)}`)
  const version = run("go", ["version"]).output
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true })
    log("building the mesos-go executor...")
    const env: NodeJS.ProcessEnv = { ...process.env, GOPATH: gopath, GO111MODULE: "off", GOFLAGS: "" }
    if (env["GOCACHE"] === undefined && env["HOME"] === undefined) env["GOCACHE"] = join(dir, "cache")
    const built = run("go", ["build", "-o", binary, source], env)
    if (!built.ok) return { _tag: "Unavailable", reason: `go build of ${source} failed: ${tail(built.output)}` }
  }
  return { _tag: "Ready", binary, note: `${version}; mesos-go ${readMesosGoVersion()}` }
}

const readMesosGoVersion = (): string => {
  const result = run("dpkg-query", ["-W", "-f=${Version}", "golang-github-mesos-mesos-go-dev"])
  return result.ok ? result.output : "(version unknown)"
}
