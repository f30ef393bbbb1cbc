// `npm run bench -- --scale`: does scale-out spread the load? Two setups on loopback, each sampled every second.
//   (1) ALS: built receivers (memory sink) on 127.0.0.2, .3, .4, one port, behind one client-side view of
//       them (an ipv4: target listing all three; each new stream on a new connection to a random one that
//       is up), fed by the demo's replayer: one stream per Online Boutique sidecar, reopened whenever it
//       ends, as Envoy's ALS client does. One receiver first, a second after
//       --step-s, a third after another; their connections age after --age-ms (grace --grace-ms).
//   (2) OAP: one built receiver (oap sink) whose target lists two OAP peers (127.0.0.2, .3), fed by the
//       same replayer; the second peer comes up after --step-s.
// Results go to BENCHMARKS.md between the bench:scale markers (only with --write).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildMessage, ChildStats, DriverMessage } from './ipc';
import { Replayer } from '../src/replay/replayer';

const REPO = path.resolve(__dirname, '..', '..');
const MAIN = path.join(REPO, 'receiver', 'dist', 'main.js');
const BENCHMARKS_MD = path.join(REPO, 'BENCHMARKS.md');
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const PICK_FIRST = JSON.stringify({ loadBalancingConfig: [{ pick_first: {} }] });
/** The replicas in a seeded random order: pick_first then connects to a random one that is up. */
function shuffledList(addresses: string[], seed: string): string[] {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const out = [...addresses];
  for (let i = out.length - 1; i > 0; i--) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    const j = h % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function flags() {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--scale'),
    options: {
      'age-ms': { type: 'string', default: '20000' }, 'grace-ms': { type: 'string', default: '10000' },
      'step-s': { type: 'string', default: '40' }, 'tail-s': { type: 'string', default: '60' },
      'oap-step-s': { type: 'string', default: '20' }, rate: { type: 'string', default: '100' },
      parts: { type: 'string', default: 'als,oap' }, write: { type: 'boolean', default: false },
      // Printing only is the default; kept so older command lines still run.
      'no-write': { type: 'boolean', default: false },

    },
    strict: true,
  });
  const int = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: invalid value ${JSON.stringify(values[name])}; allowed: a whole number >= ${min}`);
    return n;
  };
  const parts = String(values.parts).split(',');
  for (const p of parts) if (p !== 'als' && p !== 'oap') throw new Error(`--parts: unknown part ${JSON.stringify(p)}; allowed: als, oap`);
  return {
    ageMs: int('age-ms', 1000), graceMs: int('grace-ms', 0), stepS: int('step-s', 1), tailS: int('tail-s', 1),
    oapStepS: int('oap-step-s', 1), rate: int('rate', 1), parts, write: Boolean(values.write),
  };
}
type Settings = ReturnType<typeof flags>;

// ---- processes ----

/** A built receiver; its admin port read from its "receiver started" log line. */
class ReceiverChild {
  readonly proc: ChildProcess;
  private stderr = '';
  readonly adminPort: Promise<number>;
  readonly grpcPort: Promise<number>;
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--max-old-space-size=128', MAIN, ...args, '--admin', '127.0.0.1:0', '--log-level', 'info'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    const started = new Promise<{ adminPort: number; grpcPort: number }>((resolve, reject) => {
      this.proc.stderr!.on('data', (d: Buffer) => {
        this.stderr += d;
        const line = this.stderr.split('\n').find((l) => l.includes('"receiver started"'));
        if (line) resolve(JSON.parse(line) as { adminPort: number; grpcPort: number });
      });
      this.proc.once('exit', (code) => reject(new Error(`receiver exited (${code}) before it started: ${this.stderr.slice(-500)}`)));
    });
    this.adminPort = started.then((x) => x.adminPort);
    this.grpcPort = started.then((x) => x.grpcPort);
  }
  async metrics(): Promise<Record<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${await this.adminPort}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{.*\})? (\S+)$/.exec(line);
      if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    }
    return out;
  }
  async stop(): Promise<number | null> {
    this.proc.kill('SIGTERM');
    return this.exited;
  }
}

/** An OAP peer (bench/oap-peer.ts: decodes and counts every metric) on host:port. */
class PeerChild {
  readonly proc: ChildProcess;
  readonly ready: Promise<number>;
  private waiting: ((s: ChildStats) => void)[] = [];
  constructor(host: string, port: number) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'oap-peer.ts'), '--host', host, '--port', String(port)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: REPO });
    this.ready = new Promise((resolve, reject) => {
      this.proc.on('message', (m: ChildMessage) => (m.type === 'ready' ? resolve(m.port) : this.waiting.shift()?.(m)));
      this.proc.once('exit', (code) => reject(new Error(`OAP peer exited (${code}) before it was ready`)));
    });
  }
  delivered(): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push((s) => resolve(s.delivered));
      this.proc.send({ type: 'poll', final: false } satisfies DriverMessage);
    });
  }
  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

/** A port free on every host. */
async function sharedFreePort(hosts: string[]): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer().once('error', reject).listen(0, hosts[0], () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const free = await Promise.all(hosts.slice(1).map((host) => new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false)).listen(port, host, () => srv.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return port;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)} %` : '-');
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

