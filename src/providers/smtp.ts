// SMTP through a pooled nodemailer transport (SMTP_SERVER, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD).
import { isIP } from 'node:net'
import nodemailer, { type Transporter } from 'nodemailer'
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js'
import type { Config } from '../config.ts'
import { ForbiddenAddressError } from '../net/address-guard.ts'
import { bareMessageId, EmailProviderError, type EmailProvider, type OutgoingEmail, type SendResult } from './email-provider.ts'

interface SmtpError { code?: unknown, responseCode?: unknown, response?: unknown, message?: unknown }

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT'])

/** Custom variables travel in one header, as JSON, where no provider field exists for them. */
export const VARIABLES_HEADER = 'X-Outreach-Variables'
export const TAGS_HEADER = 'X-Outreach-Tags'

export interface SmtpRelay {
  host: string
  port: number
  secure: boolean
  username?: string | undefined
  password?: string | undefined
}

export function createSmtpProvider (config: Config): EmailProvider {
  if (!config.SMTP_SERVER) throw new Error('SMTP_SERVER is required for the smtp provider')
  return createSmtpRelayProvider({
    host: config.SMTP_SERVER,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    username: config.SMTP_USERNAME,
    password: config.SMTP_PASSWORD,
  }, { timeoutMs: config.EMAIL_PROVIDER_TIMEOUT_MS, poolSize: config.SMTP_POOL_SIZE, allowInsecureAuth: config.SMTP_ALLOW_INSECURE_AUTH })
}

export interface SmtpRelayOptions {
  timeoutMs: number
  poolSize: number
  /**
   * Resolves and vets the relay's host before the first connection; the transport then dials the address it
   * returned (certificates are still checked against the host name). Relays named by a request go through it.
   */
  pinHost?: (host: string) => Promise<string>
  /** SMTP_ALLOW_INSECURE_AUTH: credentials may cross a connection without TLS to a relay off loopback. */
  allowInsecureAuth: boolean
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost names: traffic that never leaves the machine. */
export function isLoopbackHost (host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true
  if (isIP(bare) === 4) return bare.startsWith('127.')
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare) || /^(0{1,4}:){7}0{0,3}1$/.test(bare)
  return false
}

/**
 * Whether the transport must upgrade with STARTTLS before it may log in (nodemailer `requireTLS`): whenever
 * credentials would otherwise cross the network in clear. Without it nodemailer sends AUTH PLAIN unencrypted to a
 * relay that offers no STARTTLS. `address` is what is dialled (the pinned address, or the host name itself).
 */
export function mustRequireTls (relay: Pick<SmtpRelay, 'secure' | 'username' | 'password'>, address: string, allowInsecureAuth: boolean): boolean {
  const hasCredentials = Boolean(relay.username && relay.password)
  return hasCredentials && !relay.secure && !allowInsecureAuth && !isLoopbackHost(address)
}

/** A pooled provider for one relay: the configured one, or a campaign's own (seed 003). */
export function createSmtpRelayProvider (relay: SmtpRelay, options: SmtpRelayOptions): EmailProvider {
  const timeout = options.timeoutMs
  let transport: Promise<Transporter<SMTPPool.SentMessageInfo>> | undefined

  async function connect (): Promise<Transporter<SMTPPool.SentMessageInfo>> {
    const address = options.pinHost ? await options.pinHost(relay.host) : relay.host
    return nodemailer.createTransport({
      pool: true,
      maxConnections: options.poolSize,
      host: address,
      port: relay.port,
      secure: relay.secure,
      ...(address !== relay.host ? { tls: { servername: relay.host } } : {}),
      ...(relay.username && relay.password ? { auth: { user: relay.username, pass: relay.password } } : {}),
      ...(mustRequireTls(relay, address, options.allowInsecureAuth) ? { requireTLS: true } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    })
  }

  function transporter (): Promise<Transporter<SMTPPool.SentMessageInfo>> {
    // A failed lookup is not remembered: the next message tries again.
    transport ??= connect().catch((err: unknown) => {
      transport = undefined
      throw err
    })
    return transport
  }

  function translate (err: unknown): EmailProviderError {
    if (err instanceof ForbiddenAddressError) return new EmailProviderError('smtp', 'rejected', `SMTP relay refused: ${err.message}`)
    const e = err as SmtpError
    const code = typeof e.code === 'string' ? e.code : ''
    const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined
    const said = typeof e.response === 'string' ? e.response : typeof e.message === 'string' ? e.message : String(err)
    if (TIMEOUT_CODES.has(code) || /timeout/i.test(said)) {
      return new EmailProviderError('smtp', 'timeout', `SMTP server did not answer within ${timeout} ms; the message may or may not have been sent`)
    }
    // requireTLS and a relay without (working) STARTTLS: nothing was sent, credentials included.
    if (code === 'ETLS') {
      return new EmailProviderError('smtp', 'unavailable', `SMTP relay ${relay.host} offers no usable STARTTLS, so the credentials were not sent (loopback relays and SMTP_ALLOW_INSECURE_AUTH=true are exempt): ${said}`, responseCode)
    }
    // Our credentials, not the message: an operator has to fix SMTP_USERNAME/SMTP_PASSWORD.
    if (code === 'EAUTH') return new EmailProviderError('smtp', 'unavailable', `SMTP server refused the credentials: ${said}`, responseCode)
    // SMTP 5xx is a permanent refusal; 4xx asks to try again later.
    if (responseCode !== undefined && responseCode >= 500) return new EmailProviderError('smtp', 'rejected', `SMTP server rejected the message (${responseCode}): ${said}`, responseCode)
    if (responseCode !== undefined) return new EmailProviderError('smtp', 'unavailable', `SMTP server deferred the message (${responseCode}): ${said}`, responseCode)
    return new EmailProviderError('smtp', 'unavailable', `SMTP server could not be used (${code || 'error'}): ${said}`)
  }

  return {
    name: 'smtp',
    supportsStoredTemplates: false,
    async send (email: OutgoingEmail): Promise<SendResult> {
      const headers: Record<string, string> = { ...email.headers }
      if (Object.keys(email.variables).length > 0) headers[VARIABLES_HEADER] = JSON.stringify(email.variables)
      if (email.tags.length > 0) headers[TAGS_HEADER] = email.tags.join(', ')
      try {
        const info = await (await transporter()).sendMail({
          from: email.from,
          to: email.to,
          ...(email.replyTo ? { replyTo: email.replyTo } : {}),
          subject: email.subject ?? '',
          ...(email.html !== undefined ? { html: email.html } : {}),
          ...(email.text !== undefined ? { text: email.text } : {}),
          headers,
          ...(email.attachments && email.attachments.length > 0
            ? { attachments: email.attachments.map(a => ({ filename: a.filename, contentType: a.contentType, content: a.content })) }
            : {}),
        })
        if (info.rejected.length > 0 && info.accepted.length === 0) {
          throw Object.assign(new Error(`every recipient was refused: ${info.rejected.join(', ')}`), { responseCode: 550 })
        }
        return { id: bareMessageId(info.messageId), message: info.response }
      } catch (err) {
        throw translate(err)
      }
    },
    async close () {
      const open = transport
      transport = undefined
      await open?.then(t => t.close(), () => {})
    },
  }
}
