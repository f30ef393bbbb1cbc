// Memory of the memory sink's history, per edge side, each way in its own process:
//   for m in off ok errors; do node --expose-gc --import tsx receiver/bench/history-memory.ts $m; done
// Fills 2000 edge sides for the whole ring (90 steps of 10 s), three ways: history off (maxSeries 0), calls
// without errors, and calls with ten response codes and ten response flags in every step (the breakdowns
// full), and prints the heap plus ArrayBuffer bytes (typed arrays live outside the heap) per edge side.
import { MemorySink } from '../src/sinks/memory';
import type { HttpMeshMetric } from '../src/analysis/mesh-metric';

const EDGE_SIDES = 2000;
const STEPS = 90;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const used = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
const NO_STATS = { forwarded: () => undefined, dropped: () => undefined, queueDepth: () => undefined, deliveryFailed: () => undefined };

function metric(dest: string, k: number, step: number, failing: boolean): HttpMeshMetric {
  return {
    kind: 'http', startTime: 0, endTime: 0, sourceServiceName: 'frontend.default', sourceServiceInstance: 'frontend-1',
    destServiceName: dest, destServiceInstance: `${dest}-1`, endpoint: '/', latency: 1 + 7 * k + step,
    responseCode: failing ? 500 + k : 200, status: !failing, protocol: 'gRPC', detectPoint: 'server', tlsMode: 'mTLS',
    internalErrorCode: failing ? `flag_${k}` : '', internalRequestLatencyNanos: 0, internalResponseLatencyNanos: 0,
    sourceInstanceProperties: {}, destInstanceProperties: {},
  };
}

const MODES = { off: 'history off', ok: 'no errors', errors: 'full breakdowns' } as const;
const mode = MODES[process.argv[2] as keyof typeof MODES];
if (!mode) throw new Error(`mode ${process.argv[2]}; allowed: ${Object.keys(MODES).join(', ')}`);
{
  let clock = 1_700_000_000_000;
  const before = used();
  const sink = new MemorySink({
    stats: NO_STATS, windowSeconds: 10, now: () => clock, maxEdges: EDGE_SIDES,
    history: { maxSeries: mode === 'history off' ? 0 : EDGE_SIDES },
  });
  const perStep = mode === 'full breakdowns' ? 10 : 1;
  for (let step = 0; step < STEPS; step++) {
    const batch: HttpMeshMetric[] = [];
    for (let e = 0; e < EDGE_SIDES; e++) for (let k = 0; k < perStep; k++) batch.push(metric(`svc-${e}`, k, step, mode === 'full breakdowns'));
    sink.offer(batch);
    clock += 10_000;
  }
  const bytes = used() - before;
  console.log(`${mode.padEnd(16)} ${(bytes / EDGE_SIDES / 1024).toFixed(1)} KiB per edge side, ${(bytes / 1048576).toFixed(1)} MiB for ${EDGE_SIDES} (series ${sink.history().series})`);
}
