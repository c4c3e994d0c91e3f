# One image for every ForgeOne service; docker-compose.yml picks the service with
# `command: node --import @forgeone/telemetry/register apps/<name>/dist/main.js` (the hook that lets
# OpenTelemetry trace `pg` and outgoing `http` in ES modules).

FROM node:20-slim AS build
WORKDIR /app
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false CI=true
COPY package.json package-lock.json nx.json tsconfig.base.json ./
COPY libs ./libs
COPY apps ./apps
# No dependency install scripts: nothing the services need runs one, and none can run unreviewed code.
RUN npm ci --no-audit --no-fund --ignore-scripts
RUN npx nx run-many -t build --output-style=stream
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/apps ./apps
USER node
CMD ["node", "--import", "@forgeone/telemetry/register", "apps/gateway/dist/main.js"]
