import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { JsonlSink } from '../../receiver/src/sinks/jsonl';
import { ReceiverMetrics } from '../../receiver/src/admin/metrics';
import { httpMetric, tcpMetric, waitFor } from './harness';

/** A stdout stand-in that holds every write until released: backpressure on demand. */
class SlowOut extends Writable {
  text = '';
  private held: (() => void)[] = [];
  paused = true;
  constructor() { super({ highWaterMark: 64 }); }
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    if (this.paused) this.held.push(cb); else cb();
  }
  release() {
    this.paused = false;
    for (const cb of this.held.splice(0)) cb();
  }
}

describe('jsonl sink', () => {
  let metrics: ReceiverMetrics;
  beforeEach(() => { metrics = new ReceiverMetrics('jsonl'); });

  it('writes one JSON metric per line', async () => {
    const out = new SlowOut();
    out.release();
    const sink = new JsonlSink({ stats: metrics, queueCapacity: 100, out });
    const metricsIn = [httpMetric(), tcpMetric()];
    sink.offer(metricsIn);
    await sink.close(1000);
    assert.deepEqual(out.text.trimEnd().split('\n').map((l) => JSON.parse(l)), metricsIn);
  });

  it('writes 64-bit values beyond 2^53 as exact JSON numbers', async () => {
    const out = new SlowOut();
    out.release();
    const sink = new JsonlSink({ stats: metrics, queueCapacity: 100, out });
    sink.offer([tcpMetric({ receivedBytes: 2n ** 63n - 1n, internalRequestLatencyNanos: 9_007_199_254_740_993n })]);
    await sink.close(1000);
    assert.match(out.text, /"internalRequestLatencyNanos":9007199254740993,/);
    assert.match(out.text, /"receivedBytes":9223372036854775807,/);
  });

  it('holds what stdout cannot take yet in a bounded queue and drops the rest as queue_full', async () => {
    const out = new SlowOut();
    const sink = new JsonlSink({ stats: metrics, queueCapacity: 5, out });
    assert.equal(sink.offer([httpMetric({ latency: 1 })]), 1); // written, stream now over its mark
    assert.equal(sink.offer([2, 3, 4].map((latency) => httpMetric({ latency }))), 3);
    assert.equal(sink.offer([5, 6, 7].map((latency) => httpMetric({ latency }))), 2);
    assert.equal(await metrics.value('receiver_mesh_metrics_dropped_total', { reason: 'queue_full' }), 1);
    assert.equal(await metrics.value('receiver_sink_queue_depth'), 5);
    out.release();
    await waitFor(() => out.text.split('\n').length === 7, 'six lines');
    assert.deepEqual(out.text.trimEnd().split('\n').map((l) => JSON.parse(l).latency), [1, 2, 3, 4, 5, 6]);
    assert.equal(await metrics.value('receiver_mesh_metrics_forwarded_total'), 6);
  });

  it('waits on close until stdout took everything queued', async () => {
    const out = new SlowOut();
    const sink = new JsonlSink({ stats: metrics, queueCapacity: 100, out });
    sink.offer([httpMetric()]);
    sink.offer([httpMetric(), httpMetric()]);
    setTimeout(() => out.release(), 50);
    await sink.close(2000);
    assert.equal(out.text.trimEnd().split('\n').length, 3);
  });
});
