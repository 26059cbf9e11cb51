// A relay named in a /smtp-campaign request is the tenant's choice of host: the worker must not dial internal ones.
import type { Config } from '../../config.ts'
import { ForbiddenAddressError, guardedLookup } from '../../net/address-guard.ts'

/** SMTP_RELAY_PORTS as numbers (the config schema has checked its shape). */
export function relayPorts (config: Pick<Config, 'SMTP_RELAY_PORTS'>): number[] {
  return config.SMTP_RELAY_PORTS.split(',').map(port => Number(port.trim()))
}

/** Whether a relay is the operator's own SMTP_SERVER: trusted with private addresses, so only on its SMTP_PORT. */
export function isOperatorRelay (host: string, port: number, config: Pick<Config, 'SMTP_SERVER' | 'SMTP_PORT'>): boolean {
  return config.SMTP_SERVER !== undefined && host.toLowerCase() === config.SMTP_SERVER.toLowerCase() && port === config.SMTP_PORT
}

/**
 * The address to dial for a relay host, after the same public-address rules as outbound webhooks
 * (ForbiddenAddressError otherwise). Dialling the vetted address, not the name, leaves DNS rebinding no second answer.
 */
export function pinPublicHost (host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    guardedLookup()(host, {}, (err, address) => {
      if (err) reject(err)
      else resolve(address as string)
    })
  })
}

/**
 * The worker's check of a relay a request named, before the first connection: its port must be an SMTP submission
 * port (the request was checked too, but a campaign may have been stored before ports were), and its host a public
 * address unless SMTP_RELAY_ALLOW_PRIVATE. Returns the address to dial.
 */
export async function vetRequestedRelay (host: string, port: number, options: { ports: number[], allowPrivate: boolean }): Promise<string> {
  if (!options.ports.includes(port)) {
    throw new ForbiddenAddressError(`port ${port} is not one of the SMTP submission ports (SMTP_RELAY_PORTS: ${options.ports.join(', ')})`)
  }
  return options.allowPrivate ? host : await pinPublicHost(host)
}
