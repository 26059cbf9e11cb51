// Builds the provider EMAIL_PROVIDER names; each one is loaded only when chosen.
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { EmailProvider } from './email-provider.ts'

export async function createEmailProvider (config: Config, logger: Logger): Promise<EmailProvider> {
  switch (config.EMAIL_PROVIDER) {
    case 'mailgun': {
      const { createMailgunProvider } = await import('./mailgun.ts')
      return createMailgunProvider(config)
    }
    case 'smtp': {
      const { createSmtpProvider } = await import('./smtp.ts')
      return createSmtpProvider(config)
    }
    case 'ses': {
      const { createSesProvider } = await import('./ses.ts')
      return createSesProvider(config)
    }
    case 'log': {
      const { createLogProvider } = await import('./log.ts')
      return createLogProvider(logger)
    }
  }
}
