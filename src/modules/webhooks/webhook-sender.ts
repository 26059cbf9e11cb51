// One HTTP POST of a signed webhook: SSRF-guarded at connect time, a deadline for the whole exchange, no redirects.
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { VERSION } from '../../version.ts'
import { ForbiddenAddressError, forbiddenAddressReason, guardedLookup, systemResolver, type Resolver } from '../../net/address-guard.ts'

export interface WebhookSenderOptions {
  allowPrivateUrls: boolean
  timeoutMs: number
  /** Resolves host names before connecting; the guard checks what it returns. */
  resolver?: Resolver
}

export interface SendResult {
  /** Any 2xx. Redirects are answers like any other: not followed, not a success. */
  ok: boolean
  /** The receiver's status code, when it answered. */
  statusCode: number | null
  /** Why the attempt failed, for the delivery log; null on success. */
  error: string | null
  durationMs: number
}

/** How much of a refused answer's body is kept in the delivery log. */
const ERROR_BODY_CHARS = 200
const USER_AGENT = `outreach-webhooks/${VERSION}`

export function createWebhookSender (options: WebhookSenderOptions) {
  const lookup = options.allowPrivateUrls ? undefined : guardedLookup(options.resolver ?? systemResolver)
  // Keep-alive reuses sockets per host:port; each socket was dialled to an address the guard accepted.
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  }

  async function send (url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now()
    const finish = (ok: boolean, statusCode: number | null, error: string | null): SendResult =>
      ({ ok, statusCode, error, durationMs: Math.round(performance.now() - started) })

    let target: URL
    try {
      target = new URL(url)
    } catch {
      return finish(false, null, 'invalid URL')
    }
    const agent = target.protocol === 'https:' ? agents['https:'] : target.protocol === 'http:' ? agents['http:'] : null
    if (!agent) return finish(false, null, `unsupported scheme ${target.protocol}`)
    if (target.protocol === 'http:' && !options.allowPrivateUrls) return finish(false, null, 'plain http is not allowed')
    const hostname = target.hostname.replace(/^\[|\]$/g, '')
    // net.connect skips `lookup` for IP literals, so a literal is judged here before any socket exists.
    if (!options.allowPrivateUrls && isIP(hostname) !== 0) {
      const reason = forbiddenAddressReason(hostname)
      if (reason) return finish(false, null, `refused: ${reason}`)
    }

    const payload = Buffer.from(body, 'utf8')
    return await new Promise<SendResult>((resolve) => {
      let settled = false
      let answeredStatus: number | null = null
      const settle = (result: SendResult) => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        resolve(result)
      }
      let request: http.ClientRequest
      try {
        request = (target.protocol === 'https:' ? https : http).request({
          agent,
          protocol: target.protocol,
          hostname,
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(payload.length),
            'user-agent': USER_AGENT,
          },
          ...(lookup ? { lookup } : {}),
        }, (response) => {
          const statusCode = response.statusCode ?? 0
          answeredStatus = statusCode
          const ok = statusCode >= 200 && statusCode < 300
          let kept = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => { if (!ok && kept.length < ERROR_BODY_CHARS) kept += chunk })
          response.on('error', (err) => settle(finish(false, statusCode, `response failed: ${err.message}`)))
          // The body is read to the end so the socket can serve the next delivery.
          response.on('end', () => {
            if (ok) return settle(finish(true, statusCode, null))
            const snippet = kept.slice(0, ERROR_BODY_CHARS).replace(/\s+/g, ' ').trim()
            settle(finish(false, statusCode, `HTTP ${statusCode}${snippet ? `: ${snippet}` : ''}`))
          })
        })
      } catch (err) {
        // http.request throws at once on options it cannot send (a header or path Node refuses).
        resolve(finish(false, null, `invalid request: ${(err as Error).message}`))
        return
      }
      // One deadline for connecting, the answer and its body: a receiver that trickles bytes cannot hold a worker.
      const deadline = setTimeout(() => {
        settle(finish(false, answeredStatus, `timeout: no complete answer within ${options.timeoutMs} ms`))
        request.destroy()
      }, options.timeoutMs)
      request.on('error', (err: NodeJS.ErrnoException) => {
        const reason = err instanceof ForbiddenAddressError
          ? `refused: ${err.message}`
          : `${err.code ? `${err.code}: ` : ''}${err.message}`
        settle(finish(false, null, reason))
      })
      request.end(payload)
    })
  }

  return {
    send,
    close () {
      agents['http:'].destroy()
      agents['https:'].destroy()
    },
  }
}
export type WebhookSender = ReturnType<typeof createWebhookSender>
