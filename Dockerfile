# gitcfg sync server. Build: docker build -t gitcfg .
# Run:   docker run -p 8080:8080 -v gitcfg-data:/data -e GITCFG_REPO=https://git.example.com/acme/config.git gitcfg
# Stage 1 builds and packs the package exactly as it is published; stage 2 installs that tarball, so the image
# runs what `npm install gitcfg` gives (no sources, no dev dependencies).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY src ./src
COPY bin ./bin
COPY schemas ./schemas
COPY hooks ./hooks
RUN npm run build && mkdir /pkg && npm pack --ignore-scripts --pack-destination /pkg

FROM node:20-bookworm-slim
ENV NODE_ENV=production
COPY --from=build /pkg/ /tmp/pkg/
RUN npm install --global --no-audit --no-fund /tmp/pkg/gitcfg-*.tgz \
  && rm -rf /tmp/pkg /root/.npm \
  && mkdir /data && chown node:node /data
# The mirror, snapshot, history index and pins live in the data dir: keep it on a volume so a restarted
# container answers at once from its last snapshot.
VOLUME /data
ENV GITCFG_HOST=0.0.0.0 GITCFG_PORT=8080 GITCFG_DATA_DIR=/data
USER node
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GITCFG_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["gitcfg"]
CMD ["serve"]
