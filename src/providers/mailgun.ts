// Mailgun through mailgun.js: base URL from MAILGUN_URL, so tests and benchmarks can point it at a fake.
import FormData from 'form-data'
import Mailgun from 'mailgun.js'
import type { Config } from '../config.ts'
import { bareMessageId, EmailProviderError, type EmailProvider, type OutgoingEmail, type SendResult } from './email-provider.ts'

interface MailgunApiError { status?: unknown, message?: unknown, details?: unknown, type?: unknown }

// mailgun.js reports a transport failure as status 400 with the error code (ECONNREFUSED, ECONNABORTED…) as message.
const TRANSPORT_CODE = /^(E[A-Z]+|ERR_[A-Z_]+)$/

export function createMailgunProvider (config: Config): EmailProvider {
  const domain = config.MAILGUN_DOMAIN
  const key = config.MAILGUN_API_KEY
  if (!domain || !key) throw new Error('MAILGUN_DOMAIN and MAILGUN_API_KEY are required for the mailgun provider')
  const client = new Mailgun(FormData).client({
    username: 'api',
    key,
    url: config.MAILGUN_URL,
    timeout: config.EMAIL_PROVIDER_TIMEOUT_MS,
  })

  function toMailgunFields (email: OutgoingEmail) {
    const fields: Record<string, unknown> = { from: email.from, to: email.to }
    if (email.subject !== undefined) fields.subject = email.subject
    if (email.html !== undefined) fields.html = email.html
    if (email.text !== undefined) fields.text = email.text
    if (email.replyTo) fields['h:Reply-To'] = email.replyTo
    if (email.tags.length > 0) fields['o:tag'] = email.tags
    for (const [name, value] of Object.entries(email.variables)) fields[`v:${name}`] = value
    if (email.tracking) {
      const { opens, clicks, unsubscribes } = email.tracking
      if (opens !== undefined) fields['o:tracking-opens'] = opens ? 'yes' : 'no'
      if (clicks !== undefined) fields['o:tracking-clicks'] = clicks ? 'yes' : 'no'
      if (unsubscribes) {
        // Mailgun fills %unsubscribe_url% per recipient; RFC 8058 one-click needs the Post header beside it.
        fields['h:List-Unsubscribe'] = '<%unsubscribe_url%>'
        fields['h:List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click'
      }
    }
    for (const [name, value] of Object.entries(email.headers ?? {})) fields[`h:${name}`] = value
    // Batch sending: Mailgun fills %recipient.<name>% from this per address and sends each address its own copy.
    if (email.recipientVariables) fields['recipient-variables'] = JSON.stringify(email.recipientVariables)
    if (email.attachments && email.attachments.length > 0) {
      fields.attachment = email.attachments.map(a => ({ data: a.content, filename: a.filename, contentType: a.contentType, knownLength: a.content.length }))
    }
    if (email.storedTemplate) {
      fields.template = email.storedTemplate.name
      fields['t:variables'] = JSON.stringify(email.storedTemplate.variables)
      if (email.text === undefined) fields['t:text'] = 'yes'
    }
    return fields
  }

  function translate (err: unknown, email: OutgoingEmail): EmailProviderError {
    const e = err as MailgunApiError
    const status = typeof e.status === 'number' ? e.status : undefined
    const message = typeof e.message === 'string' ? e.message : ''
    const details = typeof e.details === 'string' ? e.details : ''
    if (e.type !== 'MailgunAPIError' || status === undefined) {
      return new EmailProviderError('mailgun', 'unavailable', `Mailgun request failed: ${(err as Error).message}`)
    }
    if (TRANSPORT_CODE.test(message)) {
      if (message === 'ECONNABORTED' || message === 'ETIMEDOUT' || /timeout/i.test(details)) {
        return new EmailProviderError('mailgun', 'timeout', `Mailgun did not answer within ${config.EMAIL_PROVIDER_TIMEOUT_MS} ms; the message may or may not have been sent`)
      }
      return new EmailProviderError('mailgun', 'unavailable', `Mailgun could not be reached (${message})`)
    }
    const said = details || message || `HTTP ${status}`
    if (status >= 500 || status === 429) return new EmailProviderError('mailgun', 'unavailable', `Mailgun is unavailable (${status}): ${said}`, status)
    if (email.storedTemplate && (status === 400 || status === 404) && /template/i.test(said)) {
      return new EmailProviderError('mailgun', 'template', `Mailgun template "${email.storedTemplate.name}" could not be used: ${said}`, status)
    }
    return new EmailProviderError('mailgun', 'rejected', `Mailgun rejected the message (${status}): ${said}`, status)
  }

  return {
    name: 'mailgun',
    supportsStoredTemplates: true,
    async send (email: OutgoingEmail): Promise<SendResult> {
      let result
      try {
        result = await client.messages.create(domain, toMailgunFields(email) as unknown as Parameters<typeof client.messages.create>[1])
      } catch (err) {
        throw translate(err, email)
      }
      if (!result.id) throw new EmailProviderError('mailgun', 'rejected', `Mailgun answered ${result.status} without a message id`, result.status)
      return { id: bareMessageId(result.id), message: result.message ?? 'Queued. Thank you.' }
    },
    async close () {},
  }
}
