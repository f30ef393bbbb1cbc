import { strict as assert } from 'node:assert';
import type * as grpc from '@grpc/grpc-js';
import type { Receiver } from '../../../receiver/src/receiver';
import { nodeOf } from '../../fixtures/mesh-fixtures';
import { alsClient, freePort, report, startReceiver, waitFor } from '../harness';
import { FRONTEND, SlowOap, scrape, taggedEntries } from './fault-harness';

describe('receiver faults: the OAP away or slow', function () {
  this.timeout(20_000);
  let receiver: Receiver | undefined;
  let client: grpc.Client | undefined;
  let oap: SlowOap | undefined;

  afterEach(async () => {
    client?.close();
    await receiver?.stop();
    oap?.stop();
    receiver = client = oap = undefined;
  });

  /** `streams` sidecar streams of `messages` messages of `perMessage` entries each, all at once. */
  function reportAll(streams: number, messages: number, perMessage: number): Promise<void[]> {
    return Promise.all(Array.from({ length: streams }, (_, s) =>
      report(client!, nodeOf(FRONTEND), Array.from({ length: messages }, (_, m) => ({ http: taggedEntries(`s${s}m${m}`, perMessage) })))));
  }

  it('delivers every metric queued while the OAP was away exactly once when it is back, and received = forwarded + dropped', async () => {
    const oapPort = await freePort();
    receiver = await startReceiver('--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, '--queue-capacity', '200', '--batch-size', '50');
    client = alsClient(receiver.grpcPort);
    await reportAll(4, 3, 20); // 240 entries for a queue of 200
    const away = await scrape(receiver.adminPort);
    assert.equal(away.value('receiver_sink_queue_depth'), 200);
    assert.equal(away.value('receiver_mesh_metrics_dropped_total', { reason: 'queue_full' }), 40);
    oap = new SlowOap(0);
    await oap.start(oapPort);
    await waitFor(async () => (await scrape(receiver!.adminPort)).value('receiver_mesh_metrics_forwarded_total') === 200,
      'the 200 queued metrics forwarded', 10_000);
    await new Promise((r) => setTimeout(r, 200)); // room for a duplicate to show up
    assert.equal(oap.endpoints.length, 200);
    assert.deepEqual(oap.duplicates(), []);
    const back = await scrape(receiver.adminPort);
    assert.equal(back.value('receiver_als_entries_received_total'), 240);
    assert.equal(back.value('receiver_mesh_metrics_forwarded_total') + back.dropped(), 240);
    assert.equal(back.value('receiver_sink_queue_depth'), 0);
  });

  it('keeps the queue within its capacity under a slow OAP, pausing the streams and counting every drop', async () => {
    oap = new SlowOap(250);
    const oapPort = await oap.start();
    receiver = await startReceiver('--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, '--queue-capacity', '100', '--batch-size', '10');
    client = alsClient(receiver.grpcPort);
    let maxDepth = 0;
    let sawPaused = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await scrape(receiver!.adminPort);
        maxDepth = Math.max(maxDepth, s.value('receiver_sink_queue_depth'));
        sawPaused = Math.max(sawPaused, s.value('receiver_als_streams_paused'));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await reportAll(8, 10, 10); // 800 entries, far more than a 250 ms OAP takes in the time
    await waitFor(async () => (await scrape(receiver!.adminPort)).value('receiver_sink_queue_depth') === 0, 'the queue drained', 15_000);
    sampling = false;
    await sampler;
    const s = await scrape(receiver.adminPort);
    assert.ok(maxDepth <= 100, `queue depth reached ${maxDepth}, above its capacity of 100`);
    assert.ok(sawPaused > 0, 'streams were paused while the queue was at its high-water mark');
    assert.ok(s.value('receiver_als_backpressure_pauses_total') >= 1);
    assert.equal(s.value('receiver_als_entries_received_total'), 800);
    assert.equal(s.value('receiver_mesh_metrics_forwarded_total') + s.dropped(), 800);
    assert.equal(s.value('receiver_mesh_metrics_forwarded_total'), oap.endpoints.length);
    assert.deepEqual(oap.duplicates(), []);
  });

  it('loses nothing when the OAP is only briefly slower than the sidecars: the pause holds them back', async () => {
    oap = new SlowOap(100);
    const oapPort = await oap.start();
    receiver = await startReceiver('--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, '--queue-capacity', '100', '--batch-size', '25');
    client = alsClient(receiver.grpcPort);
    await reportAll(2, 6, 20); // 240 entries: more than the queue, less than a second of the OAP's pace
    await waitFor(async () => (await scrape(receiver!.adminPort)).value('receiver_mesh_metrics_forwarded_total') === 240,
      'all 240 forwarded', 10_000);
    const s = await scrape(receiver.adminPort);
    assert.equal(s.dropped(), 0);
    assert.ok(s.value('receiver_als_backpressure_pauses_total') >= 1);
    assert.deepEqual(oap.duplicates(), []);
  });
});
