// A stand-in for the browser globals the SDK reads (location, history,
// document.cookie, sessionStorage, performance's navigation entry), so that
// the built SDK's logic can be tested under node --test. The Chromium test
// (browser-test/) runs the same code against a real browser and server.

const names = ['location', 'history', 'document', 'sessionStorage', 'performance', 'navigator']

/**
 * fakePage installs the globals of a page at href and returns it:
 * page.assigned lists location.assign calls, page.url is the address bar,
 * page.cookie the cookie string, page.storage the sessionStorage map,
 * page.navigation the navigation type. page.restore() puts Node's back.
 */
export function fakePage(href, { cookie = '', navigation = 'navigate', userAgent = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36' } = {}) {
  const saved = names.map((n) => [n, Object.getOwnPropertyDescriptor(globalThis, n)])
  const page = {
    url: new URL(href),
    assigned: [],
    cookie,
    cookieWrites: [],
    storage: new Map(),
    navigation,
    historyState: { marker: 1 },
    restore() {
      for (const [n, d] of saved) {
        if (d) Object.defineProperty(globalThis, n, d)
        else delete globalThis[n]
      }
    },
  }
  const location = {
    get href() {
      return page.url.href
    },
    get origin() {
      return page.url.origin
    },
    get pathname() {
      return page.url.pathname
    },
    get search() {
      return page.url.search
    },
    get hash() {
      return page.url.hash
    },
    assign(u) {
      page.assigned.push(String(u))
    },
  }
  const history = {
    get state() {
      return page.historyState
    },
    replaceState(state, _title, u) {
      page.historyState = state
      page.url = new URL(u, page.url)
    },
  }
  const document = {
    get cookie() {
      return page.cookie
    },
    // Just enough of the cookie jar for the SDK: a Max-Age=0 write
    // removes that cookie; any other write is recorded and set.
    set cookie(v) {
      page.cookieWrites.push(v)
      const [pair, ...attrs] = v.split(';')
      const name = pair.split('=')[0].trim()
      const kept = page.cookie.split(';').map((c) => c.trim()).filter((c) => c && !c.startsWith(name + '='))
      if (!attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) kept.push(pair.trim())
      page.cookie = kept.join('; ')
    },
  }
  const sessionStorage = {
    getItem: (k) => (page.storage.has(k) ? page.storage.get(k) : null),
    setItem: (k, v) => page.storage.set(k, String(v)),
    removeItem: (k) => page.storage.delete(k),
  }
  const performance = {
    getEntriesByType: (t) => (t === 'navigation' ? [{ type: page.navigation }] : []),
  }
  const values = { location, history, document, sessionStorage, performance, navigator: { userAgent } }
  for (const n of names) Object.defineProperty(globalThis, n, { value: values[n], configurable: true, writable: true })
  return page
}

/**
 * recordingFetch answers every request with answer(url, init) and records
 * the calls (url, method, headers as a plain object, credentials).
 */
export function recordingFetch(answer) {
  const calls = []
  const f = async (input, init = {}) => {
    const headers = {}
    new Headers(init.headers).forEach((v, k) => (headers[k] = v))
    calls.push({ url: String(input), method: init.method ?? 'GET', headers, credentials: init.credentials })
    return answer(String(input), init)
  }
  f.calls = calls
  return f
}

/** jsonAnswer is a Response with a JSON body. */
export function jsonAnswer(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}
