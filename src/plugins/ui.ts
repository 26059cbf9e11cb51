// Serves the dashboard bundle (npm run build → dist/ui) at /ui, with a strict CSP; a clear 503 page when it was never built.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** Where `npm run build` puts the bundle; the same place relative to src/plugins and dist/plugins. */
export const DEFAULT_UI_ROOT = fileURLToPath(new URL('../../dist/ui/', import.meta.url))

// Everything the page loads comes from this service: no CDN, no inline script or style, no framing.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ')

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body><h1>The dashboard has not been built</h1>
<p>Run <code>npm run build</code> (it bundles <code>ui/</code> into <code>dist/ui</code>), then restart the service.</p></body></html>
`

export interface UiOptions {
  root?: string
}

function securityHeaders (set: (name: string, value: string) => unknown): void {
  set('content-security-policy', CONTENT_SECURITY_POLICY)
  set('x-content-type-options', 'nosniff')
  set('referrer-policy', 'no-referrer')
  set('x-frame-options', 'DENY')
}

export default async function uiPlugin (app: FastifyInstance, options: UiOptions) {
  const root = options.root ?? DEFAULT_UI_ROOT
  if (!existsSync(join(root, 'index.html'))) {
    app.log.warn({ root }, 'dashboard bundle not found: /ui answers 503 until `npm run build` has run')
    const notBuilt = async (_request: unknown, reply: FastifyReply) => {
      securityHeaders((name, value) => reply.header(name, value))
      return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE)
    }
    app.get('/ui', { schema: { hide: true } }, notBuilt)
    app.get('/ui/*', { schema: { hide: true } }, notBuilt)
    return
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/ui',
    redirect: true,
    index: ['index.html'],
    decorateReply: false,
    schemaHide: true,
    cacheControl: false,
    setHeaders (reply, path) {
      securityHeaders((name, value) => reply.header(name, value))
      // index.html names the content-hashed files, so it is revalidated every time and they never change.
      reply.header('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable')
    },
  })
}
