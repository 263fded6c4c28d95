// Builds the SDK (tsc → dist/) and the playground bundle (esbuild →
// ../../playground/static/app.js). With --check it builds both into a
// temporary folder instead and fails when the committed files differ: the
// committed dist/ and bundle must always be what the sources build to.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const repo = join(pkg, '..', '..')
const check = process.argv.includes('--check')

const out = check ? mkdtempSync(join(tmpdir(), 'wxlogin-sdk-build-')) : null
const distDir = out ? join(out, 'dist') : join(pkg, 'dist')
const bundleFile = out ? join(out, 'app.js') : join(repo, 'playground', 'static', 'app.js')

try {
  if (!out) rmSync(distDir, { recursive: true, force: true })
  const tsc = spawnSync(process.execPath, [join(pkg, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(pkg, 'tsconfig.json'), '--outDir', distDir], {
    stdio: 'inherit',
  })
  if (tsc.status !== 0) throw new Error('tsc failed')

  await esbuild.build({
    entryPoints: [join(repo, 'playground', 'src', 'app.ts')],
    outfile: bundleFile,
    bundle: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: '// Built by sdk/miniprogram (npm run build) from playground/src and the SDK. Do not edit.' },
  })

  if (out) {
    const stale = []
    const compare = (built, committed) => {
      if (!existsSync(committed) || !readFileSync(built).equals(readFileSync(committed))) stale.push(relative(repo, committed))
    }
    const walk = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]))
    const builtFiles = walk(distDir)
    for (const f of builtFiles) compare(f, join(pkg, 'dist', relative(distDir, f)))
    const committedDist = existsSync(join(pkg, 'dist')) ? walk(join(pkg, 'dist')) : []
    for (const f of committedDist) {
      if (!existsSync(join(distDir, relative(join(pkg, 'dist'), f)))) stale.push(relative(repo, f) + ' (no longer built)')
    }
    compare(bundleFile, join(repo, 'playground', 'static', 'app.js'))
    if (stale.length) {
      console.error('stale build output (run `npm run build` in sdk/miniprogram and commit):\n  ' + stale.join('\n  '))
      process.exitCode = 1
    } else {
      console.log('build output is fresh: sdk/miniprogram/dist and playground/static/app.js')
    }
  }
} finally {
  if (out) rmSync(out, { recursive: true, force: true })
}
