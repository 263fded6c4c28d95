// Starts a real `wxlogin dev` (API + WeChat emulator on free loopback ports,
// SQLite in a temp folder) for a test file, and small helpers around it.
// WXLOGIN_BIN names a prebuilt binary (scripts/test-sdk builds one); without
// it the binary is built into a temp folder with `go build`.
import { spawn, spawnSync } from 'node:child_process'
import { after, before } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export const DEV_APPID = 'wxdec0de0000000001'

let built = null
function binary() {
  if (process.env.WXLOGIN_BIN) return process.env.WXLOGIN_BIN
  if (built) return built
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-bin-'))
  const out = join(dir, 'wxlogin')
  const r = spawnSync('go', ['build', '-o', out, './cmd/wxlogin'], { cwd: repo, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('go build ./cmd/wxlogin failed')
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  built = out
  return out
}

/**
 * startDev starts `wxlogin dev` and resolves to {api, emulator, stop, output}
 * once both listening lines are printed (within 60 s).
 */
export async function startDev(extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), 'wxlogin-dev-'))
  const child = spawn(binary(), ['dev', '--addr', '127.0.0.1:0', '--emulator-addr', '127.0.0.1:0', '--data', data, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const urls = await new Promise((resolve, reject) => {
    const found = {}
    const timer = setTimeout(() => reject(new Error('wxlogin dev did not print its addresses within 60s:\n' + output)), 60_000)
    const onData = (chunk) => {
      output += chunk
      for (const m of output.matchAll(/wxlogin dev: (api|emulator) listening on (http:\/\/\S+)/g)) found[m[1]] = m[2]
      if (found.api && found.emulator) {
        clearTimeout(timer)
        resolve(found)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`wxlogin dev exited (${code}) before listening:\n${output}`))
    })
  })
  child.removeAllListeners('exit')
  // An early exit shows in output(), for the failure message of whatever test hits it.
  child.on('exit', (code, signal) => {
    output += `\n[wxlogin dev exited: ${code ?? signal}]\n`
  })
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(data, { recursive: true, force: true })
  }
  return { api: urls.api, emulator: urls.emulator, stop, output: () => output }
}

/**
 * devServerForFile starts one `wxlogin dev` before the calling test file's
 * tests and stops it after them. The returned object gets startDev's fields
 * (api, emulator, stop, output) once the server is up; setup, when given,
 * runs on it first (e.g. to turn an emulator knob on). extraArgs go to
 * `wxlogin dev` (e.g. ['--wecom']).
 */
export function devServerForFile(setup, extraArgs = []) {
  const dev = {}
  before(async () => {
    Object.assign(dev, await startDev(extraArgs))
    await setup?.(dev)
  })
  after(async () => {
    await dev.stop?.()
  })
  return dev
}

/** countingFetch wraps fetch and counts requests by "METHOD /path". */
export function countingFetch() {
  const counts = new Map()
  const f = async (url, init = {}) => {
    const u = new URL(url)
    const key = `${(init.method ?? 'GET').toUpperCase()} ${u.pathname}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    return fetch(url, init)
  }
  f.count = (key) => counts.get(key) ?? 0
  f.reset = () => counts.clear()
  return f
}

/** json does one HTTP call and returns {status, body, headers}. */
export async function json(url, { method = 'GET', body, token } = {}) {
  const headers = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = 'Bearer ' + token
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let parsed = text
  try {
    parsed = text ? JSON.parse(text) : ''
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers }
}

/** jscode2sessionCalls reads the emulator's count of code2Session calls. */
export async function jscode2sessionCalls(emulator) {
  const r = await json(emulator + '/emulator/v1/stats')
  return r.body?.apis?.jscode2session?.calls ?? 0
}

let seq = 0
/** uniqueUser returns a simulated user name no other test uses. */
export function uniqueUser(prefix) {
  return `${prefix}-${process.pid}-${++seq}`
}
