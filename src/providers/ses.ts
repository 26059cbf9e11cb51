// Amazon SES through @aws-sdk/client-sesv2; AWS_ENDPOINT_URL points it at LocalStack or a test fake.
import { SESv2Client, SendEmailCommand, type MessageTag } from '@aws-sdk/client-sesv2'
import { awsClientConfig } from '../aws/clients.ts'
import type { Config } from '../config.ts'
import { bareMessageId, EmailProviderError, type EmailProvider, type OutgoingEmail, type SendResult } from './email-provider.ts'
import { TAGS_HEADER, VARIABLES_HEADER } from './smtp.ts'

interface AwsError { name?: unknown, message?: unknown, $metadata?: { httpStatusCode?: unknown } }

// SES message tags allow only these characters; anything else is replaced rather than refused.
const SES_TAG_VALUE = /[^A-Za-z0-9_\-.@]/g

export function createSesProvider (config: Config): EmailProvider {
  const timeout = config.EMAIL_PROVIDER_TIMEOUT_MS
  const client = new SESv2Client({
    ...awsClientConfig({ region: config.AWS_REGION, endpoint: config.AWS_ENDPOINT_URL }),
    // A retried SendEmail after a timeout could deliver twice; an unknown outcome is reported instead.
    maxAttempts: 1,
    // Without throwOnRequestTimeout the SDK only logs a warning and keeps waiting.
    requestHandler: { requestTimeout: timeout, connectionTimeout: timeout, throwOnRequestTimeout: true },
  })

  function translate (err: unknown): EmailProviderError {
    const e = err as AwsError
    const name = typeof e.name === 'string' ? e.name : 'Error'
    const said = typeof e.message === 'string' ? e.message : String(err)
    const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined
    if (name === 'TimeoutError' || name === 'RequestTimeout' || /timed? ?out/i.test(said)) {
      return new EmailProviderError('ses', 'timeout', `SES did not answer within ${timeout} ms; the message may or may not have been sent`)
    }
    if (status === undefined) return new EmailProviderError('ses', 'unavailable', `SES could not be reached (${name}): ${said}`)
    if (status >= 500 || status === 429) return new EmailProviderError('ses', 'unavailable', `SES is unavailable (${status} ${name}): ${said}`, status)
    return new EmailProviderError('ses', 'rejected', `SES rejected the message (${status} ${name}): ${said}`, status)
  }

  return {
    name: 'ses',
    supportsStoredTemplates: false,
    async send (email: OutgoingEmail): Promise<SendResult> {
      const headers = Object.entries(email.headers ?? {}).map(([Name, Value]) => ({ Name, Value }))
      if (Object.keys(email.variables).length > 0) headers.push({ Name: VARIABLES_HEADER, Value: JSON.stringify(email.variables) })
      if (email.tags.length > 0) headers.push({ Name: TAGS_HEADER, Value: email.tags.join(', ') })
      const tags: MessageTag[] = email.tags.map((tag, i) => ({ Name: `tag${i + 1}`, Value: tag.replace(SES_TAG_VALUE, '_') }))
      const command = new SendEmailCommand({
        FromEmailAddress: email.from,
        Destination: { ToAddresses: email.to },
        ...(email.replyTo ? { ReplyToAddresses: [email.replyTo] } : {}),
        Content: {
          Simple: {
            Subject: { Data: email.subject ?? '', Charset: 'UTF-8' },
            Body: {
              ...(email.html !== undefined ? { Html: { Data: email.html, Charset: 'UTF-8' } } : {}),
              ...(email.text !== undefined ? { Text: { Data: email.text, Charset: 'UTF-8' } } : {}),
            },
            ...(headers.length > 0 ? { Headers: headers } : {}),
            ...(email.attachments && email.attachments.length > 0
              ? { Attachments: email.attachments.map(a => ({ FileName: a.filename, ContentType: a.contentType, RawContent: a.content })) }
              : {}),
          },
        },
        ...(tags.length > 0 ? { EmailTags: tags } : {}),
        ...(config.SES_CONFIGURATION_SET ? { ConfigurationSetName: config.SES_CONFIGURATION_SET } : {}),
      })
      let output
      try {
        output = await client.send(command)
      } catch (err) {
        throw translate(err)
      }
      if (!output.MessageId) throw new EmailProviderError('ses', 'rejected', 'SES answered without a MessageId')
      return { id: bareMessageId(output.MessageId), message: 'Accepted by SES' }
    },
    async close () {
      client.destroy()
    },
  }
}
