// Exposes the composition root to plugins and routes as app.deps.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Dependencies } from '../dependencies.ts'

declare module 'fastify' {
  interface FastifyInstance {
    deps: Dependencies
  }
}

async function dependenciesPlugin (app: FastifyInstance, options: { deps: Dependencies }) {
  app.decorate('deps', options.deps)
}

export default fp(dependenciesPlugin, { name: 'dependencies' })
