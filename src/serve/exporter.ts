import http from 'node:http';
import type { CgroupMetrics } from './cgroup-metrics.js';

export interface Exporter {
  /** The address it listens on, once listening. */
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Serves the metrics on /metrics, read at scrape time. One scrape at a time: a second one arriving while
 * the cgroups are read waits for the same reading rather than reading them again.
 */
export async function startExporter(
  metrics: CgroupMetrics,
  host: string,
  port: number,
  /** Called once each scrape's text is ready (the CLI collects garbage there). */
  afterScrape: () => void = () => {},
  /** More routes (the post-mortems): true when it answered the request. */
  routes?: (request: http.IncomingMessage, response: http.ServerResponse, url: string) => boolean,
): Promise<Exporter> {
  let pending: Promise<string> | undefined;
  const scrape = (): Promise<string> => {
    if (pending) return pending;
    const reading = (async () => {
      metrics.refresh();
      const text = await metrics.registry.metrics();
      afterScrape();
      return text;
    })();
    pending = reading;
    // Cleared once settled, failed or not, so that one failed scrape does not fail every later one.
    const clear = () => {
      if (pending === reading) pending = undefined;
    };
    reading.then(clear, clear);
    return reading;
  };
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics' || url.startsWith('/metrics?')) {
      scrape().then(
        (body) => response.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body),
        (error: unknown) =>
          response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`scrape failed: ${String(error)}\n`),
      );
      return;
    }
    if (routes?.(request, response, url)) return;
    if (url === '/') {
      response
        .writeHead(200, { 'Content-Type': 'text/plain' })
        .end(`headroom exporter: metrics at /metrics${routes ? ', post-mortems at /postmortems' : ''}\n`);
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  // A client that sends its request slowly, or reads its answer slowly, is cut off rather than left to
  // hold a connection for ever: the scrape must always get through.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.setTimeout(30_000, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? { host, port: bound.port } : { host, port };
  return {
    address,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A client in the middle of a slow download would otherwise keep the exporter from stopping.
        server.closeAllConnections();
      }),
  };
}
