# Container image for outreach: compiles TypeScript in a build stage and runs dist/ on production dependencies as the node user.

# Node 22 LTS: 20 is past end of life, and some transitive packages (cookie 2) declare node >= 22.
# ---- build: full dependencies, tsc emits dist/ ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard: esbuild bundles ui/ into dist/ui, served at /ui.
COPY ui ./ui
COPY scripts/build-ui.ts ./scripts/build-ui.ts
RUN npm run build

# ---- runtime: production dependencies, compiled code, SQL migrations ----
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force
# The layout mirrors the repo: dist/db/migrate.js finds ../../migrations/ and dist/version.js reads ../package.json.
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# Files stay root-owned and read-only to the process; the service writes nothing to disk.
USER node
EXPOSE 3000
# Slim images have no curl; node's global fetch does the probe. ROLE=worker answers /health too.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
