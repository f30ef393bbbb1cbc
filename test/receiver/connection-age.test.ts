// The receiver's maximum connection age, seen from the wire: grpc-js's GOAWAY, the streams the receiver
// then ends between two messages, the sidecar's next stream on a new connection, and grpc-js closing a
// connection whose stream outlives the grace.
import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import type { Receiver } from '../../receiver/src/receiver';
import { nodeOf } from '../fixtures/mesh-fixtures';
import { FRONTEND, taggedEntries } from './faults/fault-harness';
import { AlsStream, alsClient, startReceiver, waitFor } from './harness';

const AGE_MS = 600;
const GRACE_MS = 1200;

describe('receiver: maximum ALS connection age', function () {
  this.timeout(20_000);
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = await startReceiver('--max-connection-age-ms', String(AGE_MS), '--max-connection-age-grace-ms', String(GRACE_MS));
  });
  afterEach(() => receiver.stop());

  const value = (name: string) => receiver.metrics.value(name);

  it('sends a GOAWAY marked max_age once the connection is at least 0.9 × the age old', async () => {
    const session = http2.connect(`http://127.0.0.1:${receiver.grpcPort}`);
    session.on('error', () => undefined);
    try {
      const opened = Date.now();
      const goaway = await new Promise<{ code: number; data: string; at: number }>((resolve) =>
        session.once('goaway', (code: number, _last: number, data?: Buffer) => resolve({ code, data: String(data ?? ''), at: Date.now() })));
      assert.equal(goaway.code, http2.constants.NGHTTP2_NO_ERROR);
      assert.equal(goaway.data, 'max_age');
      assert.ok(goaway.at - opened >= AGE_MS * 0.9 - 20, `GOAWAY after ${goaway.at - opened} ms`);
    } finally {
      session.destroy();
    }
  });

  it('closes a connection whose stream outlives the grace after the GOAWAY', async () => {
    const session = http2.connect(`http://127.0.0.1:${receiver.grpcPort}`);
    session.on('error', () => undefined);
    // A stream that sends nothing: no message boundary comes, so only grpc-js's grace ends it.
    const stream = session.request({ ':method': 'POST', ':path': '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs',
      'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    const goaway = new Promise<number>((resolve) => session.once('goaway', () => resolve(Date.now())));
    const closed = new Promise<number>((resolve) => session.once('close', () => resolve(Date.now())));
    const [sentAt, closedAt] = await Promise.all([goaway, closed]);
    assert.ok(closedAt - sentAt >= GRACE_MS - 20, `closed ${closedAt - sentAt} ms after the GOAWAY`);
  });

  it('ends an idle stream of an aged connection with OK, keeping what it sent', async () => {
    const client = alsClient(receiver.grpcPort);
    try {
      const s = new AlsStream(client);
      s.send({ identifier: { node: nodeOf(FRONTEND), log_name: 'als' }, http_logs: { log_entry: taggedEntries('a', 3) } });
      assert.equal((await s.done).error, null);
      assert.deepEqual([await value('receiver_als_entries_received_total'), await value('receiver_als_streams_rebalanced_total'),
        await value('receiver_als_connections_aged_total')], [3, 1, 1]);
    } finally {
      client.close();
    }
  });

  it('reads every message already on its way before it ends a stream of an aged connection', async () => {
    const client = alsClient(receiver.grpcPort);
    try {
      const s = new AlsStream(client);
      s.send({ identifier: { node: nodeOf(FRONTEND), log_name: 'als' }, http_logs: { log_entry: taggedEntries('a', 1) } });
      await waitFor(async () => (await value('receiver_als_connections_aged_total')) === 1, 'the connection to age', 5000);
      // A burst written at once, as a busy sidecar's back-to-back flushes: no pause in it to end the stream.
      for (let i = 0; i < 200; i++) s.send({ http_logs: { log_entry: taggedEntries(`b${i}`, 1) } });
      assert.equal((await s.done).error, null);
      assert.equal(await value('receiver_als_entries_received_total'), 201);
      assert.equal(await value('receiver_als_streams_rebalanced_total'), 1);
    } finally {
      client.close();
    }
  });

  it('takes the sidecar\'s next stream on a new connection', async () => {
    const client = alsClient(receiver.grpcPort);
    try {
      const first = new AlsStream(client);
      first.send({ identifier: { node: nodeOf(FRONTEND), log_name: 'als' }, http_logs: { log_entry: taggedEntries('a', 1) } });
      first.send({ http_logs: { log_entry: taggedEntries('b', 1) } });
      await first.done;
      const second = new AlsStream(client);
      second.send({ identifier: { node: nodeOf(FRONTEND), log_name: 'als' }, http_logs: { log_entry: taggedEntries('c', 1) } });
      await waitFor(async () => (await value('receiver_als_entries_received_total')) === 3, 'the second stream\'s entry');
      assert.equal(await value('receiver_als_connections_accepted_total'), 2);
      await second.end();
    } finally {
      client.close();
    }
  });
});
