// Links inside campaign mail, reached by readers without credentials: open pixel, click redirect, one-click unsubscribe.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../schemas.ts'
import { escapeHtml } from '../modules/templates/template-engine.ts'

const tags = ['tracking']

/** The classic 43-byte transparent 1×1 GIF. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64')

const TokenParamsSchema = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 8192, description: 'Signed token from the email' }),
})

const HtmlPageSchema = Type.String({ description: 'A small HTML page for the reader' })

// The pages are ours alone: no scripts, no framing (a framed confirm button could be clicked by trickery).
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

function page (title: string, body: string): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#111}` +
    'button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style></head>' +
    `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}

function userAgentOf (request: FastifyRequest): string | undefined {
  return request.headers['user-agent']
}

export default async function trackingRoutes (fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { tracking } = app.deps

  // RFC 8058 lets a mail client POST the one-click body as multipart/form-data or urlencoded, and the token alone
  // decides what happens: any small body is accepted and ignored, whatever its type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_request, _body, done) => { done(null, undefined) })

  app.get('/t/o/:token.gif', {
    onRequest: app.limits.tracking,
    schema: {
      tags,
      summary: 'Open-tracking pixel',
      description: 'Always the 43-byte transparent GIF, never cached. A valid token records an open (hits on the same ' +
        'pixel within 10 seconds count once); any other token records nothing.',
      security: [],
      params: TokenParamsSchema,
      response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'image/gif, 43 bytes' }), ...errorResponses(429) },
    },
  }, async (request, reply) => {
    await tracking.recordOpen(request.params.token, { userAgent: userAgentOf(request) })
    return reply.headers({
      'content-type': 'image/gif',
      'cache-control': 'no-store, no-cache, must-revalidate, max-age=0',
      pragma: 'no-cache',
      expires: '0',
      'referrer-policy': 'no-referrer',
    }).send(TRANSPARENT_GIF)
  })

  app.get('/t/c/:token', {
    onRequest: app.limits.tracking,
    schema: {
      tags,
      summary: 'Click redirect',
      description: '302 to the URL the email linked to, after recording the click. The URL is inside the signed token, ' +
        'so an altered token or URL is 404 and nothing else is ever redirected to.',
      security: [],
      params: TokenParamsSchema,
      response: { 302: Type.Unsafe<string>({ type: 'string', description: 'Empty; Location is the linked URL' }), ...errorResponses(404, 429) },
    },
  }, async (request, reply) => {
    const url = await tracking.click(request.params.token, { userAgent: userAgentOf(request) })
    // no-referrer: the target site must not learn the token (it names the reader).
    return reply.headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).redirect(url, 302)
  })

  app.get('/u/:token', {
    onRequest: app.limits.tracking,
    schema: {
      tags,
      summary: 'Unsubscribe confirmation page',
      description: 'An HTML page with a button that POSTs to the same URL. Opening it unsubscribes nothing: mail ' +
        'scanners fetch links before the reader does.',
      security: [],
      params: TokenParamsSchema,
      response: { 200: HtmlPageSchema, ...errorResponses(404, 429) },
    },
  }, async (request, reply) => {
    const recipient = await tracking.unsubscribeSubject(request.params.token)
    return reply.headers(PAGE_HEADERS).send(page('Unsubscribe',
      `<p>Stop sending emails to ${escapeHtml(recipient.email)}?</p>` +
      '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>'))
  })

  app.post('/u/:token', {
    onRequest: app.limits.tracking,
    schema: {
      tags,
      summary: 'One-click unsubscribe (RFC 8058)',
      description: 'What mail clients POST for the List-Unsubscribe-Post header (body List-Unsubscribe=One-Click, ' +
        'urlencoded or multipart), and what the confirmation page\'s button posts. Suppresses the address for the ' +
        'tenant, marks its contact unsubscribed, counts one unsubscribe per recipient and notifies email.unsubscribed ' +
        'webhooks. Repeating it is harmless.',
      security: [],
      params: TokenParamsSchema,
      response: { 200: HtmlPageSchema, ...errorResponses(404, 413, 429) },
    },
  }, async (request, reply) => {
    const recipient = await tracking.unsubscribe(request.params.token, { userAgent: userAgentOf(request) })
    return reply.headers(PAGE_HEADERS).send(page('You are unsubscribed',
      `<p>${escapeHtml(recipient.email)} will receive no more of these emails.</p>`))
  })
}
