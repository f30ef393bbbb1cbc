import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Receiver } from '../../../receiver/src/receiver';
import { nodeOf } from '../../fixtures/mesh-fixtures';
import { AlsStream, startReceiver, waitFor } from '../harness';
import { FRONTEND, scrape, taggedEntries } from './fault-harness';

/** A client with a connection of its own, as each sidecar has. */
const ownConnection = (port: number) =>
  new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

function firstMessage(tag: string, entries = 1) {
  return { identifier: { node: nodeOf(FRONTEND), log_name: 'als' }, http_logs: { log_entry: taggedEntries(tag, entries) } };
}
const nextMessage = (tag: string, entries = 1) => ({ http_logs: { log_entry: taggedEntries(tag, entries) } });

describe('receiver faults: sidecars that break off, and the limits', function () {
  this.timeout(20_000);
  let receiver: Receiver | undefined;
  const clients: grpc.Client[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await receiver?.stop();
    receiver = undefined;
  });
  const connect = () => { const c = ownConnection(receiver!.grpcPort); clients.push(c); return c; };
  const scrapeNow = () => scrape(receiver!.adminPort);

  it('ends only its own stream when a sidecar cancels mid-stream; another sidecar delivers all it sends', async () => {
    receiver = await startReceiver('--sink', 'memory');
    const quitter = new AlsStream(connect()).send(firstMessage('q0', 5)).send(nextMessage('q1', 5));
    const steady = new AlsStream(connect()).send(firstMessage('s0', 5));
    await waitFor(async () => (await scrapeNow()).value('receiver_als_entries_received_total') === 15, 'the first 15 entries');
    quitter.call.cancel();
    assert.equal((await quitter.done).error?.code, grpc.status.CANCELLED);
    for (let i = 1; i < 4; i++) steady.send(nextMessage(`s${i}`, 5));
    assert.equal((await steady.end()).error, null);
    const s = await scrapeNow();
    assert.equal(s.value('receiver_als_entries_analyzed_total'), 30);
    assert.equal(s.value('receiver_mesh_metrics_forwarded_total'), 30);
    assert.equal(s.value('receiver_als_streams_ended_total', { code: 'CANCELLED' }), 1);
    assert.equal(s.value('receiver_als_streams_ended_total', { code: 'OK' }), 1);
    assert.equal(s.value('receiver_als_active_streams'), 0);
  });

  it('forgets a sidecar whose process died mid-stream and keeps serving the others', async () => {
    receiver = await startReceiver('--sink', 'memory');
    const steady = new AlsStream(connect()).send(firstMessage('s0', 2));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'sidecar-process.ts'), String(receiver.grpcPort), '3'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitFor(async () => (await scrapeNow()).value('receiver_als_active_streams') === 2, 'both streams open', 10_000);
      await waitFor(async () => (await scrapeNow()).value('receiver_als_entries_received_total') === 5, 'the dying sidecar\'s 3 entries', 10_000);
    } finally {
      child.kill('SIGKILL');
    }
    await waitFor(async () => (await scrapeNow()).value('receiver_als_active_streams') === 1, 'the dead sidecar\'s stream ended', 10_000);
    steady.send(nextMessage('s1', 2));
    assert.equal((await steady.end()).error, null);
    const s = await scrapeNow();
    assert.equal(s.value('receiver_mesh_metrics_forwarded_total'), 7);
    assert.equal(s.value('receiver_als_streams_ended_total', { code: 'CANCELLED' }), 1);
  });

  it('fails a message over --max-message-bytes with RESOURCE_EXHAUSTED and serves the stream beside it on the same connection', async () => {
    receiver = await startReceiver('--sink', 'memory', '--max-message-bytes', '16384');
    const shared = connect();
    const fine = new AlsStream(shared).send(firstMessage('fine', 2));
    const huge = new AlsStream(shared).send(firstMessage('huge', 40));
    const { error } = await huge.done;
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(error!.details, /16384/);
    fine.send(nextMessage('fine-after', 2));
    assert.equal((await fine.end()).error, null);
    const s = await scrapeNow();
    assert.equal(s.value('receiver_mesh_metrics_forwarded_total'), 4);
    assert.equal(s.value('receiver_als_active_streams'), 0);
  });

  it('refuses streams beyond --max-streams with RESOURCE_EXHAUSTED, counts them, and takes a new one once a slot is free', async () => {
    receiver = await startReceiver('--sink', 'memory', '--max-streams', '2');
    const open = [new AlsStream(connect()).send(firstMessage('a')), new AlsStream(connect()).send(firstMessage('b'))];
    await waitFor(async () => (await scrapeNow()).value('receiver_als_active_streams') === 2, 'two open streams');
    const refused = await new AlsStream(connect()).send(firstMessage('c')).done;
    assert.equal(refused.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(refused.error!.details, /too many open ALS streams \(limit 2\)/);
    assert.equal((await scrapeNow()).value('receiver_als_streams_ended_total', { code: 'RESOURCE_EXHAUSTED' }), 1);
    assert.equal((await open[0]!.end()).error, null);
    assert.equal((await new AlsStream(connect()).send(firstMessage('d')).end()).error, null);
    assert.equal((await open[1]!.end()).error, null);
    assert.equal((await scrapeNow()).value('receiver_mesh_metrics_forwarded_total'), 3);
  });

  it('keeps one client from taking every stream: past --max-streams-per-peer its streams are refused, on any of its connections, and another client gets in', async () => {
    // Two clients told apart by their address on loopback: IPv4 127.0.0.1 and IPv6 ::1 (a dual-stack listener).
    receiver = await startReceiver('--sink', 'memory', '--listen', '[::]:0', '--max-streams', '3', '--max-streams-per-peer', '2');
    const greedy = [connect(), connect()];
    const other = new grpc.Client(`[::1]:${receiver.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(other);
    const held = [new AlsStream(greedy[0]!).send(firstMessage('g0')), new AlsStream(greedy[0]!).send(firstMessage('g1'))];
    await waitFor(async () => (await scrapeNow()).value('receiver_als_active_streams') === 2, 'the greedy client\'s two streams');
    const third = await new AlsStream(greedy[1]!).send(firstMessage('g2')).done; // its second connection
    assert.equal(third.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(third.error!.details, /too many open ALS streams from \S*127\.0\.0\.1 \(limit per peer 2\)/);
    assert.equal((await new AlsStream(other).send(firstMessage('o0', 3)).send(nextMessage('o1', 3)).end()).error, null);
    const s = await scrapeNow();
    assert.equal(s.value('receiver_als_streams_refused_total', { limit: 'peer' }), 1);
    assert.equal(s.value('receiver_als_streams_refused_total', { limit: 'server' }), 0);
    for (const h of held) assert.equal((await h.end()).error, null);
    assert.equal((await scrapeNow()).value('receiver_mesh_metrics_forwarded_total'), 8);
  });
});