interface Sample { t: number; streams: number[]; rates: number[] }

/** Mean streams and entries/s per replica over samples with t in [from, to). */
function phase(samples: Sample[], from: number, to: number, replicas: number) {
  const xs = samples.filter((s) => s.t >= from && s.t < to);
  const streams = Array.from({ length: replicas }, (_, i) => mean(xs.map((s) => s.streams[i] ?? 0)));
  const rates = Array.from({ length: replicas }, (_, i) => mean(xs.map((s) => s.rates[i] ?? 0)));
  return { streams, rates, total: rates.reduce((a, b) => a + b, 0) };
}

// ---- (1) ALS: receivers added under a live replay ----

async function alsPart(s: Settings): Promise<string> {
  const port = await sharedFreePort(HOSTS);
  const args = (host: string) => ['--listen', `${host}:${port}`, '--sink', 'memory',
    '--max-connection-age-ms', String(s.ageMs), '--max-connection-age-grace-ms', String(s.graceMs)];
  const receivers = [new ReceiverChild(args(HOSTS[0]!))];
  await receivers[0]!.adminPort;
  const replayer = new Replayer({
    target: `ipv4:${HOSTS.map((h) => `${h}:${port}`).join(',')}`, seed: 1, rate: s.rate,
    // A replica that comes up is tried again within a second (the default backoff grows to 120 s).
    channelOptions: { 'grpc.service_config': PICK_FIRST },
    // A new connection for each stream a sidecar opens, to a random replica that is up, as kube-proxy (a
    // ClusterIP) or the internal load balancer (VMs) place connections. Connections, and so their ages,
    // are per sidecar. (grpc-js's round_robin would be another view, but it restarts at the first replica
    // of its list whenever a connection reconnects, which each GOAWAY makes it do: the list order wins.)
    channelPerSidecar: (id, opened) => `ipv4:${shuffledList(HOSTS.map((h) => `${h}:${port}`), `${id}#${opened}`).join(',')}`,
  });
  const sidecars = replayer.traffic.sidecars.length;
  const t0 = Date.now();
  replayer.start();
  const samples: Sample[] = [];
  const added: number[] = [0];
  const last: number[] = [];
  const total = (2 * s.stepS + s.tailS) * 1000;
  const rebalanced: number[] = [];
  try {
    while (Date.now() - t0 < total) {
      await sleep(1000 - ((Date.now() - t0) % 1000));
      const t = Math.round((Date.now() - t0) / 1000);
      if (receivers.length < 3 && t >= receivers.length * s.stepS) {
        receivers.push(new ReceiverChild(args(HOSTS[receivers.length]!)));
        added.push(t);
        console.log(`t=${t}s: receiver ${receivers.length} starts on ${HOSTS[receivers.length - 1]}`);
      }
      const m = await Promise.all(receivers.map((r) => r.adminPort.then(() => r.metrics()).catch(() => undefined)));
      const streams = m.map((x) => x?.receiver_als_active_streams ?? 0);
      const received = m.map((x) => x?.receiver_als_entries_received_total ?? 0);
      const rates = received.map((n, i) => n - (last[i] ?? 0));
      received.forEach((n, i) => (last[i] = n));
      samples.push({ t, streams, rates });
      console.log(`t=${t}s streams ${streams.join('/')} entries/s ${rates.join('/')}`);
    }
  } finally {
    const stats = await replayer.stop();
    await sleep(500);
    const m = await Promise.all(receivers.map((r) => r.metrics()));
    rebalanced.push(...m.map((x) => x.receiver_als_streams_rebalanced_total ?? 0));
    const received = m.reduce((n, x) => n + (x.receiver_als_entries_received_total ?? 0), 0);
    const sent = stats.httpEntries + stats.tcpEntries;
    const exits = await Promise.all(receivers.map((r) => r.stop()));
    return alsReport(s, { samples, added, sidecars, sent, received, rebalanced, streamsOpened: stats.streamsOpened, streamErrors: stats.streamErrors, exits });
  }
}

