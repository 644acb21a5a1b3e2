import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { HealthState } from './health-state';

/** Options of {@link startHealthServer}. */
export interface HealthServerOptions {
  health: HealthState;
  /** Served on `/metrics` in the Prometheus text format. */
  registry: Registry;
  /** @default '0.0.0.0' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

/** A running health server. */
export interface RunningHealthServer {
  readonly server: Server;
  /** The port really bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and closes idle ones; resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Starts the HTTP server of the operators' endpoints:
 * - `GET /healthz`: 200 `{"status":"live"}` while the process is live, else 503 with the reason;
 * - `GET /readyz`: 200 when live and every component is ready, else 503 with a JSON body naming each component
 *   that is not and why (`reasons: ["temporal: retrying: Temporal complete failed transiently with UNAVAILABLE: …"]`);
 * - `GET /metrics`: the registry in the Prometheus text format.
 *
 * @throws the listen error (e.g. EADDRINUSE)
 */
export async function startHealthServer(options: HealthServerOptions): Promise<RunningHealthServer> {
  const { health, registry } = options;
  const server = createServer((request, response) => {
    void handle(request, response, health, registry).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { status: 'error', error: String(error) });
      else response.destroy();
    });
  });
  // Probes and scrapes are short; a lingering keep-alive connection must not hold shutdown.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeIdleConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  health: HealthState,
  registry: Registry,
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    sendJson(response, 405, { status: 'error', error: 'method not allowed' });
    return;
  }
  switch (path) {
    case '/healthz': {
      const snapshot = health.snapshot();
      if (snapshot.live) sendJson(response, 200, { status: 'live' });
      else sendJson(response, 503, { status: 'dead', reason: snapshot.liveDetail ?? 'unknown' });
      return;
    }
    case '/readyz': {
      const snapshot = health.snapshot();
      const reasons: string[] = [];
      if (!snapshot.live) reasons.push(`process: ${snapshot.liveDetail ?? 'not live'}`);
      for (const [name, component] of Object.entries(snapshot.components)) {
        if (!component.ready) reasons.push(`${name}: ${component.detail ?? 'not ready'}`);
      }
      sendJson(response, snapshot.ready ? 200 : 503, {
        status: snapshot.ready ? 'ready' : 'not_ready',
        ...(reasons.length === 0 ? {} : { reasons }),
        components: snapshot.components,
      });
      return;
    }
    case '/metrics': {
      const body = await registry.metrics();
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(body);
      return;
    }
    default:
      sendJson(response, 404, { status: 'error', error: `no route ${path ?? ''}; try /healthz, /readyz or /metrics` });
  }
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(text);
}
