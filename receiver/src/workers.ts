// Multi-core mode (--workers N): N receiver processes behind one ALS port, with Node's cluster module.
// The primary owns the listening socket and hands each new connection to the next worker in turn; an
// Envoy keeps its one connection, so each stream (and its node identity) stays with one worker and no
// analysis state is shared. Each worker has its own sink (OAP connections or memory topology). The
// primary analyses nothing: it serves the admin HTTP, adding up its workers' /metrics (prom-client's
// aggregator: counters and gauges summed) and merging their topologies (the same calls counted once),
// and on SIGTERM stops every worker the way a single receiver stops (streams ended, queue flushed).
import cluster, { type Worker } from 'node:cluster';
import * as client from 'prom-client';
import { AdminServer, type Readiness } from './admin/admin';
import { splitHostPort, type ReceiverConfig } from './config';
import { errorFields, silentLogger, type Logger } from './log';
import type { Receiver, Totals } from './receiver';
import { MemorySink, type TopologyJson, type TopologySnapshot } from './sinks/memory';
import { mountTopologyPage } from './admin/topology-page';

/** What the primary asks a worker, and how the worker answers (Node's IPC channel). */
type Question = 'metrics' | 'topology' | 'readiness' | 'totals';
interface Ask { type: 'ask'; id: number; question: Question }
type WorkerMessage =
  | { type: 'answer'; id: number; data: unknown }
  | { type: 'listening'; grpcPort: number };

const ANSWER_TIMEOUT_MS = 5000;
const RESPAWN_DELAY_MS = 1000;

/** In a worker: answers the primary's questions about this receiver, and says when it listens. */
export function serveAsWorker(receiver: Receiver): void {
  process.on('message', (m: Ask) => {
    if (m?.type !== 'ask') return;
    const answer = async (): Promise<unknown> => {
      switch (m.question) {
        case 'metrics': return receiver.metrics.registry.getMetricsAsJSON();
        case 'topology': return receiver.sink instanceof MemorySink ? receiver.sink.snapshot() : null;
        case 'readiness': return receiver.readiness();
        case 'totals': return receiver.totals();
      }
    };
    answer().then((data) => process.send?.({ type: 'answer', id: m.id, data } satisfies WorkerMessage));
  });
  process.send?.({ type: 'listening', grpcPort: receiver.grpcPort } satisfies WorkerMessage);
}

export class ReceiverWorkers {
  grpcPort = 0;
  adminPort = 0;
  private readonly listening = new Map<Worker, number>();
  private readonly waiting = new Map<number, { resolve: (data: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private stopping = false;
  private readonly admin: AdminServer;

  /**
   * `exec` is the script each worker runs (main.js, which serves as a worker under cluster) with `args`;
   * the workers read the same flags and environment as the primary.
   */
  constructor(readonly config: ReceiverConfig, private readonly exec: string, private readonly args: string[],
    private readonly logger: Logger = silentLogger) {
    this.admin = new AdminServer({
      metrics: { registry: { metrics: async () => (await this.aggregate()).metrics(), contentType: client.Registry.PROMETHEUS_CONTENT_TYPE } },
      readiness: () => this.readiness(),
      topology: config.sink === 'memory' ? () => this.topology() : undefined,
      logger: logger.child({ component: 'admin' }),
    });
    if (config.sink === 'memory') mountTopologyPage(this.admin, async () => (await this.merged()).history());
  }

  /** Forks the workers, waits until each listens, then serves admin HTTP. */
  async start(): Promise<void> {
    cluster.setupPrimary({ exec: this.exec, args: this.args });
    await Promise.all(Array.from({ length: this.config.workers }, () => this.fork()));
    this.adminPort = await this.admin.listen(splitHostPort(this.config.admin));
    this.logger.info('receiver started', {
      listen: this.config.listen, grpcPort: this.grpcPort, admin: this.config.admin, adminPort: this.adminPort,
      sink: this.config.sink, workers: this.config.workers, ...(this.config.oapAddress ? { oapAddress: this.config.oapAddress } : {}),
    });
  }

  /** Each worker stops as a single receiver does on SIGTERM; then admin HTTP closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    const workers = [...Object.values(cluster.workers ?? {})].filter((w): w is Worker => !!w);
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      w.process.kill('SIGTERM');
    })));
    await this.admin.close();
  }

  /** Every worker's counters and gauges, summed. */
  async aggregate(): Promise<client.Registry> {
    const all = (await this.askAll('metrics')) as client.MetricObjectWithValues<client.MetricValue<string>>[][];
    return client.AggregatorRegistry.aggregate(all);
  }

  /** Every worker's totals, summed (cheaper than aggregating every metric). */
  async totals(): Promise<Totals> {
    const sum: Totals = { received: 0, produced: 0, forwarded: 0, dropped: {} };
    for (const t of (await this.askAll('totals')) as Totals[]) {
      sum.received += t.received;
      sum.produced += t.produced;
      sum.forwarded += t.forwarded;
      for (const [reason, n] of Object.entries(t.dropped)) sum.dropped[reason] = (sum.dropped[reason] ?? 0) + n;
    }
    return sum;
  }

  private async readiness(): Promise<Readiness> {
    const all = this.listening.size < this.config.workers ? [] : (await this.askAll('readiness')) as Readiness[];
    const ready = all.length === this.config.workers;
    return { grpcListening: ready && all.every((r) => r.grpcListening), sinkReady: ready && all.every((r) => r.sinkReady) };
  }

  private async topology(): Promise<TopologyJson> {
    return (await this.merged()).topology();
  }

  /** Every worker's memory sink added into one. */
  private async merged(): Promise<MemorySink> {
    const merged = new MemorySink({ stats: NO_STATS, windowSeconds: this.config.topologyWindowSeconds });
    for (const snapshot of (await this.askAll('topology')) as (TopologySnapshot | null)[]) if (snapshot) merged.absorb(snapshot);
    return merged;
  }

  private fork(): Promise<void> {
    const worker = cluster.fork();
    return new Promise((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'listening') {
          this.grpcPort = m.grpcPort;
          this.listening.set(worker, m.grpcPort);
          resolve();
        } else if (m.type === 'answer') {
          this.waiting.get(m.id)?.resolve(m.data);
          this.waiting.delete(m.id);
        }
      });
      worker.once('exit', (code, signal) => {
        const wasListening = this.listening.delete(worker);
        if (!wasListening) reject(new Error(`receiver worker ${worker.id} exited (code ${code}, signal ${signal}) before it listened`));
        if (this.stopping || !wasListening) return;
        // A worker lost is a share of the sidecars' connections refused until it is back.
        this.logger.error('receiver worker exited; starting another', { worker: worker.id, code, signal });
        setTimeout(() => { if (!this.stopping) this.fork().catch((err) => this.logger.error('receiver worker failed to start', errorFields(err))); }, RESPAWN_DELAY_MS);
      });
    });
  }

  /** One answer from every listening worker (a worker that does not answer in time fails the request). */
  private askAll(question: Question): Promise<unknown[]> {
    return Promise.all([...this.listening.keys()].map((worker) => new Promise<unknown>((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`receiver worker ${worker.id} did not answer ${question} within ${ANSWER_TIMEOUT_MS} ms`));
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, { resolve: (data) => { clearTimeout(timer); resolve(data); }, reject });
      worker.send({ type: 'ask', id, question } satisfies Ask);
    })));
  }
}

/** The merging sink's own counts are not the workers': they are already in /metrics. */
const NO_STATS = { forwarded: () => undefined, dropped: () => undefined, queueDepth: () => undefined, deliveryFailed: () => undefined };
