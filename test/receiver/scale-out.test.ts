// Scale-out on loopback, as the process does it: three built receivers on 127.0.0.2-4 behind one
// round_robin view of them (an ipv4: target), fed by the replayer's sidecar streams (one stream per
// sidecar, reopened whenever it ends, as Envoy's ALS client does). One receiver runs first; two more
// start while traffic flows. Every entry carries its own id (its path), so what the receivers wrote
// (jsonl sink) can be counted id by id.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { SidecarStreams } from '../../receiver/src/replay/sidecar-streams';
import type { LoggedEntry, Sidecar } from '../../receiver/src/replay/traffic';
import { nodeOf, pod } from '../fixtures/mesh-fixtures';
import { scrape, taggedEntries } from './faults/fault-harness';
import { AlsStream, alsClient, sharedFreePort, waitFor } from './harness';
import { NodeChild } from './node-child';

const MAIN = path.join(__dirname, '..', '..', 'receiver', 'dist', 'main.js');
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const SIDECARS = 9;
const ENTRIES_PER_FLUSH = 5;
/** Envoy flushes every second; shorter here, still far longer than a loopback round trip and a busy event loop. */
const FLUSH_MS = 300;

class ReceiverProcess {
  readonly child: NodeChild;
  constructor(readonly host: string, port: number, flags: string[]) {
    this.child = new NodeChild(MAIN, ['--listen', `${host}:${port}`, '--admin', '127.0.0.1:0', '--sink', 'jsonl', ...flags],
      { killAfterMs: 60_000 });
  }
  async adminPort(): Promise<number> {
    let port = 0;
    await waitFor(() => {
      const line = this.child.stderr.split('\n').find((l) => l.includes('"receiver started"'));
      if (line) port = (JSON.parse(line) as { adminPort: number }).adminPort;
      return port > 0;
    }, `the receiver on ${this.host} to start`, 15_000);
    return port;
  }
  async metric(name: string): Promise<number> {
    return (await scrape(await this.adminPort())).value(name);
  }
  /** The entry ids this receiver wrote (jsonl: one metric per line, its endpoint holds the path). */
  ids(): string[] {
    return this.child.stdout.split('\n').filter(Boolean).map((l) => /\/(s\d+-r\d+\/\d+)$/.exec((JSON.parse(l) as { endpoint: string }).endpoint)![1]!);
  }
}

function sidecar(i: number): Sidecar {
  const workload = pod(`frontend-${i}`, 'boutique');
  const node = nodeOf(workload);
  return { id: node.id!, service: 'frontend', workload, node, encoding: 'struct' };
}

