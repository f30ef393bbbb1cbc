#!/usr/bin/env node
// The receiver's one entry point: `node receiver/dist/main.js [flags]`. Builds everything from the
// config, logs JSON lines to stderr, and on SIGTERM/SIGINT stops accepting, ends the ALS streams, flushes
// the sink's queue (up to --shutdown-timeout-ms) and exits 0.
import { AdminServer } from './admin';
import { createAnalyzer, METADATA_PROBLEMS, type Analyzer } from './analyze';
import { ConfigError, helpText, parseConfig, splitHostPort, type ReceiverConfig } from './config';
import { createLogger, errorFields, type Logger } from './log';
import { DROP_REASONS, ReceiverMetrics } from './metrics';
import { AlsServer } from './server';
import { JsonlSink } from './sinks/jsonl';
import { MemorySink } from './sinks/memory';
import { OapSink } from './sinks/oap';
import type { Sink } from './sinks/sink';

/** Exit codes: 0 ok or clean shutdown, 1 runtime failure (e.g. a port in use), 2 bad configuration. */
const EXIT_CONFIG = 2;
const EXIT_RUNTIME = 1;

function buildSink(config: ReceiverConfig, metrics: ReceiverMetrics, logger: Logger): Sink {
  switch (config.sink) {
    case 'oap':
      return new OapSink({
        address: config.oapAddress!, stats: metrics, logger: logger.child({ component: 'oap-sink' }),
        queueCapacity: config.queueCapacity, batchSize: config.batchSize, flushIntervalMs: config.flushIntervalMs,
      });
    case 'memory':
      return new MemorySink({ stats: metrics, windowSeconds: config.topologyWindowSeconds });
    case 'jsonl':
      return new JsonlSink({ stats: metrics, queueCapacity: config.queueCapacity });
  }
}

function buildAnalyzer(config: ReceiverConfig, metrics: ReceiverMetrics): Analyzer {
  for (const reason of METADATA_PROBLEMS) metrics.metadataProblems.inc({ reason }, 0);
  try {
    return createAnalyzer({
      serviceNameRule: config.serviceNameRule,
      instanceNameRule: config.instanceNameRule,
      observer: { metadataProblem: (reason) => metrics.metadataProblems.inc({ reason }) },
    });
  } catch (err) {
    throw new ConfigError(`--service-name-rule / --instance-name-rule: ${(err as Error).message}`);
  }
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: ReceiverConfig;
  let metrics: ReceiverMetrics;
  let analyzer: Analyzer;
  try {
    const parsed = parseConfig(argv, env);
    if (parsed.help) {
      process.stdout.write(helpText());
      return;
    }
    config = parsed.config;
    metrics = new ReceiverMetrics(config.sink);
    analyzer = buildAnalyzer(config, metrics);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`meshscope-receiver: ${err.message}\nRun with --help to list every flag.\n`);
    process.exitCode = EXIT_CONFIG;
    return;
  }

  const logger = createLogger(config.logLevel, undefined, { component: 'receiver' });
  process.on('uncaughtException', (err) => {
    logger.error('uncaught exception; exiting', errorFields(err));
    process.exit(EXIT_RUNTIME);
  });

  const sink = buildSink(config, metrics, logger);
  const server = new AlsServer({
    analyzer, sink, metrics, logger: logger.child({ component: 'als' }),
    limits: { maxReceiveMessageBytes: config.maxMessageBytes, maxStreams: config.maxStreams },
  });
  const admin = new AdminServer({
    metrics,
    readiness: () => ({ grpcListening: server.isListening(), sinkReady: sink.isReady() }),
    topology: sink instanceof MemorySink ? () => sink.topology() : undefined,
    logger: logger.child({ component: 'admin' }),
  });

  let grpcPort: number;
  let adminPort: number;
  try {
    grpcPort = await server.listen(config.listen);
    adminPort = await admin.listen(splitHostPort(config.admin));
  } catch (err) {
    logger.error('cannot start', errorFields(err));
    process.exit(EXIT_RUNTIME);
  }
  logger.info('receiver started', {
    listen: config.listen, grpcPort, admin: config.admin, adminPort, sink: config.sink,
    ...(config.oapAddress ? { oapAddress: config.oapAddress } : {}),
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    await server.shutdown(Math.min(2000, config.shutdownTimeoutMs));
    await sink.close(config.shutdownTimeoutMs);
    await admin.close();
    const dropped: Record<string, number> = {};
    for (const reason of DROP_REASONS) dropped[reason] = await metrics.value('receiver_mesh_metrics_dropped_total', { reason });
    logger.info('stopped', {
      received: await metrics.value('receiver_als_entries_received_total'),
      produced: await metrics.value('receiver_mesh_metrics_produced_total'),
      forwarded: await metrics.value('receiver_mesh_metrics_forwarded_total'),
      dropped,
    });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
}

main(process.argv.slice(2), process.env).catch((err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'receiver failed', ...errorFields(err) }) + '\n');
  process.exit(EXIT_RUNTIME);
});
