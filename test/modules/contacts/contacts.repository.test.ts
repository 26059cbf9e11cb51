// What the campaign engine uses: subscribed contacts streamed in batches, send history, statuses.
import t from 'tap'
import { createContactsRepository } from '../../../src/modules/contacts/contacts.repository.ts'
import { templateDataOf } from '../../../src/modules/contacts/contacts.service.ts'
import { renderTemplate } from '../../../src/modules/templates/template-engine.ts'
import { createTenantsRepository } from '../../../src/modules/tenants/tenants.repository.ts'
import { buildDependencies, uniqueName } from '../../helpers/build.ts'

t.test('contacts repository', async (t) => {
  const deps = await buildDependencies(t)
  const tenants = createTenantsRepository(deps.pool)
  const contacts = createContactsRepository(deps.pool)
  const tenantA = (await tenants.findOrCreate(uniqueName('a'))).id
  const tenantB = (await tenants.findOrCreate(uniqueName('b'))).id

  // 25 contacts in A, every fifth not subscribed; B has one subscribed contact with an address A also has.
  const statuses = ['subscribed', 'subscribed', 'unsubscribed', 'subscribed', 'bounced'] as const
  for (let i = 0; i < 25; i++) {
    await contacts.insert(tenantA, { email: `c${String(i).padStart(2, '0')}@example.com`, firstName: `C${i}`, status: statuses[i % 5] ?? 'subscribed' })
  }
  await contacts.insert(tenantA, { email: 'complained@example.com', status: 'complained' })
  await contacts.insert(tenantB, { email: 'c00@example.com' })

  t.test('streamSubscribed yields the subscribed contacts of one tenant, in batches', async (t) => {
    const batches: string[][] = []
    for await (const batch of contacts.streamSubscribed(tenantA, 4)) batches.push(batch.map(c => c.email))
    const all = batches.flat()
    t.equal(all.length, 15, '3 of every 5 are subscribed')
    t.same(all, [...all].sort(), 'email order')
    t.equal(new Set(all).size, all.length, 'no contact twice')
    t.ok(batches.every(b => b.length <= 4), 'no batch larger than asked')
    t.same(batches.map(b => b.length), [4, 4, 4, 3])
    t.notOk(all.includes('c02@example.com'), 'unsubscribed left out')
    t.notOk(all.includes('c04@example.com'), 'bounced left out')
    t.notOk(all.includes('complained@example.com'), 'complained left out')

    const exact: number[] = []
    for await (const batch of contacts.streamSubscribed(tenantA, 5)) exact.push(batch.length)
    t.same(exact, [5, 5, 5], 'a last batch that is exactly full ends the stream without an empty batch')

    const other: string[] = []
    for await (const batch of contacts.streamSubscribed(tenantB)) other.push(...batch.map(c => c.email))
    t.same(other, ['c00@example.com'], 'only the tenant\'s own')
  })

  t.test('a contact that unsubscribes mid-stream is not yielded afterwards', async (t) => {
    const seen: string[] = []
    for await (const batch of contacts.streamSubscribed(tenantA, 5)) {
      seen.push(...batch.map(c => c.email))
      if (seen.length === 5) await contacts.setStatus(tenantA, 'c20@example.com', 'unsubscribed')
    }
    t.notOk(seen.includes('c20@example.com'))
    t.equal(seen.length, 14)
    await contacts.setStatus(tenantA, 'c20@example.com', 'subscribed')
  })

  t.test('recordSend updates last_email_sent, last_campaign and email_count of the tenant\'s contacts', async (t) => {
    const sentAt = new Date('2024-01-15T10:35:00.000Z')
    const updated = await contacts.recordSend(tenantA, { emails: ['c00@example.com', 'c01@example.com', 'c01@example.com', 'nobody@example.com'], campaign: 'camp_1234567890abcdef', sentAt })
    t.equal(updated, 2, 'duplicates and strangers do not count')
    await contacts.recordSend(tenantA, { emails: ['c00@example.com'], campaign: 'camp_second', sentAt: new Date('2024-01-16T00:00:00.000Z') })
    t.same(await contacts.recordSend(tenantA, { emails: [], campaign: 'x', sentAt }), 0)

    const c00 = await contacts.findByEmail(tenantA, 'c00@example.com')
    t.match(c00, { emailCount: 2, lastCampaign: 'camp_second', lastEmailSent: new Date('2024-01-16T00:00:00.000Z') })
    const c01 = await contacts.findByEmail(tenantA, 'c01@example.com')
    t.match(c01, { emailCount: 1, lastCampaign: 'camp_1234567890abcdef', lastEmailSent: sentAt })
    const bCopy = await contacts.findByEmail(tenantB, 'c00@example.com')
    t.match(bCopy, { emailCount: 0, lastCampaign: null, lastEmailSent: null }, 'the same address in another tenant is untouched')
  })

  t.test('statuses and setStatus', async (t) => {
    const found = await contacts.statuses(tenantA, ['c00@example.com', 'c02@example.com', 'complained@example.com', 'stranger@example.com'])
    t.same(Object.fromEntries(found), { 'c00@example.com': 'subscribed', 'c02@example.com': 'unsubscribed', 'complained@example.com': 'complained' })
    t.same((await contacts.statuses(tenantA, [])).size, 0)
    t.equal(await contacts.setStatus(tenantA, 'c00@example.com', 'bounced'), true)
    t.equal(await contacts.setStatus(tenantA, 'stranger@example.com', 'bounced'), false)
    t.equal((await contacts.findByEmail(tenantA, 'c00@example.com'))?.status, 'bounced')
    t.equal((await contacts.findByEmail(tenantB, 'c00@example.com'))?.status, 'subscribed', 'per tenant')
  })

  t.test('templateDataOf: seed 002 and seed 003 templates both read a stored contact', async (t) => {
    const contact = await contacts.insert(tenantA, { email: 'vars@example.com', firstName: 'John', attributes: { plan: 'pro', email: 'spoofed' } })
    const rendered = renderTemplate({
      subject: 'Welcome {{first_name}}!',
      html: '<h1>Hello {{firstName}}</h1>{{plan}} {{email}} [{{lastName}}]',
    }, templateDataOf(contact))
    t.equal(rendered.subject, 'Welcome John!')
    t.equal(rendered.html, '<h1>Hello John</h1>pro vars@example.com []', 'attributes never override the contact\'s own fields')
  })
})
