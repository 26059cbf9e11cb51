// SSRF protection of outbound webhooks: forbidden address ranges, checked on the resolved IP at connect time; no traffic leaves the host.
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { LookupAddress } from 'node:dns'
import t, { type Test } from 'tap'
import { forbiddenAddressReason, guardedLookup, type Resolver } from '../../src/net/address-guard.ts'
import { createWebhookSender } from '../../src/modules/webhooks/webhook-sender.ts'
import { webhookHarness } from '../helpers/webhooks.ts'

/** A TCP listener on 127.0.0.1 that only counts connections: any connection means the guard let one through. */
async function tcpCounter (t: Test): Promise<{ port: number, connections: () => number }> {
  let connections = 0
  const server: Server = createServer((socket) => { connections++; socket.destroy() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { port: (server.address() as AddressInfo).port, connections: () => connections }
}

/** DNS as an attacker controls it: every name in the map resolves to the given addresses. */
function fakeDns (records: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = []
  const resolver = (hostname: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => {
    asked.push(hostname)
    const addresses = records[hostname]
    if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), [])
    callback(null, addresses.map(address => ({ address, family: address.includes(':') ? 6 : 4 })))
  }
  return Object.assign(resolver, { asked })
}

t.test('forbidden ranges: loopback, private, link-local, CGNAT, unique-local, and their IPv6-mapped forms', async (t) => {
  const forbidden = [
    '127.0.0.1', '127.255.255.254', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '169.254.0.1', '100.64.0.1', '100.127.255.255', '0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255',
    '192.0.2.10', '198.18.0.1',
    '::1', '::', 'fc00::1', 'fd12:3456:789a::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '::ffff:10.0.0.1', '0:0:0:0:0:ffff:c0a8:0101',
    '::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b::127.0.0.1', '2002:7f00:1::1', '2001:db8::1',
  ]
  for (const address of forbidden) t.type(forbiddenAddressReason(address), 'string', `${address} is refused`)
  const allowed = ['8.8.8.8', '93.184.216.34', '172.32.0.1', '172.15.255.255', '100.128.0.1', '169.253.255.255', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']
  for (const address of allowed) t.equal(forbiddenAddressReason(address), null, `${address} is allowed`)
  t.match(forbiddenAddressReason('not-an-ip'), /not an IP address/)
})

t.test('every IPv6 form that embeds an IPv4 address is judged by it or refused outright', async (t) => {
  const forbidden: Array<[string, RegExp]> = [
    // IPv4-translated (SIIT, RFC 7915): ::ffff:0:a.b.c.d
    ['::ffff:0:7f00:1', /maps to 127\.0\.0\.1/], ['::ffff:0:a9fe:a9fe', /maps to 169\.254\.169\.254/],
    ['::ffff:0:127.0.0.1', /maps to 127\.0\.0\.1/], ['0:0:0:0:ffff:0:a00:1', /maps to 10\.0\.0\.1/],
    // IPv4-mapped, in every spelling
    ['::ffff:7f00:1', /maps to 127\.0\.0\.1/], ['0::ffff:192.168.0.1', /maps to 192\.168\.0\.1/],
    // IPv4-compatible and the rest of ::/8, whatever they embed
    ['::7f00:1', /not a public address/], ['::8.8.8.8', /not a public address/], ['::ffff:0:0:7f00:1', /not a public address/], ['1::7f00:1', /not a public address/],
    // NAT64: the well-known prefix decoded, the local-use prefix and the rest of 64:ff9b::/32 refused
    ['64:ff9b::7f00:1', /maps to 127\.0\.0\.1/], ['64:ff9b::10.0.0.1', /maps to 10\.0\.0\.1/],
    ['64:ff9b:1::808:808', /NAT64/], ['64:ff9b:1:2:3:4:a9fe:a9fe', /NAT64/], ['64:ff9b::1:0:7f00:1', /NAT64/],
    // 6to4 embedding a private address, and Teredo whatever it embeds
    ['2002:a9fe:a9fe::1', /maps to 169\.254\.169\.254/], ['2002:c0a8:101::', /maps to 192\.168\.1\.1/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/], ['2001::7f00:1', /Teredo/],
  ]
  for (const [address, reason] of forbidden) t.match(forbiddenAddressReason(address), reason, `${address} is refused`)
  const allowed = ['::ffff:0:808:808', '::ffff:0:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1', '2001:4860:4860::8888']
  for (const address of allowed) t.equal(forbiddenAddressReason(address), null, `${address} embeds a public address (or none) and is allowed`)
})

t.test('a literal SIIT address in a webhook URL never connects', async (t) => {
  const listener = await tcpCounter(t)
  const real = createWebhookSender({ allowPrivateUrls: false, timeoutMs: 2_000 })
  t.teardown(() => real.close())
  for (const host of ['[::ffff:0:7f00:1]', '[::ffff:0:a9fe:a9fe]', '[64:ff9b::7f00:1]', '[::7f00:1]']) {
    const result = await real.send(`https://${host}:${listener.port}/`, {}, '{}')
    t.match(result, { ok: false, statusCode: null, error: /^refused: / }, `${host} is refused`)
  }
  t.equal(listener.connections(), 0)
})

t.test('the guarded lookup refuses a name when any address it resolves to is forbidden', async (t) => {
  const lookup = guardedLookup(fakeDns({ 'public.test': ['93.184.216.34'], 'mixed.test': ['93.184.216.34', '10.0.0.7'], 'meta.test': ['169.254.169.254'] }))
  const ask = (hostname: string, all: boolean) => new Promise<{ err: Error | null, address: unknown, family?: number }>(resolve => {
    lookup(hostname, { all }, (err, address, family) => resolve({ err, address, family }))
  })
  t.same(await ask('public.test', false), { err: null, address: '93.184.216.34', family: 4 }, 'single-address form')
  t.same(await ask('public.test', true), { err: null, address: [{ address: '93.184.216.34', family: 4 }], family: undefined }, 'all: true form')
  const mixed = await ask('mixed.test', true)
  t.match(mixed.err, { code: 'ERR_WEBHOOK_FORBIDDEN_ADDRESS', message: /mixed\.test resolves to a forbidden address: 10\.0\.0\.7/ })
  t.match((await ask('meta.test', false)).err, { code: 'ERR_WEBHOOK_FORBIDDEN_ADDRESS' })
  t.match((await ask('unknown.test', false)).err, { code: 'ENOTFOUND' })
})

t.test('the sender refuses at connect time: nothing reaches a listener on 127.0.0.1', async (t) => {
  const listener = await tcpCounter(t)
  const dns = fakeDns({ 'rebind.test': ['127.0.0.1'], 'metadata.test': ['169.254.169.254'], 'v6.test': ['::ffff:127.0.0.1'] })
  const sender = createWebhookSender({ allowPrivateUrls: false, timeoutMs: 2_000, resolver: dns })
  const real = createWebhookSender({ allowPrivateUrls: false, timeoutMs: 2_000 })
  t.teardown(() => { sender.close(); real.close() })

  const cases: Array<[string, ReturnType<typeof createWebhookSender>, string, RegExp]> = [
    ['localhost through the system resolver', real, `https://localhost:${listener.port}/hook`, /^refused: localhost resolves to a forbidden address/],
    ['a name that resolves to 127.0.0.1', sender, `https://rebind.test:${listener.port}/hook`, /^refused: rebind\.test resolves to a forbidden address: 127\.0\.0\.1/],
    ['a name that resolves to the metadata address', sender, 'https://metadata.test/latest/meta-data/', /169\.254\.169\.254/],
    ['a name that resolves to IPv4-mapped loopback', sender, `https://v6.test:${listener.port}/`, /refused: .*maps to 127\.0\.0\.1/],
    ['literal 169.254.169.254', real, 'https://169.254.169.254/latest/meta-data/iam/security-credentials/', /^refused: 169\.254\.169\.254 is not a public address/],
    ['literal 127.0.0.1', real, `https://127.0.0.1:${listener.port}/`, /^refused: 127\.0\.0\.1/],
    ['literal IPv4-mapped metadata address', real, 'https://[::ffff:169.254.169.254]/', /^refused: .*maps to 169\.254\.169\.254/],
    ['literal ::1', real, `https://[::1]:${listener.port}/`, /^refused: ::1/],
    ['plain http', real, `http://127.0.0.1:${listener.port}/`, /plain http is not allowed/],
  ]
  for (const [label, client, url, error] of cases) {
    const result = await client.send(url, {}, '{}')
    t.match(result, { ok: false, statusCode: null, error }, label)
  }
  t.equal(listener.connections(), 0, 'no connection reached the listener')
  t.same(dns.asked.sort(), ['metadata.test', 'rebind.test', 'v6.test'], 'names were resolved by the guard, literals never were')
})

t.test('end to end: an endpoint whose name resolves to a private address is refused on every attempt', async (t) => {
  const listener = await tcpCounter(t)
  const dns = fakeDns({ 'hooks.customer.test': ['127.0.0.1'] })
  const h = await webhookHarness(t, { worker: false, resolver: dns, config: { WEBHOOK_ALLOW_PRIVATE_URLS: false } })
  const { id } = await h.register({ url: `https://hooks.customer.test:${listener.port}/events`, events: ['email.delivered'] })
  const { deliveryIds: [deliveryId] } = await h.publish('email.delivered', { recipientEmail: 'a@example.com' })

  t.match(await h.app.deps.webhookDeliverer.attempt(deliveryId!), { outcome: 'retry', error: /^refused: hooks\.customer\.test resolves to a forbidden address: 127\.0\.0\.1/ })
  const log = (await h.api('GET', `/api/v1/webhooks/${id}/deliveries`)).json()
  t.match(log.deliveries[0], { status: 'pending', attempts: 1, responseCode: null, lastError: /^refused/ }, 'the refusal is in the delivery log')

  // An endpoint stored before the rules (or by hand) with the metadata address is refused when it is dialled.
  await h.app.deps.pool.query("UPDATE webhook_endpoints SET url = 'https://169.254.169.254/latest/meta-data/' WHERE id = $1", [id])
  await h.app.deps.pool.query('UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1', [deliveryId])
  t.match(await h.app.deps.webhookDeliverer.attempt(deliveryId!), { outcome: 'retry', error: /^refused: 169\.254\.169\.254 is not a public address/ })
  t.equal(listener.connections(), 0)
})
