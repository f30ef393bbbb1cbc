// The receiver's own stages, in one process, without transport: decode the bench's ALS messages, analyse
// their entries, queue the metrics encoded for the oap sink and take its full batches framed. Prints CPU
// time per entry after each stage (median of rounds) and, with --alloc, the bytes each entry allocates by
// function (V8's sampling heap profiler, counting objects already collected). Usage:
//   node --max-semi-space-size=8 --import tsx receiver/bench/pipeline-cost.ts [--messages N] [--alloc]
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { StreamTraffic } from './traffic';
import type { MeshMetric } from '../src/analysis/mesh-metric';

const { alsDecoders } = require('../dist/als/envoy-protos') as typeof import('../src/als/envoy-protos');
const { createAnalyzer } = require('../dist/analysis/analyze') as typeof import('../src/analysis/analyze');
const { BatchEncoder } = require('../dist/sinks/oap-encoder') as typeof import('../src/sinks/oap-encoder');
const { BatchQueue, Capacity } = require('../dist/sinks/batch-queue') as typeof import('../src/sinks/batch-queue');

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, alloc: { type: 'boolean', default: false } } });
const n = Number(values.messages);
const BATCH = 500;
const decode = alsDecoders().fast.decode;
const analyzer = createAnalyzer();
const streams = Array.from({ length: 4 }, (_, i) => new StreamTraffic(i, { streams: 4, batch: 50, tcpShare: 0.2, templates: 5 }));
const nodes = streams.map((s) => analyzer.forNode(decode(s.hello()).identifier?.node));
const messages = streams.map((s) => Array.from({ length: 5 }, () => s.take()));
const encoder = new BatchEncoder();
const capacity = new Capacity(Number.MAX_SAFE_INTEGER);
const queues = { http: new BatchQueue('http', capacity, BATCH, encoder), tcp: new BatchQueue('tcp', capacity, BATCH, encoder) };

/** Message i through the first `stages` stages; returns its entries. */
function once(i: number, stages: number): number {
  const si = i % streams.length;
  const msg = decode(messages[si]![(i >> 2) % 5]!);
  const http = msg.http_logs?.log_entry;
  const entries = http ?? msg.tcp_logs?.log_entry ?? [];
  if (stages === 1) return entries.length;
  const a = nodes[si]!;
  const out: MeshMetric[] = [];
  for (const e of entries) for (const m of http ? a.http(e) : a.tcp(e)) out.push(m);
  if (stages === 2) return entries.length;
  const q = http ? queues.http : queues.tcp;
  for (const m of out) q.push(m);
  if (stages === 3) {
    if (q.length >= 10 * BATCH) q.clear();
    return entries.length;
  }
  // Full batches, as the sink sends them under load; delivered at once.
  while (q.length >= BATCH) {
    const b = q.checkout()!;
    q.frame(b);
    q.release(b);
  }
  return entries.length;
}

const names = ['decode', '+ analyse', '+ queue encoded', '+ frame batches'];

async function main(): Promise<void> {
  for (let i = 0; i < 2000; i++) once(i, 4); // warm up
  if (values.alloc) {
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
    } as never);
    let entries = 0;
    for (let i = 0; i < n; i++) entries += once(i, 4);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const byFunction = new Map<string, number>();
    let total = 0;
    const walk = (node: typeof profile.head): void => {
      const f = node.callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '')}:${f.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
      total += node.selfSize;
      for (const c of node.children) walk(c);
    };
    walk(profile.head);
    process.stdout.write(`${(total / entries).toFixed(0)} bytes allocated per entry, by function:\n`);
    for (const [name, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
      process.stdout.write(`${(bytes / entries).toFixed(0).padStart(6)}  ${name}\n`);
    }
    return;
  }
  const results: number[][] = names.map(() => []);
  for (let round = 0; round < 7; round++) {
    for (let s = 0; s < names.length; s++) {
      let entries = 0;
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) entries += once(i, s + 1);
      const t = process.cpuUsage(t0);
      results[s]!.push((t.user + t.system) / entries);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (let s = 0; s < names.length; s++) {
    process.stdout.write(`${names[s]!.padEnd(16)} ${median(results[s]!).toFixed(2)} µs of CPU per entry (${results[s]!.map((x) => x.toFixed(2)).join(' / ')})\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