describe('receiver scale-out: replicas added while sidecars stream', function () {
  this.timeout(60_000);
  const receivers: ReceiverProcess[] = [];
  const sent: string[] = [];
  let streams: SidecarStreams;
  let streamsPerReceiver: number[] = [];
  let rebalanced = 0;
  let exits: (number | null)[] = [];

  before(async () => {
    const port = await sharedFreePort(HOSTS);
    const flags = ['--max-connection-age-ms', '1500', '--max-connection-age-grace-ms', '1500', '--log-level', 'info'];
    receivers.push(new ReceiverProcess(HOSTS[0]!, port, flags));
    await receivers[0]!.adminPort();
    streams = new SidecarStreams(`ipv4:${HOSTS.map((h) => `${h}:${port}`).join(',')}`, 500, {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      // A replica that comes up is tried again soon (the default backoff starts at 1 s and grows).
      'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 300,
    });
    const sidecars = Array.from({ length: SIDECARS }, (_, i) => sidecar(i));
    let round = 0;
    const flush = () => {
      const batch: LoggedEntry[] = [];
      for (const [i, s] of sidecars.entries()) {
        taggedEntries(`s${i}-r${round}`, ENTRIES_PER_FLUSH).forEach((entry, k) => {
          batch.push({ sidecar: s, at: Date.now(), kind: 'http', entry });
          sent.push(`s${i}-r${round}/${k}`);
        });
      }
      streams.send(batch);
      round++;
    };
    const timer = setInterval(flush, FLUSH_MS);
    try {
      await waitFor(async () => (await receivers[0]!.metric('receiver_als_active_streams')) === SIDECARS, 'every sidecar on the first receiver', 15_000);
      for (const host of HOSTS.slice(1)) receivers.push(new ReceiverProcess(host, port, flags));
      // Spread: every receiver holds streams at once (the first one's connection aged and its streams moved).
      await waitFor(async () => {
        streamsPerReceiver = await Promise.all(receivers.map((r) => r.metric('receiver_als_active_streams')));
        return streamsPerReceiver.every((n) => n > 0) && streamsPerReceiver.reduce((a, b) => a + b) === SIDECARS;
      }, 'the streams to spread over the three receivers', 30_000);
    } finally {
      clearInterval(timer);
    }
    flush();
    await streams.close(10_000);
    rebalanced = (await Promise.all(receivers.map((r) => r.metric('receiver_als_streams_rebalanced_total')))).reduce((a, b) => a + b);
    for (const r of receivers) r.child.proc.kill('SIGTERM');
    exits = (await Promise.all(receivers.map((r) => r.child.exited))).map((e) => e.code);
  });
  after(() => {
    for (const r of receivers) r.child.proc.kill('SIGKILL');
  });

  it('spreads the sidecars\' streams over every receiver, the ones added later included', () => {
    assert.ok(streamsPerReceiver.every((n) => n > 0), `streams per receiver: ${streamsPerReceiver.join(', ')}`);
  });

  it('moves streams by ending them with OK between two messages, which the sidecars reopen', () => {
    assert.ok(rebalanced > 0);
    assert.equal(streams.counts.streamErrors, 0);
    assert.ok(streams.counts.streamsEndedByReceiver >= rebalanced);
  });

  it('writes every entry id exactly once across the receivers: none lost, none doubled', () => {
    const got = receivers.flatMap((r) => r.ids());
    const seen = new Map<string, number>();
    for (const id of got) seen.set(id, (seen.get(id) ?? 0) + 1);
    assert.deepEqual(sent.filter((id) => !seen.has(id)), [], 'lost');
    assert.deepEqual([...seen].filter(([, n]) => n > 1).map(([id]) => id), [], 'doubled');
    assert.equal(got.length, sent.length);
  });

  it('has each receiver exit 0 on SIGTERM', () => {
    assert.deepEqual(exits, [0, 0, 0]);
  });
});

describe('receiver scale-out: SIGTERM while a connection is in its grace period', function () {
  this.timeout(30_000);

  it('drains as without an age: the stream ends UNAVAILABLE, what it sent is written, exit 0 before the grace ends', async () => {
    const r = new ReceiverProcess('127.0.0.1', 0, ['--max-connection-age-ms', '500', '--max-connection-age-grace-ms', '20000', '--log-level', 'info']);
    try {
      await r.adminPort();
      const grpcPort = (JSON.parse(r.child.stderr.split('\n').find((l) => l.includes('"receiver started"'))!) as { grpcPort: number }).grpcPort;
      const client = alsClient(grpcPort);
      const s = new AlsStream(client);
      s.send({ identifier: { node: nodeOf(pod('frontend-0', 'boutique')), log_name: 'als' }, http_logs: { log_entry: taggedEntries('s0-r0', 4) } });
      // Aged, GOAWAY sent, no message since: the stream sits in its grace period.
      await waitFor(async () => (await r.metric('receiver_als_connections_aged_total')) === 1, 'the connection to age', 10_000);
      assert.equal(await r.metric('receiver_als_active_streams'), 1);
      const signalled = Date.now();
      r.child.proc.kill('SIGTERM');
      const [result, exit] = await Promise.all([s.done, r.child.exited]);
      client.close();
      assert.equal(result.error?.code, 14); // UNAVAILABLE: Envoy reconnects elsewhere
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - signalled < 20_000);
      assert.deepEqual(r.ids().sort(), ['s0-r0/0', 's0-r0/1', 's0-r0/2', 's0-r0/3']);
    } finally {
      r.child.proc.kill('SIGKILL');
    }
  });
});
