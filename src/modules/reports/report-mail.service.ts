// /send-mail (seeds 000 and 001): a CRM campaign mail, with signed report links written into both bodies.
import { ValidationError } from '../../errors.ts'
import type { Principal } from '../auth/principal-resolver.ts'
import type { MessagesService, SendOutcome } from '../messages/messages.service.ts'
import type { ReportLink, ReportsService } from './reports.service.ts'
import { escapeHtml } from '../templates/template-engine.ts'

export interface SendMailRequest {
  to: string[]
  subject: string
  html: string
  text: string
  from: string
  replyTo?: string
  campaign: { name: string, type: 'financial' | 'newsletter', month?: string, year?: string }
  attachReporting?: boolean
  customIds?: string[]
  month?: string
  year?: string
}

export interface SendMailOutcome extends SendOutcome {
  reportLinks: ReportLink[]
  linksExpireAt: string | null
}

/** The download section, placed before </body> when the html has one, so it renders inside the document. */
export function withDownloadSection (html: string, text: string, links: ReportLink[], period: string): { html: string, text: string } {
  const expires = links[0]?.expiresAt.slice(0, 10) ?? ''
  const items = links.map(link =>
    `<li><a href="${escapeHtml(link.url)}">Report ${escapeHtml(link.customId ?? link.key)} (${escapeHtml(period)})</a></li>`).join('\n')
  const section = `<div class="report-downloads">\n<p><strong>Your reports</strong></p>\n<ul>\n${items}\n</ul>\n` +
    `<p>These secure download links expire on ${expires}.</p>\n</div>`
  const bodyEnd = html.search(/<\/body>/i)
  const withSection = bodyEnd === -1 ? `${html}\n${section}` : `${html.slice(0, bodyEnd)}${section}\n${html.slice(bodyEnd)}`
  const textSection = `Your reports (secure links, valid until ${expires}):\n` +
    links.map(link => `- ${link.customId ?? link.key} (${period}): ${link.url}`).join('\n')
  return { html: withSection, text: `${text}\n\n${textSection}\n` }
}

export function createReportMailService (deps: { outreach: MessagesService, reports: ReportsService }) {
  return {
    /** Links are issued (and validated) before anything is sent: a bad customId or a missing key sends nothing. */
    async sendMail (principal: Principal, request: SendMailRequest): Promise<SendMailOutcome> {
      const month = request.month ?? request.campaign.month
      const year = request.year ?? request.campaign.year
      let { html, text } = request
      let reportLinks: ReportLink[] = []
      let linksExpireAt: string | null = null
      if (request.attachReporting) {
        if (!request.customIds || request.customIds.length === 0) throw new ValidationError('attachReporting needs customIds')
        const issued = await deps.reports.issueLinks(principal.tenantName, { customIds: request.customIds, month, year })
        reportLinks = issued.links
        linksExpireAt = issued.expiresAt
        ;({ html, text } = withDownloadSection(html, text, reportLinks, `${year}-${month?.padStart(2, '0')}`))
      }
      const outcome = await deps.outreach.sendEmail(principal, {
        to: request.to,
        subject: request.subject,
        html,
        text,
        from: request.from,
        ...(request.replyTo ? { replyTo: request.replyTo } : {}),
        tags: [request.campaign.type],
        customVariables: {
          campaign: request.campaign.name,
          campaignType: request.campaign.type,
          ...(month ? { reportMonth: month } : {}),
          ...(year ? { reportYear: year } : {}),
        },
      })
      return { ...outcome, reportLinks, linksExpireAt }
    },
  }
}
export type ReportMailService = ReturnType<typeof createReportMailService>