function alsReport(s: Settings, r: {
  samples: Sample[]; added: number[]; sidecars: number; sent: number; received: number; rebalanced: number[];
  streamsOpened: number; streamErrors: number; exits: (number | null)[];
}): string {
  const end = r.samples.at(-1)!.t + 1;
  const [, t2, t3] = r.added as [number, number, number];
  const phases = [
    { name: '1 replica (before scale-out)', replicas: 1, ...phase(r.samples, 5, t2, 1) },
    { name: `2 replicas, last ${Math.min(10, t3 - t2)} s before the third`, replicas: 2, ...phase(r.samples, t3 - Math.min(10, t3 - t2), t3, 2) },
    { name: `3 replicas, first 10 s after the third started`, replicas: 3, ...phase(r.samples, t3, t3 + 10, 3) },
    { name: '3 replicas, last 10 s of the run', replicas: 3, ...phase(r.samples, end - 10, end, 3) },
  ];
  const lines = [
    '| phase | streams per replica (mean) | entries/s per replica (mean) | share of entries/s |',
    '|---|---|---|---|',
    ...phases.map((p) => `| ${p.name} | ${p.streams.map((x) => x.toFixed(1)).join(' / ')} | ${p.rates.map(fmt).join(' / ')} | ${p.rates.map((x) => pct(x, p.total)).join(' / ')} |`),
  ];
  // A replica has its share once it holds at least floor(sidecars / replicas) streams.
  const evened = r.added.slice(1).map((at, k) => {
    const replicas = k + 2;
    const fair = Math.floor(r.sidecars / replicas);
    const hit = r.samples.find((x) => x.t >= at && (x.streams[replicas - 1] ?? 0) >= fair && (replicas === 3 || x.t < t3));
    const all = r.samples.find((x) => x.t >= at && x.streams.slice(0, replicas).every((n) => n >= fair) && (replicas === 3 || x.t < t3));
    return `receiver ${replicas} (started at ${at} s): holds its share (≥ ${fair} of ${r.sidecars} streams) after ${hit ? `${hit.t - at} s` : 'never, within the phase'}; ` +
      `every replica at ≥ ${fair} after ${all ? `${all.t - at} s` : 'never, within the phase'}`;
  });
  const timeline = ['| t (s) | streams per replica | entries/s per replica |', '|---:|---|---|',
    ...r.samples.filter((x) => x.t % 5 === 0).map((x) => `| ${x.t} | ${x.streams.join(' / ')} | ${x.rates.map(fmt).join(' / ')} |`)];
  const bound = (s.ageMs * 1.1 + s.graceMs) / 1000;
  return [
    `Settings (ALS): ${r.sidecars} sidecars (one stream each; each new stream on a new connection to a random replica that is up), replay rate ${s.rate} user actions/s, receivers added at ${r.added.join(' s, ')} s, ` +
      `--max-connection-age-ms ${s.ageMs}, --max-connection-age-grace-ms ${s.graceMs} (age × 1.1 + grace = ${bound} s), memory sink`,
    '',
    ...lines,
    '',
    ...evened.map((e) => `- ${e}`),
    `- entries sent ${fmt(r.sent)}, received ${fmt(r.received)} (lost ${fmt(r.sent - r.received)}); streams opened ${r.streamsOpened}, ` +
      `ended with an error ${r.streamErrors}, moved by the receivers (rebalanced) ${r.rebalanced.join(' + ')}; exit codes ${r.exits.join(', ')}`,
    '',
    '<details><summary>Timeline (every 5 s)</summary>',
    '',
    ...timeline,
    '',
    '</details>',
  ].join('\n');
}

// ---- (2) OAP: a second OAP peer comes up ----

