#!/usr/bin/env node
// The receiver's one entry point: `node receiver/dist/main.js [flags]`. Parses the config, logs JSON
// lines to stderr, and on SIGTERM/SIGINT stops accepting, ends the ALS streams, flushes the sink's queue
// (up to --shutdown-timeout-ms) and exits 0. With --workers N > 1 it is the primary of N receiver
// processes sharing the ALS port (workers.ts); each of those runs this same file as a cluster worker.
import cluster from 'node:cluster';
import { ConfigError, helpText, parseConfig } from './config';
import { createLogger, errorFields, type Logger } from './log';
import { Receiver } from './receiver';
import { ReceiverWorkers, serveAsWorker } from './workers';

/** Exit codes: 0 ok or clean shutdown, 1 runtime failure (e.g. a port in use), 2 bad configuration. */
const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let receiver: Pick<Receiver, 'start' | 'stop'>;
  let worker: Receiver | undefined;
  let logger: Logger;
  try {
    const parsed = parseConfig(argv, env);
    if (parsed.help) {
      process.stdout.write(helpText());
      return;
    }
    const role = cluster.isWorker ? { worker: cluster.worker!.id } : {};
    logger = createLogger(parsed.config.logLevel, undefined, { component: 'receiver', ...role });
    process.on('uncaughtException', (err) => {
      logger.error('uncaught exception; exiting', errorFields(err));
      process.exit(EXIT_RUNTIME);
    });
    if (cluster.isWorker) receiver = worker = new Receiver(parsed.config, logger, false);
    else if (parsed.config.workers > 1) receiver = new ReceiverWorkers(parsed.config, process.argv[1]!, argv, logger);
    else receiver = new Receiver(parsed.config, logger);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`meshscope-receiver: ${err.message}\nRun with --help to list every flag.\n`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  // Listening before start: "receiver started" is what a supervisor waits for, and a signal that comes
  // right after it (or during start) must still drain, not hit the default action of no listener.
  const started = receiver.start();
  const stop = (signal: string) => {
    logger.info('shutting down', { signal });
    started.catch(() => undefined).then(() => receiver.stop()).then(() => process.exit(0), (err) => {
      logger.error('shutdown failed', errorFields(err));
      process.exit(EXIT_RUNTIME);
    });
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal));
  await started;
  if (worker) serveAsWorker(worker);
}

main(process.argv.slice(2), process.env).catch((err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'receiver failed', ...errorFields(err) }) + '\n');
  process.exit(EXIT_RUNTIME);
});
