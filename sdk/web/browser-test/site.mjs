// The web site of the browser test, as a real deployment has it: one
// origin whose proxy serves the site's own pages and API and sends
// everything else (/v1/, and in dev mode WeChat's pages /connect/ and the
// emulator's /emulator/) to wxlogin. The site's API (/api/) is guarded by
// forward-auth the way Traefik does it: a GET to wxlogin's /v1/auth with
// the browser's Cookie and X-Wxlogin-Csrf headers and the guarded method in
// X-Forwarded-Method; wxlogin's refusal goes back to the browser as it came.
import { createServer, request } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')

/** The page a login returns to: it loads the built SDK as a module and reads the login's result. */
const appPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>site</title><link rel="icon" href="data:,"></head>
<body>
<p id="result"></p>
<script type="module">
  import * as sdk from '/sdk/index.js'
  window.sdk = sdk
  window.sessionInvalidSeen = []
  window.wx = sdk.createWebClient({ onSessionInvalid: (err) => window.sessionInvalidSeen.push(err.code) })
  const r = window.wx.result()
  window.outcome = r.status === 'error' ? { status: r.status, code: r.error.code, name: r.error.name, ...(r.returnTo ? { returnTo: r.returnTo } : {}) } : r
  document.getElementById('result').textContent = JSON.stringify(window.outcome)
  window.ready = true
</script>
</body></html>`

/** A page that uses the script-tag bundle instead of the module. */
const plainPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>plain</title><link rel="icon" href="data:,">
<script src="/sdk/wxlogin-web.js"></script></head>
<body><script>window.wx = wxloginWeb.createWebClient(); window.ready = true</script></body></html>`

/**
 * startSite listens on a free loopback port and resolves to
 * {origin, otherHost, setAPI(url), forwardAuthCalls, close}: origin is
 * the site at 127.0.0.1, otherHost the same server at localhost. Requests that are not the
 * site's own go to the wxlogin named by setAPI (known only later: wxlogin
 * dev must be told the site's pages first).
 */
export async function startSite() {
  let api
  const forwardAuthCalls = []
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0]
    if (path === '/app/' || path === '/app/plain.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(path === '/app/' ? appPage : plainPage)
    } else if (path.startsWith('/sdk/')) {
      const file = normalize(join(dist, path.slice('/sdk/'.length)))
      if (!file.startsWith(dist + '/') || !file.endsWith('.js')) return notFound(res)
      let body
      try {
        body = readFileSync(file)
      } catch {
        return notFound(res)
      }
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(body)
    } else if (path.startsWith('/api/')) {
      guardedAPI(req, res)
    } else {
      proxy(req, res)
    }
  })

  function upstream(method, path, headers, onResponse) {
    const u = new URL(api)
    return request({ host: u.hostname, port: u.port, method, path, headers }, onResponse)
  }

  // proxy passes the request on unchanged, Host included, so that wxlogin
  // builds its callback URL on the site's origin, as behind a real proxy
  // that keeps the Host header (or with public_url set).
  function proxy(req, res) {
    const up = upstream(req.method, req.url, req.headers, (r) => {
      res.writeHead(r.statusCode, r.rawHeaders)
      r.pipe(res)
    })
    up.on('error', (err) => {
      res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end('proxy: ' + err.message)
    })
    req.pipe(up)
  }

  function guardedAPI(req, res) {
    const headers = { host: req.headers.host, 'x-forwarded-method': req.method, 'x-forwarded-uri': req.url }
    for (const h of ['cookie', 'x-wxlogin-csrf', 'user-agent']) if (req.headers[h] !== undefined) headers[h] = req.headers[h]
    const check = upstream('GET', '/v1/auth', headers, (r) => {
      const chunks = []
      r.on('data', (c) => chunks.push(c))
      r.on('end', () => {
        forwardAuthCalls.push({ method: req.method, status: r.statusCode, csrf: req.headers['x-wxlogin-csrf'] !== undefined })
        req.resume()
        if (r.statusCode !== 200) {
          res.writeHead(r.statusCode, { 'Content-Type': r.headers['content-type'] ?? 'text/plain' })
          return res.end(Buffer.concat(chunks))
        }
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(
          JSON.stringify({
            method: req.method,
            path: req.url,
            user_id: r.headers['x-wxlogin-user-id'],
            openid: r.headers['x-wxlogin-openid'],
            appid: r.headers['x-wxlogin-appid'],
          }),
        )
      })
    })
    check.on('error', (err) => {
      res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end('forward-auth: ' + err.message)
    })
    check.end()
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    otherHost: `http://localhost:${server.address().port}`,
    setAPI: (url) => (api = url),
    forwardAuthCalls,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve)
        server.closeAllConnections()
      }),
  }
}

function notFound(res) {
  res.writeHead(404, { 'Content-Type': 'text/plain' })
  res.end('not found')
}
