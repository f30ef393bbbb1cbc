// (b) and (c): the built receiver (receiver/dist), assembled as main.js assembles it, from the flags
// given on this process's command line. For the memory sink, delivery is the sink taking the metrics, so
// this process notes their age at that moment; for the oap sink the peer notes it. With --workers N > 1
// this process is the primary of N workers (dist/main.js as cluster workers): memory-sink delivery is
// then the workers' forwarded count, and its latency is not measured.
import type { MeshMetric } from '../src/analysis/mesh-metric';
import { performance } from 'node:perf_hooks';
import { announce, serveStats, type ChildStats } from './ipc';
import { LatencyHistogram } from './latency';

const { parseConfig } = require('../dist/config') as typeof import('../src/config');
const { Receiver } = require('../dist/receiver') as typeof import('../src/receiver');
async function workers(config: import('../src/config').ReceiverConfig): Promise<void> {
  const { ReceiverWorkers } = require('../dist/workers') as typeof import('../src/workers');
  const MAIN = require.resolve('../dist/main');
  const primary = new ReceiverWorkers(config, MAIN, process.argv.slice(2));
  await primary.start();
  const { metricValue } = require('../dist/admin/metrics') as typeof import('../src/admin/metrics');
  const value = async (name: string) => metricValue(await primary.aggregate(), name).catch(() => 0);
  // Polled every 20 ms: only the summed totals, the full metrics only at the end.
  serveStats(async (final): Promise<ChildStats> => {
    const t = await primary.totals();
    return {
      type: 'stats', delivered: config.sink === 'memory' ? t.forwarded : 0,
      totals: { ...t, pausedNow: final ? await value('receiver_als_streams_paused') : 0, pauses: final ? await value('receiver_als_backpressure_pauses_total') : 0 },
    };
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => { primary.stop().then(() => process.exit(0)); });
  announce(primary.grpcPort);
}

async function main(): Promise<void> {
  const parsed = parseConfig(process.argv.slice(2), {});
  if (parsed.help) throw new Error('--help is not a bench setting');
  if (parsed.config.workers > 1) return workers(parsed.config);
  const receiver = new Receiver(parsed.config);
  const latency = new LatencyHistogram();
  let delivered = 0;
  if (parsed.config.sink === 'memory') {
    const sink = receiver.sink;
    const offer = sink.offer.bind(sink);
    sink.offer = (metrics: readonly MeshMetric[]) => {
      const accepted = offer(metrics);
      const now = Date.now();
      for (const m of metrics) latency.add(now - m.startTime);
      delivered += accepted;
      return accepted;
    };
  }
  await receiver.start();
  // What RSS is made of: V8's heap, and the memory of Buffers (outside it), sampled as the driver samples RSS.
  const memory = { heapTotalMax: 0, arrayBuffersMin: Infinity, arrayBuffersMax: 0 };
  setInterval(() => {
    const m = process.memoryUsage();
    memory.heapTotalMax = Math.max(memory.heapTotalMax, m.heapTotal / 1e6);
    memory.arrayBuffersMin = Math.min(memory.arrayBuffersMin, m.arrayBuffers / 1e6);
    memory.arrayBuffersMax = Math.max(memory.arrayBuffersMax, m.arrayBuffers / 1e6);
  }, 250).unref();
  const value = async (name: string) => receiver.metrics.value(name).catch(() => 0);
  serveStats(async (final): Promise<ChildStats> => {
    const t = await receiver.totals();
    return {
      type: 'stats', delivered, loop: performance.eventLoopUtilization(),
      totals: { ...t, pausedNow: await value('receiver_als_streams_paused'), pauses: await value('receiver_als_backpressure_pauses_total') },
      latency: final && parsed.config.sink === 'memory' ? latency.toPairs() : undefined,
      memory: final && memory.heapTotalMax > 0 ? { ...memory } : undefined,
    };
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => { receiver.stop().then(() => process.exit(0)); });
  }
  announce(receiver.grpcPort);
}

main().catch((err) => {
  process.stderr.write(`bench receiver failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
