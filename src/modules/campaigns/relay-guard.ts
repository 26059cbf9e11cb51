// A relay named in a /smtp-campaign request is the tenant's choice of host: the worker must not dial internal ones.
import { guardedLookup } from '../../net/address-guard.ts'

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
