// How /ui is served: redirect, headers (CSP, caching), a clear 503 when the bundle was never built, nothing in the API docs.
import t from 'tap'
import { build } from '../helpers/build.ts'
import { builtUi } from '../helpers/browser.ts'

t.test('an unbuilt dashboard answers a clear 503 page, not a crash', async (t) => {
  const app = await build(t, { uiRoot: '/nonexistent/outreach-ui' })
  for (const url of ['/ui', '/ui/', '/ui/app.js']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 503, url)
    t.match(res.headers['content-type'], /text\/html/)
    t.match(res.body, /npm run build/)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the rest of the service is unaffected')
})

t.test('a built dashboard', async (t) => {
  const app = await build(t, { uiRoot: await builtUi() })

  const bare = await app.inject({ method: 'GET', url: '/ui' })
  t.ok([301, 302].includes(bare.statusCode), 'redirect')
  t.equal(bare.headers.location, '/ui/')

  const index = await app.inject({ method: 'GET', url: '/ui/' })
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /text\/html/)
  t.equal(index.headers['cache-control'], 'no-cache', 'index.html is revalidated: it names the current bundle')
  const csp = String(index.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'self'/)
  t.match(csp, /connect-src 'self'/)
  t.match(csp, /frame-ancestors 'none'/)
  t.equal(index.headers['x-content-type-options'], 'nosniff')
  t.notMatch(index.body, /https?:\/\//, 'index.html names no outside URL')

  const script = /src="\.\/(app-[A-Z0-9]+\.js)"/.exec(index.body)?.[1]
  const styles = /href="\.\/(styles-[A-Z0-9]+\.css)"/.exec(index.body)?.[1]
  t.ok(script && styles, 'index.html names the hashed bundle')
  const js = await app.inject({ method: 'GET', url: `/ui/${script}` })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /javascript/)
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.ok(js.body.length < 100_000, `the script is small (${js.body.length} bytes)`)
  // The SVG namespace and a form's placeholder text are the only absolute URLs the script holds: it calls none.
  t.same([...new Set(js.body.match(/https?:\/\/[^\s"'`]+/g))].sort(), ['http://www.w3.org/2000/svg', 'https://your-app.example/webhooks'])
  t.equal((await app.inject({ method: 'GET', url: `/ui/${styles}` })).statusCode, 200)

  const missing = await app.inject({ method: 'GET', url: '/ui/nope.js' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'NOT_FOUND')

  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> }
  t.same(Object.keys(spec.paths).filter(path => path.startsWith('/ui')), [], '/ui is not in the API document')
})

t.test('a worker process serves no dashboard', async (t) => {
  const app = await build(t, { uiRoot: await builtUi(), opsOnly: true })
  t.equal((await app.inject({ method: 'GET', url: '/ui/' })).statusCode, 404)
})
