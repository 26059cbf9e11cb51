// The default provider: records what would have been sent (log line and an in-memory list), no network.
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { EmailProvider, OutgoingEmail, SendResult } from './email-provider.ts'

/** How many recent messages the log provider keeps for inspection. */
const KEEP = 1000

export interface LogProvider extends EmailProvider {
  /** The most recent messages, oldest first, each with the id it was given. */
  readonly recorded: ReadonlyArray<{ id: string, email: OutgoingEmail }>
}

export function createLogProvider (logger: Logger): LogProvider {
  const recorded: Array<{ id: string, email: OutgoingEmail }> = []
  return {
    name: 'log',
    supportsStoredTemplates: false,
    recorded,
    async send (email: OutgoingEmail): Promise<SendResult> {
      const id = `${new Date().toISOString().slice(0, 10).replaceAll('-', '')}.${randomBytes(8).toString('hex')}@log.outreach`
      recorded.push({ id, email })
      if (recorded.length > KEEP) recorded.shift()
      // Bodies stay out of the log: they may hold personal data; the message row in Postgres has the rest.
      logger.info({
        provider: 'log',
        messageId: id,
        from: email.from,
        to: email.to,
        subject: email.subject,
        tags: email.tags,
        ...(email.headers ? { headers: Object.keys(email.headers) } : {}),
        ...(email.attachments ? { attachments: email.attachments.map(a => ({ filename: a.filename, bytes: a.content.length })) } : {}),
      }, 'email recorded by the log provider, not sent')
      return { id, message: 'Recorded by the log provider; not sent (EMAIL_PROVIDER=log)' }
    },
    async close () {},
  }
}
