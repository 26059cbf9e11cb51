// SSRF rules for outbound webhooks: which IP addresses a delivery may connect to, and a DNS lookup that enforces them.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'

/** IPv4 ranges that are not the public internet: this host, private networks, CGNAT, link-local (cloud metadata), test nets, multicast, reserved. */
const IPV4_BLOCKED: Array<[string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
]
/** IPv6 ranges with no public meaning; the ones that embed an IPv4 address are decoded and checked as IPv4 instead. */
const IPV6_BLOCKED: Array<[string, number]> = [
  ['100::', 64], ['2001::', 32], ['2001:db8::', 32], ['64:ff9b:1::', 48], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
]

const ipv4BlockList = new BlockList()
for (const [network, prefix] of IPV4_BLOCKED) ipv4BlockList.addSubnet(network, prefix, 'ipv4')
const ipv6BlockList = new BlockList()
for (const [network, prefix] of IPV6_BLOCKED) ipv6BlockList.addSubnet(network, prefix, 'ipv6')

/** The eight 16-bit groups of an IPv6 address (zone id dropped, embedded dotted quad decoded), or null if it is not one. */
function ipv6Groups (address: string): number[] | null {
  let text = address.replace(/%.*$/, '')
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const octets = (dotted[1] as string).split('.').map(Number)
    if (isIP(dotted[1] as string) !== 4) return null
    const [a, b, c, d] = octets as [number, number, number, number]
    text = text.slice(0, -dotted[0].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return null
  const parse = (part: string) => part === '' ? [] : part.split(':').map(group => /^[0-9a-f]{1,4}$/i.test(group) ? Number.parseInt(group, 16) : Number.NaN)
  const head = parse(halves[0] ?? '')
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  return groups.some(Number.isNaN) ? null : groups
}

function embeddedIpv4 (high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
}

/**
 * Why a webhook may not connect to this address, or null when it may. Forms that carry an IPv4 address a gateway or
 * the kernel may deliver to are judged by that IPv4 address: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated / SIIT
 * (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16). The rest of ::/8 (::, ::1, IPv4-compatible
 * ::a.b.c.d and the unassigned remainder), the rest of 64:ff9b::/32 (local-use NAT64 64:ff9b:1::/48 and unassigned
 * space) and Teredo (2001::/32, whose client address is obfuscated) are refused outright: none is a public destination
 * a customer's webhook needs, and each could hide an internal IPv4 address.
 */
export function forbiddenAddressReason (address: string): string | null {
  const family = isIP(address.replace(/%.*$/, ''))
  if (family === 4) return ipv4BlockList.check(address, 'ipv4') ? `${address} is not a public address` : null
  if (family !== 6) return `${address} is not an IP address`
  const groups = ipv6Groups(address)
  if (!groups) return `${address} is not an IP address`
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number]
  const firstFourZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0
  let inner: string | null = null
  if (firstFourZero && g4 === 0 && g5 === 0xffff) inner = embeddedIpv4(g6, g7) // IPv4-mapped
  else if (firstFourZero && g4 === 0xffff && g5 === 0) inner = embeddedIpv4(g6, g7) // IPv4-translated (SIIT, RFC 7915)
  else if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) inner = embeddedIpv4(g6, g7) // NAT64
  else if (g0 === 0x64 && g1 === 0xff9b) return `${address} is a NAT64 address outside 64:ff9b::/96, not a public address`
  else if (g0 < 0x100) return `${address} is not a public address` // ::/8: ::, ::1, IPv4-compatible, unassigned
  else if (g0 === 0x2002) inner = embeddedIpv4(g1, g2) // 6to4
  else if (g0 === 0x2001 && g1 === 0) return `${address} is a Teredo address, not a public address`
  if (inner !== null) return ipv4BlockList.check(inner, 'ipv4') ? `${address} maps to ${inner}, which is not a public address` : null
  const canonical = groups.map(group => group.toString(16)).join(':')
  return ipv6BlockList.check(canonical, 'ipv6') ? `${address} is not a public address` : null
}

/** Thrown (through the socket) when a webhook host resolves to an address it may not reach. */
export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError'
  code = 'ERR_WEBHOOK_FORBIDDEN_ADDRESS'
}

type LookupAllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void
/** The resolver behind the guard: dns.lookup by default; tests inject one to play DNS rebinding. */
export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: LookupAllCallback) => void

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

export const systemResolver: Resolver = (hostname, options, callback) => { dnsLookup(hostname, options, callback) }

/**
 * A `lookup` for net/http/tls connect options: resolves the host itself and refuses the connection when any address
 * it resolves to is forbidden, so the check applies to the IP actually dialled (DNS rebinding gets no second chance).
 */
export function guardedLookup (resolve: Resolver = systemResolver) {
  return function lookup (hostname: string, options: LookupOptions, callback: LookupCallback): void {
    resolve(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
      if (err) return callback(err, [])
      const forbidden = addresses.map(a => forbiddenAddressReason(a.address)).find(reason => reason !== null)
      if (forbidden) return callback(new ForbiddenAddressError(`${hostname} resolves to a forbidden address: ${forbidden}`), [])
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), [])
      if (options.all) return callback(null, addresses)
      const first = addresses[0] as LookupAddress
      callback(null, first.address, first.family)
    })
  }
}
