// The admin HTTP server: health, readiness, Prometheus metrics, and the memory sink's topology. Routes
// are a table; `mount` adds a prefix handler (checked after exact routes) so a later demo UI can be
// served under `/` without touching the API routes.
import * as http from 'node:http';
import type { ReceiverMetrics } from './metrics';
import type { TopologyJson } from '../sinks/memory';
import { errorFields, silentLogger, type Logger } from '../log';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface Readiness {
  grpcListening: boolean;
  sinkReady: boolean;
}

/** Where /metrics comes from: a receiver's own registry, or the primary's aggregate of its workers'. */
export interface MetricsSource {
  registry: { metrics(): Promise<string>; readonly contentType: string };
}

export interface AdminOptions {
  metrics: MetricsSource | ReceiverMetrics;
  readiness: () => Readiness | Promise<Readiness>;
  /** Present only with the memory sink. */
  topology?: () => TopologyJson | Promise<TopologyJson>;
  logger?: Logger;
}

/**
 * Sent with every answer. The page loads only its own files and reads only its own API; no other site may
 * frame it (clickjacking) or have a response read as another type than it says.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Host names a server bound to loopback answers to. Any other Host header is a page of another site whose
 * name now resolves to 127.0.0.1 (DNS rebinding) reading this one with the user's browser: refused.
 */
export function isLoopbackHostName(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** The host name of a Host header value (`name:port`, `[v6]:port`). */
function hostNameOf(header: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(header.trim());
  return m ? m[1]! : header;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export class AdminServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly mounts: { prefix: string; handler: RouteHandler }[] = [];
  private readonly server: http.Server;
  private readonly logger: Logger;
  /** Set when listening on loopback: only loopback names are served (see isLoopbackHostName). */
  private loopbackOnly = false;

  constructor(opts: AdminOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.route('/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
    this.route('/readyz', async (_req, res) => {
      const r = await opts.readiness();
      const ready = r.grpcListening && r.sinkReady;
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...r });
    });
    this.route('/metrics', async (_req, res) => {
      const body = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(body);
    });
    this.route('/api/topology', async (_req, res) => {
      if (!opts.topology) {
        sendJson(res, 404, { error: 'the topology is kept only by the memory sink: run with --sink memory' });
        return;
      }
      sendJson(res, 200, await opts.topology());
    });
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  /** Serves GET/HEAD on exactly `path`. */
  route(path: string, handler: RouteHandler): this {
    this.routes.set(path, handler);
    return this;
  }

  /** Serves GET/HEAD on every path under `prefix` not matched by a route (longest prefix first). */
  mount(prefix: string, handler: RouteHandler): this {
    this.mounts.push({ prefix, handler });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  listen(address: { host: string; port: number }): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot listen for admin HTTP on ${address.host}:${address.port}: ${err.message}`));
      this.server.once('error', onError);
      this.loopbackOnly = isLoopbackHostName(address.host);
      this.server.listen(address.port, address.host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      if (this.loopbackOnly && !isLoopbackHostName(hostNameOf(req.headers.host ?? ''))) {
        return sendJson(res, 421, {
          error: `host ${JSON.stringify(req.headers.host ?? '')} is not served: bound to loopback, this server answers only to localhost, 127.0.0.1 and [::1]`,
        });
      }
      const path = new URL(req.url ?? '/', 'http://admin').pathname;
      const handler = this.routes.get(path) ?? this.mounts.find((m) => path.startsWith(m.prefix))?.handler;
      if (!handler) return sendJson(res, 404, { error: `no such path: ${path}`, paths: [...this.routes.keys()] });
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return sendJson(res, 405, { error: `method ${req.method} not allowed on ${path}; allowed: GET, HEAD` });
      }
      await handler(req, res);
    } catch (err) {
      this.logger.error('admin request failed', { url: req.url, ...errorFields(err) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }
}
