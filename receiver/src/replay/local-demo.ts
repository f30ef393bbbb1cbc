// The demo assembled: a receiver with the memory sink and the topology page on its admin port, and the
// replayer streaming the hybrid Online Boutique into it. demo.ts adds the process concerns; tests start
// this directly on loopback.
import { parseConfig } from '../config';
import { silentLogger, type Logger } from '../log';
import { Receiver } from '../receiver';
import type { DemoConfig } from './demo-config';
import { Replayer, type ReplayStats } from './replayer';

export interface LocalDemo {
  receiver: Receiver;
  replayer: Replayer;
  /** The page's address, e.g. http://127.0.0.1:8080/ */
  pageUrl: string;
  /** Stops the replayer (its streams end), then the receiver; idempotent. */
  stop(): Promise<ReplayStats>;
}

/** Host part of a page URL for a listen address: a wildcard address is reached on loopback. */
function browsableHost(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  if (host === '0.0.0.0' || host === '[::]') return '127.0.0.1';
  return host;
}

/**
 * The receiver flags the demo runs with: the memory sink, plus our additions its page relies on: gRPC told
 * apart from HTTP (Online Boutique is mostly gRPC) and each workload's platform (pods vs VMs).
 */
export const DEMO_RECEIVER_FLAGS: readonly string[] = [
  '--sink', 'memory', '--protocol-detection', 'grpc', '--instance-properties', 'extended',
];

export async function startLocalDemo(config: DemoConfig, logger: Logger = silentLogger): Promise<LocalDemo> {
  const parsed = parseConfig(
    [...DEMO_RECEIVER_FLAGS, '--listen', config.listen, '--admin', config.admin,
      '--topology-window-seconds', String(config.windowSeconds)],
    {},
  );
  if (parsed.help) throw new Error('unexpected --help');
  const receiver = new Receiver(parsed.config, logger.child({ component: 'receiver' }));
  try {
    await receiver.start();
  } catch (err) {
    await receiver.stop(); // the gRPC side may be listening already (e.g. only the admin port was taken)
    throw err;
  }
  const grpcHost = browsableHost(config.listen);
  const replayer = new Replayer({ target: `${grpcHost}:${receiver.grpcPort}`, seed: config.seed, rate: config.rate });
  replayer.start();
  let stopping: Promise<ReplayStats> | undefined;
  return {
    receiver,
    replayer,
    pageUrl: `http://${browsableHost(config.admin)}:${receiver.adminPort}/`,
    stop: () => (stopping ??= (async () => {
      const stats = await replayer.stop();
      await receiver.stop();
      return stats;
    })()),
  };
}
