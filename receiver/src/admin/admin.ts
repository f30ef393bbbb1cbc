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
