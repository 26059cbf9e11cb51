// The EmailProvider interface every provider implements and the failure kinds they report.
import type { Config } from '../config.ts'

export type ProviderName = Config['EMAIL_PROVIDER']

export interface TrackingSettings {
  opens?: boolean
  clicks?: boolean
  unsubscribes?: boolean
}

/** One message as the service hands it to a provider: already validated and rendered. */
export interface OutgoingEmail {
  from: string
  to: string[]
  replyTo?: string
  subject?: string
  html?: string
  text?: string
  tags: string[]
  /** Custom variables: Mailgun `v:` fields, X-Outreach-Variables header elsewhere. */
  variables: Record<string, string>
  tracking?: TrackingSettings
  /** A template stored at the provider (Mailgun); only when supportsStoredTemplates. */
  storedTemplate?: { name: string, variables: Record<string, unknown> }
  /**
   * Mailgun batch sending: per-recipient values for `%recipient.<name>%` placeholders, keyed by address.
   * With it, every address in `to` gets a message of its own. Only the mailgun provider accepts it.
   */
  recipientVariables?: Record<string, Record<string, string>>
  /** Extra MIME headers (List-Unsubscribe, …). */
  headers?: Record<string, string>
  attachments?: EmailAttachment[]
}

export interface EmailAttachment {
  filename: string
  contentType: string
  content: Buffer
}

export interface SendResult {
  /** The provider's message id, without angle brackets (as it appears in webhook events). */
  id: string
  /** The provider's own words, e.g. Mailgun's "Queued. Thank you." */
  message: string
}

export interface EmailProvider {
  readonly name: ProviderName
  /** Mailgun renders its own stored templates; the others get templates rendered here. */
  readonly supportsStoredTemplates: boolean
  send (email: OutgoingEmail): Promise<SendResult>
  close (): Promise<void>
}

/**
 * rejected: the provider answered and refused (4xx, SMTP 5xx) — retrying the same message will not help.
 * unavailable: it could not be reached or failed on its side (5xx, refused connection, SMTP 4xx).
 * timeout: no answer in time after the request left — the message may have been sent.
 * template: the provider does not know the named stored template.
 */
export type ProviderFailure = 'rejected' | 'unavailable' | 'timeout' | 'template'

export class EmailProviderError extends Error {
  override name = 'EmailProviderError'
  readonly provider: ProviderName
  readonly failure: ProviderFailure
  readonly status: number | undefined

  constructor (provider: ProviderName, failure: ProviderFailure, message: string, status?: number) {
    super(message)
    this.provider = provider
    this.failure = failure
    this.status = status
  }
}

/** Any error a send threw, as an EmailProviderError: one the provider did not classify counts as 'unavailable'. */
export function toProviderError (err: unknown, provider: ProviderName): EmailProviderError {
  return err instanceof EmailProviderError ? err : new EmailProviderError(provider, 'unavailable', (err as Error).message)
}

/** Strips the angle brackets Mailgun and SMTP servers put around message ids. */
export function bareMessageId (id: string): string {
  return id.trim().replace(/^<(.*)>$/, '$1')
}
