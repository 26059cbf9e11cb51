// The webhooks pages in headless Chromium: register an endpoint, see its failed delivery, redeliver it to success.
import t from 'tap'
import { uniqueName } from '../helpers/build.ts'
import { launchBrowser, overflowsHorizontally, signIn, startDashboard } from '../helpers/browser.ts'
import { startReceiver } from '../fakes/webhook-receiver.ts'
import { FAST_WEBHOOKS } from '../helpers/webhooks.ts'

t.test('webhook endpoints: create, deliveries, redeliver', async (t) => {
  const dashboard = await startDashboard(t, { config: FAST_WEBHOOKS, workers: true })
  const browser = await launchBrowser(t)
  // The receiver refuses until the test says otherwise, so the first delivery fails for good.
  let healthy = false
  const receiver = await startReceiver(t, () => healthy ? 200 : 500)
  const tenant = uniqueName('ui-hooks')
  const key = await dashboard.key(tenant)
  const tenantId = (await dashboard.deps.principals.tenantByName(tenant)).id

  const page = await signIn(browser, dashboard, key)
  await page.getByRole('link', { name: 'Webhooks' }).click()
  await page.getByText('No endpoints yet.').waitFor()
  const form = page.getByRole('form', { name: 'Add an endpoint' })
  await form.getByLabel('Endpoint URL').fill('not a url')
  await form.getByRole('button', { name: 'Add endpoint' }).click()
  t.equal(await page.getByRole('table', { name: 'Webhook endpoints' }).count(), 0, 'the browser refuses a non-URL before any request')

  await form.getByLabel('Endpoint URL').fill(receiver.url)
  await form.getByLabel('email.bounced').check()
  await form.getByLabel('Signing secret').fill('a secret with spaces in it')
  await form.getByRole('button', { name: 'Add endpoint' }).click()
  await page.getByRole('alert').waitFor()
  t.match(await page.getByRole('alert').textContent(), /secret/, 'the service\'s 400 names the field')

  await form.getByLabel('Signing secret').fill('')
  await form.getByRole('button', { name: 'Add endpoint' }).click()
  const created = form.getByRole('status')
  await created.waitFor()
  const secret = await created.locator('code').textContent()
  t.match(secret, /^whsec_/, 'the generated secret is shown once')
  const endpoints = page.getByRole('table', { name: 'Webhook endpoints' })
  t.equal(await endpoints.getByRole('cell', { name: receiver.url, exact: true }).count(), 1)
  t.equal(await endpoints.getByRole('cell', { name: 'email.delivered, email.bounced' }).count(), 1)

  const { webhooks } = (await dashboard.app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: { 'x-api-key': await dashboard.key(tenant) } })).json() as { webhooks: Array<{ id: string }> }
  const webhookId = webhooks[0]?.id as string
  const { deliveryIds } = await dashboard.deps.webhooks.publish({
    tenantId, type: 'email.delivered', data: { campaignId: 'camp_ui', recipientEmail: 'a@example.com' }, occurredAt: new Date(),
  })
  t.equal(deliveryIds.length, 1)
  // Three fast attempts (FAST_WEBHOOKS), all refused.
  await receiver.waitFor(3)
  const failedBy = Date.now() + 30_000
  while (Date.now() < failedBy) {
    const { rows } = await dashboard.deps.pool.query('SELECT status FROM webhook_deliveries WHERE id = $1', [deliveryIds[0]])
    if (rows[0]?.status === 'failed') break
    await new Promise(resolve => setTimeout(resolve, 50))
  }

  await page.getByRole('link', { name: `Deliveries of ${receiver.url}` }).click()
  await page.getByRole('heading', { name: receiver.url }).waitFor()
  const deliveries = page.getByRole('table', { name: 'Deliveries' })
  await deliveries.waitFor()
  const row = deliveries.getByRole('row').nth(1)
  t.equal(await row.getByRole('cell').nth(0).textContent(), 'email.delivered')
  t.equal(await row.getByRole('cell').nth(1).textContent(), 'failed')
  t.equal(await row.getByRole('cell').nth(2).textContent(), '3', 'three attempts')
  t.equal(await row.getByRole('cell').nth(3).textContent(), '500')

  healthy = true
  await row.getByRole('button', { name: /^Redeliver email\.delivered/ }).click()
  t.match(await page.getByRole('status').textContent(), /Redelivery of email\.delivered .* queued/)
  await receiver.waitFor(4)
  // The page refreshes on demand: click Refresh until the log shows the success.
  const succeededBy = Date.now() + 30_000
  while (Date.now() < succeededBy) {
    await page.getByRole('button', { name: 'Refresh' }).click()
    if (await deliveries.getByRole('row').nth(1).getByRole('cell').nth(1).textContent() === 'succeeded') break
    await page.waitForTimeout(100)
  }
  t.equal(await deliveries.getByRole('row').nth(1).getByRole('cell').nth(1).textContent(), 'succeeded', 'the redelivery succeeded')
  t.equal(receiver.received[3]?.headers['webhook-id'], receiver.received[0]?.headers['webhook-id'], 'redelivered with the same webhook-id')

  await page.getByLabel('Delivery status').selectOption('failed')
  await page.getByText('No deliveries yet.').waitFor()
  t.pass('the status filter reaches the API')
  t.ok(webhookId.startsWith('wh_'))

  await page.setViewportSize({ width: 375, height: 740 })
  await page.getByLabel('Delivery status').selectOption('')
  await deliveries.waitFor()
  t.notOk(await overflowsHorizontally(page), 'the delivery log fits 375 px')
})
