#!/usr/bin/env node
// `npm run demo`: the local demo that needs no cloud. Starts the receiver and the replayer, prints the
// page's address, runs until Ctrl-C (or --duration) and then stops both cleanly. Exit codes as the
// receiver's: 0 ok, 1 runtime failure (e.g. the port is taken), 2 bad flags.
import { createLogger, errorFields } from '../log';
import { DemoConfigError, demoHelpText, parseDemoArgs } from './demo-config';
import { startLocalDemo } from './local-demo';

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseDemoArgs(argv);
  } catch (err) {
    if (!(err instanceof DemoConfigError)) throw err;
    process.stderr.write(`meshscope demo: ${err.message}\nRun with --help to list every flag.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(demoHelpText());
    return;
  }
  const config = parsed.config;
  const logger = createLogger('warn');
  let demo;
  try {
    demo = await startLocalDemo(config, logger);
  } catch (err) {
    process.stderr.write(`meshscope demo: ${(err as Error).message}\n` +
      (/EADDRINUSE/.test((err as Error).message) ? 'Pick a free port, e.g. --admin 127.0.0.1:0 (any free port).\n' : ''));
    process.exit(1);
  }
  const sidecars = demo.replayer.traffic.sidecars;
  const vms = sidecars.filter((s) => s.workload.kind === 'vm').length;
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    demo.stop().then((stats) => {
      process.stdout.write(`meshscope demo: stopped (${why}): ${stats.userActions} user actions, ` +
        `${stats.httpEntries} HTTP and ${stats.tcpEntries} TCP entries from ${sidecars.length} sidecars\n`);
      process.exit(0);
    }, (err) => {
      logger.error('demo shutdown failed', errorFields(err));
      process.exit(1);
    });
  };
  const timer = config.durationSeconds ? setTimeout(() => stop('duration reached'), config.durationSeconds * 1000) : undefined;
  // Before the page address is printed: whoever reads it may press Ctrl-C at once, and a signal with no
  // listener yet would kill the process without the clean stop.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));

  process.stdout.write([
    `meshscope demo: a hybrid Online Boutique replayed into the receiver (${sidecars.length} sidecars: ` +
      `${sidecars.length - vms} pods, ${vms} VMs; ${config.rate} user actions/s, seed ${config.seed})`,
    `  topology page:  ${demo.pageUrl}`,
    `  topology JSON:  ${demo.pageUrl}api/topology`,
    `  ALS gRPC:       port ${demo.receiver.grpcPort}`,
    config.durationSeconds ? `Running for ${config.durationSeconds} s (Ctrl-C stops earlier).` : 'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`meshscope demo failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
