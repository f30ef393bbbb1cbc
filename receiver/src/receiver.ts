// The receiver assembled from its config: analyzer, sink, ALS gRPC server and admin HTTP, started and
// stopped as one. main.ts adds only the process concerns (argv, signals, exit codes); tests start this
// directly on loopback.
import { AdminServer, type Readiness } from './admin/admin';
import { createAnalyzer, METADATA_PROBLEMS, SKIP_REASONS, type Analyzer } from './analysis/analyze';
import { ConfigError, splitHostPort, type ReceiverConfig } from './config';
import { silentLogger, type Logger } from './log';
import { DROP_REASONS, ReceiverMetrics, metricValue } from './admin/metrics';
import { AlsServer } from './als/server';
import { JsonlSink } from './sinks/jsonl';
import { MemorySink } from './sinks/memory';
import { OapSink } from './sinks/oap';
import type { Sink } from './sinks/sink';
import { mountTopologyPage } from './admin/topology-page';

function buildSink(config: ReceiverConfig, metrics: ReceiverMetrics, logger: Logger): Sink {
  switch (config.sink) {
    case 'oap':
      return new OapSink({
        address: config.oapAddress!, stats: metrics, logger: logger.child({ component: 'oap-sink' }),
        reresolveMs: config.oapReresolveMs, retryMaxMs: config.oapRetryMaxMs, maxCallsInFlight: config.oapCallsInFlight,
        queueCapacity: config.queueCapacity, batchSize: config.batchSize, flushIntervalMs: config.flushIntervalMs,
      });
    case 'memory':
      return new MemorySink({ stats: metrics, windowSeconds: config.topologyWindowSeconds });
    case 'jsonl':
      return new JsonlSink({ stats: metrics, queueCapacity: config.queueCapacity });
  }
}

/** Throws ConfigError for a malformed naming rule, so it is reported like any bad flag. */
function buildAnalyzer(config: ReceiverConfig, metrics: ReceiverMetrics, logger: Logger): Analyzer {
  for (const reason of METADATA_PROBLEMS) metrics.metadataProblems.inc({ reason }, 0);
  for (const reason of SKIP_REASONS) metrics.entriesSkipped.inc({ reason }, 0);
  let analyzer: Analyzer;
  try {
    analyzer = createAnalyzer({
      serviceNameRule: config.serviceNameRule,
      instanceNameRule: config.instanceNameRule,
      protocolDetection: config.protocolDetection,
      peerlessCalls: config.peerlessCalls,
      instanceProperties: config.instanceProperties,
      nodeWithoutMetadata: config.nodeWithoutMetadata,
      observer: {
        metadataProblem: (reason) => metrics.metadataProblems.inc({ reason }),
        entrySkipped: (reason) => metrics.entriesSkipped.inc({ reason }),
      },
    });
  } catch (err) {
    throw new ConfigError(`--service-name-rule / --instance-name-rule: ${(err as Error).message}`);
  }
  for (const warning of analyzer.warnings) logger.warn('naming rule', { warning });
  return analyzer;
}

export interface Totals {
  received: number;
  produced: number;
  forwarded: number;
  dropped: Record<string, number>;
}

/** The totals a registry holds: one receiver's, or the sum of a multi-worker receiver's. */
export async function totalsOf(registry: Parameters<typeof metricValue>[0]): Promise<Totals> {
  const dropped: Record<string, number> = {};
  for (const reason of DROP_REASONS) dropped[reason] = await metricValue(registry, 'receiver_mesh_metrics_dropped_total', { reason });
  return {
    received: await metricValue(registry, 'receiver_als_entries_received_total'),
    produced: await metricValue(registry, 'receiver_mesh_metrics_produced_total'),
    forwarded: await metricValue(registry, 'receiver_mesh_metrics_forwarded_total'),
    dropped,
  };
}

export class Receiver {
  readonly metrics: ReceiverMetrics;
  readonly sink: Sink;
  private readonly server: AlsServer;
  private readonly admin: AdminServer;
  private stopping: Promise<void> | undefined;
  grpcPort = 0;
  adminPort = 0;

  /**
   * Builds everything (throws ConfigError for a bad naming rule); nothing listens until start(). A
   * worker of a multi-worker receiver serves no admin HTTP: its primary does, for all (workers.ts).
   */
  constructor(readonly config: ReceiverConfig, private readonly logger: Logger = silentLogger, private readonly serveAdmin = true) {
    this.metrics = new ReceiverMetrics(config.sink);
    const analyzer = buildAnalyzer(config, this.metrics, logger);
    const sink = (this.sink = buildSink(config, this.metrics, logger));
    this.server = new AlsServer({
      analyzer, sink, metrics: this.metrics, logger: logger.child({ component: 'als' }),
      limits: {
        maxReceiveMessageBytes: config.maxMessageBytes, maxStreams: config.maxStreams, maxStreamsPerPeer: config.maxStreamsPerPeer, receiveWindowBytes: config.receiveWindowBytes,
        maxConnectionAgeMs: config.maxConnectionAgeMs, maxConnectionAgeGraceMs: config.maxConnectionAgeGraceMs,
      },
    });
    this.admin = new AdminServer({
      metrics: this.metrics,
      readiness: () => this.readiness(),
      topology: sink instanceof MemorySink ? () => sink.topology() : undefined,
      logger: logger.child({ component: 'admin' }),
    });
    // The memory sink is the embedded one: its topology page is served wherever it runs, demo or not.
    if (sink instanceof MemorySink) mountTopologyPage(this.admin, () => sink.history());
  }

  readiness(): Readiness {
    return { grpcListening: this.server.isListening(), sinkReady: this.sink.isReady() };
  }

  /** The admin HTTP server, for mounting more handlers. */
  get adminServer(): AdminServer {
    return this.admin;
  }

  async start(): Promise<void> {
    this.grpcPort = await this.server.listen(this.config.listen);
    if (!this.serveAdmin) return;
    this.adminPort = await this.admin.listen(splitHostPort(this.config.admin));
    this.logger.info('receiver started', {
      listen: this.config.listen, grpcPort: this.grpcPort, admin: this.config.admin, adminPort: this.adminPort,
      sink: this.config.sink, ...(this.config.oapAddress ? { oapAddress: this.config.oapAddress } : {}),
    });
  }

  /** Stops accepting, ends the ALS streams, flushes the sink (up to the shutdown timeout), closes admin. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.server.shutdown(Math.min(2000, this.config.shutdownTimeoutMs));
      await this.sink.close(this.config.shutdownTimeoutMs);
      if (this.serveAdmin) await this.admin.close();
      this.logger.info('stopped', { ...(await this.totals()) });
    })();
    return this.stopping;
  }

  totals(): Promise<Totals> {
    return totalsOf(this.metrics.registry);
  }
}
