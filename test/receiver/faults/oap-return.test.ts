// The OAP away for 30 s and for 120 s (long enough for every backoff to reach its cap), entries sent
// meanwhile: each is delivered exactly once, within 5 s of the OAP's return. The receiver runs with its
// default retry settings; the outages are real time, run side by side so the suite waits ~2 min once.
// Why 5 s holds on a loaded machine: the mechanism bounds the delay at about 1.5 s (the channels try to
// connect at least every --oap-retry-max-ms = 1 s, ±20 % jitter; READY ends the sink's backoff after at
// most 250 ms of jitter; then one call), so the assertion leaves ~3.5 s for a busy CPU.
import { strict as assert } from 'node:assert';
import type * as grpc from '@grpc/grpc-js';
import type { Receiver } from '../../../receiver/src/receiver';
import { nodeOf } from '../../fixtures/mesh-fixtures';
import { alsClient, freePort, report, startReceiver, waitFor } from '../harness';
import { FRONTEND, SlowOap, scrape, taggedEntries } from './fault-harness';

const ENTRIES = 5000;
const PARTS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  outageMs: number;
  /** From the moment the OAP was started again until the last metric arrived. */
  delayMs: number;
  delivered: string[];
  expected: string[];
  forwarded: number;
  dropped: number;
  queued: number;
}

/** One receiver and its OAP: warm up, take the OAP away for `outageMs` while sidecars report, bring it back. */
async function outage(outageMs: number, cleanup: (() => unknown)[]): Promise<Outcome> {
  const oapPort = await freePort();
  const before = new SlowOap(0);
  await before.start(oapPort);
  cleanup.push(() => before.stop());
  const receiver: Receiver = await startReceiver('--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`);
  cleanup.push(() => receiver.stop());
  const client: grpc.Client = alsClient(receiver.grpcPort);
  cleanup.push(() => client.close());
  const send = (tag: string, count: number) =>
    report(client, nodeOf(FRONTEND), Array.from({ length: count / 100 }, (_, m) => ({ http: taggedEntries(`${tag}m${m}`, 100) })));

  await send('warm', 100);
  // Counted forwarded: the OAP's answer reached the receiver (an OAP gone before it answers may get a call twice).
  await waitFor(async () => (await scrape(receiver.adminPort)).value('receiver_mesh_metrics_forwarded_total') === 100, 'the warm-up forwarded', 10_000);
  before.stop();

  const expected: string[] = [];
  const awayAt = Date.now();
  for (let p = 0; p < PARTS; p++) {
    await sleep(awayAt + (p * outageMs) / PARTS - Date.now());
    await send(`o${outageMs}p${p}`, ENTRIES / PARTS);
    for (let m = 0; m < ENTRIES / PARTS / 100; m++) for (let i = 0; i < 100; i++) expected.push(`GET:/o${outageMs}p${p}m${m}/${i}`);
  }
  await sleep(awayAt + outageMs - Date.now());

  const after = new SlowOap(0);
  const returnedAt = Date.now();
  await after.start(oapPort);
  cleanup.push(() => after.stop());
  await waitFor(() => after.endpoints.length >= ENTRIES, `all ${ENTRIES} entries delivered after a ${outageMs / 1000} s outage`, 60_000);
  await sleep(500); // room for a duplicate to show up
  const s = await scrape(receiver.adminPort);
  return {
    outageMs, delayMs: after.lastArrivalAt - returnedAt, delivered: after.endpoints, expected,
    forwarded: s.value('receiver_mesh_metrics_forwarded_total'), dropped: s.dropped(), queued: s.value('receiver_sink_queue_depth'),
  };
}

describe('receiver faults: the OAP back after a long outage', function () {
  this.timeout(240_000);
  const cleanup: (() => unknown)[] = [];
  let outcomes: Outcome[] = [];

  before(async () => {
    outcomes = await Promise.all([outage(30_000, cleanup), outage(120_000, cleanup)]);
    for (const o of outcomes) console.log(`      OAP away ${o.outageMs / 1000} s: last of ${ENTRIES} entries delivered ${o.delayMs} ms after its return`);
  });

  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  for (const [i, seconds] of [[0, 30], [1, 120]] as const) {
    it(`delivers every entry sent while the OAP was away ${seconds} s exactly once`, () => {
      const o = outcomes[i]!;
      assert.deepEqual([...o.delivered].sort(), [...o.expected].sort());
      assert.equal(o.forwarded, 100 + ENTRIES);
      assert.equal(o.dropped, 0);
      assert.equal(o.queued, 0);
    });

    it(`delivers them within 5 s of the OAP's return after ${seconds} s away`, () => {
      const o = outcomes[i]!;
      assert.ok(o.delayMs <= 5000, `the last entry arrived ${o.delayMs} ms after the OAP was back`);
    });
  }
});
