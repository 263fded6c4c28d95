// Builds the SDK: tsc → dist/ (ES modules and their type declarations, for
// bundlers and <script type="module">) and esbuild → dist/wxlogin-web.js
// (one file for a plain <script> tag, the API as the global wxloginWeb).
// With --check it builds into a temporary folder instead and fails when the
// committed dist/ differs: the committed files must always be what the
// sources build to, since pages load them as they are.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const check = process.argv.includes('--check')
const committed = join(pkg, 'dist')
const tmp = check ? mkdtempSync(join(tmpdir(), 'wxlogin-web-build-')) : null
const out = tmp ?? committed

try {
  if (!tmp) rmSync(out, { recursive: true, force: true })
  const tsc = spawnSync(process.execPath, [join(pkg, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(pkg, 'tsconfig.json'), '--outDir', out], {
    stdio: 'inherit',
  })
  if (tsc.status !== 0) throw new Error('tsc failed')

  await esbuild.build({
    // Paths in the bundle's comments are relative to this: the same from any folder.
    absWorkingDir: pkg,
    entryPoints: [join(pkg, 'src', 'index.ts')],
    outfile: join(out, 'wxlogin-web.js'),
    bundle: true,
    format: 'iife',
    globalName: 'wxloginWeb',
    target: 'es2017',
    platform: 'browser',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: '// @wxlogin/web, built by sdk/web (npm run build) from src/. Do not edit. The API is the global wxloginWeb.' },
  })

  if (tmp) {
    const files = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => !f.endsWith('/')) : [])
    const built = new Set(files(tmp))
    const stale = []
    for (const f of built) {
      const c = join(committed, f)
      if (!existsSync(c) || !readFileSync(join(tmp, f)).equals(readFileSync(c))) stale.push(relative(pkg, c))
    }
    for (const f of files(committed)) if (!built.has(f)) stale.push(relative(pkg, join(committed, f)) + ' (no longer built)')
    if (stale.length) {
      console.error('stale build output (run `npm run build` in sdk/web and commit):\n  ' + stale.join('\n  '))
      process.exitCode = 1
    } else {
      console.log('build output is fresh: sdk/web/dist')
    }
  }
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true })
}
