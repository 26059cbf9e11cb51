// Request duration by route and status for /metrics.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

async function metricsPlugin (app: FastifyInstance) {
  const { httpRequestDuration } = app.deps.metrics
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded; unknown routes share one label.
    const route = request.routeOptions.url ?? 'unmatched'
    httpRequestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000
    )
  })
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['dependencies'] })