async function oapPart(s: Settings): Promise<string> {
  const port = await sharedFreePort(HOSTS.slice(0, 2));
  const peers = [new PeerChild(HOSTS[0]!, port)];
  await peers[0]!.ready;
  const receiver = new ReceiverChild(['--listen', '127.0.0.1:0', '--sink', 'oap', '--oap-address', `ipv4:${HOSTS.slice(0, 2).map((h) => `${h}:${port}`).join(',')}`]);
  const replayer = new Replayer({ target: `127.0.0.1:${await receiver.grpcPort}`, seed: 2, rate: s.rate });
  const t0 = Date.now();
  replayer.start();
  const samples: Sample[] = [];
  const last: number[] = [];
  let addedAt = 0;
  try {
    while (Date.now() - t0 < 3 * s.oapStepS * 1000) {
      await sleep(1000 - ((Date.now() - t0) % 1000));
      const t = Math.round((Date.now() - t0) / 1000);
      if (peers.length < 2 && t >= s.oapStepS) {
        peers.push(new PeerChild(HOSTS[1]!, port));
        await peers[1]!.ready;
        addedAt = t;
        console.log(`t=${t}s: OAP peer 2 up on ${HOSTS[1]}`);
      }
      const delivered = await Promise.all(peers.map((p) => p.delivered()));
      const rates = delivered.map((n, i) => n - (last[i] ?? 0));
      delivered.forEach((n, i) => (last[i] = n));
      samples.push({ t, streams: [], rates });
      console.log(`t=${t}s metrics/s per OAP peer ${rates.join('/')}`);
    }
  } finally {
    await replayer.stop();
    await sleep(2500); // the sink's last partial batch
    const m = await receiver.metrics();
    const delivered = (await Promise.all(peers.map((p) => p.delivered()))).reduce((a, b) => a + b, 0);
    await receiver.stop();
    for (const p of peers) p.stop();
    const end = samples.at(-1)!.t + 1;
    const before = phase(samples, 3, addedAt, 2);
    const after = phase(samples, end - 10, end, 2);
    const even = samples.find((x) => x.t > addedAt && (x.rates[1] ?? 0) >= 0.4 * ((x.rates[0] ?? 0) + (x.rates[1] ?? 0)));
    return [
      `Settings (OAP): one receiver, oap sink, target \`ipv4:127.0.0.2:P,127.0.0.3:P\` (round_robin), replay rate ${s.rate} user actions/s; OAP peer 2 up at ${addedAt} s`,
      '',
      '| phase | metrics/s per OAP peer (mean) | share |',
      '|---|---|---|',
      `| peer 1 only (peer 2 down) | ${before.rates.map(fmt).join(' / ')} | ${before.rates.map((x) => pct(x, before.total)).join(' / ')} |`,
      `| both peers, last 10 s | ${after.rates.map(fmt).join(' / ')} | ${after.rates.map((x) => pct(x, after.total)).join(' / ')} |`,
      '',
      `- peer 2 takes ≥ 40 % of a second's metrics ${even ? `${even.t - addedAt} s after it came up` : 'never, within the run'} (the channel's reconnect backoff to an address that was down, up to the sink's 30 s)`,
      `- metrics produced ${fmt(m.receiver_mesh_metrics_produced_total ?? 0)}, forwarded ${fmt(m.receiver_mesh_metrics_forwarded_total ?? 0)}, at the peers ${fmt(delivered)}, dropped ${fmt(m.receiver_mesh_metrics_dropped_total ?? 0)}, failed calls ${fmt(m.receiver_sink_delivery_failures_total ?? 0)}`,
    ].join('\n');
  }
}

// ---- report ----

function machine(): string {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return `node ${process.version}, ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}`;
}

function writeBlock(name: string, body: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const text = fs.readFileSync(BENCHMARKS_MD, 'utf8');
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${BENCHMARKS_MD} has no ${begin} … ${end} block to fill`);
  fs.writeFileSync(BENCHMARKS_MD, text.slice(0, i + begin.length) + '\n' + body + '\n' + text.slice(j));
}

async function main(): Promise<void> {
  const s = flags();
  const parts: string[] = [];
  if (s.parts.includes('als')) parts.push(await alsPart(s));
  if (s.parts.includes('oap')) parts.push(await oapPart(s));
  const report = [`Command: \`${['npm run bench --', ...process.argv.slice(2)].join(' ')}\``, '', `Date: ${new Date().toISOString()}`, '',
    `Machine: ${machine()}`, '', ...parts.flatMap((p) => [p, ''])].join('\n').trimEnd();
  console.log(`\n${report}\n`);
  if (s.write) {
    writeBlock('scale', report);
    console.log(`written to ${path.relative(process.cwd(), BENCHMARKS_MD)}`);
  }
}

main().catch((err) => {
  console.error((err as Error).stack ?? err);
  process.exit(1);
});
