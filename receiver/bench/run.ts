// `npm run bench`: the receiver under load, side by side with the limit, in one run.
//   (a) noop   - a grpc-js server that only decodes (same Envoy protos, same decoder) and discards;
//   (b) oap    - the receiver, oap sink, feeding a counting OAP-side peer in another process;
//   (c) memory - the receiver, memory sink.
// Placement on 2 cores: the process under test (noop server or receiver) alone on CPU 1; this driver
// (the load generator: pre-encoded messages, so it is cheap) and the OAP peer share CPU 0.
// Results go to BENCHMARKS.md between the bench markers (--no-write leaves it alone).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { ChildMessage, ChildStats, DriverMessage } from './ipc';
import { LatencyHistogram } from './latency';
import { StreamTraffic, type TrafficOptions } from './traffic';

const { alsServiceDefinition } = require('../dist/envoy-protos') as typeof import('../src/envoy-protos');

const MODES = ['noop', 'oap', 'memory'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  noop: '(a) no-op decode-and-discard server', oap: '(b) receiver → oap sink → OAP peer', memory: '(c) receiver → memory sink',
};

const REPO = path.resolve(__dirname, '..', '..');
const BENCHMARKS_MD = path.join(REPO, 'BENCHMARKS.md');

function flags() {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '300000' }, runs: { type: 'string', default: '3' },
      streams: { type: 'string', default: '4' }, batch: { type: 'string', default: '50' },
      'tcp-share': { type: 'string', default: '0.2' }, modes: { type: 'string', default: MODES.join(',') },
      'queue-capacity': { type: 'string', default: '50000' }, 'oap-batch-size': { type: 'string', default: '500' },
      // The OAP peer's HTTP/2 windows: 1 MiB is grpc-java/Netty's default, what a real OAP grants.
      'oap-peer-window': { type: 'string', default: String(1 << 20) },
      'cpu-prof': { type: 'boolean', default: false },
      /** Which BENCHMARKS.md block the table replaces (default: results, or soak for a soak run). */
      block: { type: 'string' }, 'no-write': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      // V8 grows its heap with the allocation rate, not the live data; capping old space keeps RSS near the
      // live set (the queue) at no cost in throughput here. Deployments should set the same (NODE_OPTIONS).
      'receiver-node-args': { type: 'string', default: '--max-old-space-size=128' },
    },
    strict: true,
  });
  const int = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: invalid value ${JSON.stringify(values[name])}; allowed: a whole number >= ${min}`);
    return n;
  };
  const tcpShare = Number(values['tcp-share']);
  if (!(tcpShare >= 0 && tcpShare <= 1)) throw new Error(`--tcp-share: invalid value ${JSON.stringify(values['tcp-share'])}; allowed: 0..1`);
  const modes = String(values.modes).split(',') as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes: unknown mode ${JSON.stringify(m)}; allowed: ${MODES.join(', ')}`);
  return {
    entries: int('entries', 1), runs: int('runs', 1), modes,
    traffic: { streams: int('streams', 1), batch: int('batch', 1), tcpShare, templates: 5 } satisfies TrafficOptions,
    queueCapacity: int('queue-capacity', 1), oapBatchSize: int('oap-batch-size', 1),
    oapPeerWindow: int('oap-peer-window', 65_535),
    receiverNodeArgs: String(values['receiver-node-args']).split(' ').filter(Boolean),
    block: values.block as string | undefined,
    cpuProf: Boolean(values['cpu-prof']), write: !values['no-write'], pin: !values['no-pin'],
  };
}
type Settings = ReturnType<typeof flags>;

// ---- child processes ----

class Child {
  private waiting: ((s: ChildStats) => void)[] = [];
  readonly ready: Promise<number>;
  readonly exited: Promise<void>;
  constructor(readonly proc: ChildProcess, readonly name: string) {
    this.ready = new Promise((resolve, reject) => {
      proc.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') resolve(m.port);
        else this.waiting.shift()?.(m);
      });
      proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    });
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }
  stats(final = false): Promise<ChildStats> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.send({ type: 'poll', final } satisfies DriverMessage);
    });
  }
  async stop(): Promise<void> {
    this.proc.kill('SIGTERM');
    await this.exited;
  }
}

function startChild(script: string, args: string[], cpu: number | undefined, nodeArgs: string[] = []): Child {
  const node = [...nodeArgs, '--import', 'tsx', path.join(__dirname, script), ...args];
  const [cmd, argv] = cpu === undefined ? [process.execPath, node] : ['taskset', ['-c', String(cpu), process.execPath, ...node]];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: REPO });
  return new Child(proc, script);
}

/** VmRSS / VmHWM of a process, in MB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

// ---- the load generator ----

/** Streams `messagesPerStream` messages of each stream as fast as gRPC flow control lets it. */
async function generate(port: number, traffic: StreamTraffic[], messagesPerStream: number): Promise<void> {
  const method = alsServiceDefinition().StreamAccessLogs!;
  // Each sidecar has its own HTTP/2 connection to the receiver, as each Envoy does.
  const clients = traffic.map(() => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  const refresher = setInterval(() => { const now = Date.now(); for (const t of traffic) t.refresh(now); }, REFRESH_MS);
  try {
    await Promise.all(traffic.map((t, i) => new Promise<void>((resolve, reject) => {
      const call = clients[i]!.makeClientStreamRequest(method.path, (b: Buffer) => b, () => ({}),
        (err) => (err ? reject(new Error(`ALS stream failed: ${err.message}`)) : resolve()));
      let sent = 0;
      call.write(t.hello());
      const pump = () => {
        while (sent < messagesPerStream) {
          sent++;
          if (!call.write(t.take())) { call.once('drain', pump); return; }
        }
        call.end();
      };
      pump();
    })));
  } finally {
    clearInterval(refresher);
    for (const c of clients) c.close();
  }
}
const REFRESH_MS = 100;
const STALL_MS = 5000;

// ---- one run ----

interface RunResult {
  mode: Mode; entries: number; delivered: number; seconds: number; entriesPerSecond: number; latency: LatencyHistogram;
  rss: { start: number; end: number; max: number; peak: number; curve: [number, number][] };
  /** Share of one core used by the process under test, by the OAP peer, by this driver (the generator). */
  cpu: { target: number; peer: number; generator: number };
  totals?: ChildStats['totals'];
}

async function runOnce(mode: Mode, s: Settings, run: number): Promise<RunResult> {
  const testCpu = s.pin ? 1 : undefined;
  const helperCpu = s.pin ? 0 : undefined;
  const profArgs = [...s.receiverNodeArgs, ...(s.cpuProf && mode !== 'noop'
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(__dirname, 'profiles', `${mode}-${run}`)}`] : [])];
  const children: Child[] = [];
  try {
    const receiverFlags = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'error',
      '--queue-capacity', String(s.queueCapacity), '--batch-size', String(s.oapBatchSize)];
    let target: Child;
    let endpoint: Child;
    let peerPid: number | undefined;
    if (mode === 'noop') {
      target = endpoint = startChild('noop-server.ts', [], testCpu);
    } else if (mode === 'oap') {
      const peer = startChild('oap-peer.ts', ['--window', String(s.oapPeerWindow)], helperCpu);
      children.push(peer);
      const peerPort = await peer.ready;
      target = startChild('receiver-process.ts', [...receiverFlags, '--sink', 'oap', '--oap-address', `127.0.0.1:${peerPort}`], testCpu, profArgs);
      endpoint = peer;
      peerPid = peer.proc.pid;
    } else {
      target = endpoint = startChild('receiver-process.ts', [...receiverFlags, '--sink', 'memory'], testCpu, profArgs);
    }
    children.push(target);
    const port = await target.ready;
    const traffic = Array.from({ length: s.traffic.streams }, (_, i) => new StreamTraffic(i, s.traffic));
    const perStream = Math.ceil(s.entries / (s.traffic.streams * s.traffic.batch));
    const expected = perStream * s.traffic.streams * s.traffic.batch;

    const curve: [number, number][] = [];
    const cpu0 = { target: cpuSeconds(target.proc.pid!), peer: peerPid ? cpuSeconds(peerPid) : 0, generator: process.cpuUsage() };
    const t0 = Date.now();
    const sampler = setInterval(() => curve.push([(Date.now() - t0) / 1000, memoryOf(target.proc.pid!).rss]), 250);
    const sending = generate(port, traffic, perStream);
    let delivered = 0;
    let lastProgress = Date.now();
    // Done when everything arrived, or when nothing more has for a while (a receiver that dropped some:
    // its dropped column says how many; the rate is then what it delivered until its last delivery).
    while (delivered < expected && Date.now() - lastProgress < STALL_MS) {
      await new Promise((r) => setTimeout(r, 20));
      const d = (await endpoint.stats()).delivered;
      if (d > delivered) lastProgress = Date.now();
      delivered = d;
    }
    const seconds = (lastProgress - t0) / 1000;
    const generatorCpu = process.cpuUsage(cpu0.generator);
    const cpu = {
      target: (cpuSeconds(target.proc.pid!) - cpu0.target) / seconds,
      peer: peerPid ? (cpuSeconds(peerPid) - cpu0.peer) / seconds : 0,
      generator: (generatorCpu.user + generatorCpu.system) / 1e6 / seconds,
    };
    clearInterval(sampler);
    await sending;
    const final = await endpoint.stats(true);
    const totals = mode === 'noop' ? undefined : (await target.stats(true)).totals;
    const mem = memoryOf(target.proc.pid!);
    const rssValues = curve.map(([, r]) => r);
    return {
      mode, entries: expected, delivered, seconds, entriesPerSecond: delivered / seconds,
      latency: LatencyHistogram.fromPairs(final.latency ?? []),
      rss: { start: rssValues[Math.floor(rssValues.length * 0.05)] ?? mem.rss, end: rssValues.at(-1) ?? mem.rss,
        max: Math.max(mem.rss, ...rssValues), peak: mem.peak, curve },
      cpu, totals,
    };
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}

// ---- report ----

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]!; };
const pct = (x: number) => `${Math.round(x * 100)} %`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function machine(): string {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return `node ${process.version}, ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}`;
}

function table(results: RunResult[], s: Settings): string {
  const byMode = new Map<Mode, RunResult[]>();
  for (const r of results) byMode.set(r.mode, [...(byMode.get(r.mode) ?? []), r]);
  const noop = byMode.get('noop');
  const limit = noop ? median(noop.map((r) => r.entriesPerSecond)) : NaN;
  const lines = [
    '| setup | entries/s (median) | runs | ratio to (a) | p50 latency | p99 latency | receiver RSS peak | RSS start → end (max) | dropped | CPU: under test / OAP peer / generator |',
    '|---|---:|---|---:|---:|---:|---:|---|---:|---|',
  ];
  for (const [mode, rs] of byMode) {
    const eps = median(rs.map((r) => r.entriesPerSecond));
    const lat = new LatencyHistogram();
    for (const r of rs) r.latency.counts.forEach((c, i) => { lat.counts[i]! += c; lat.total += c; });
    const mid = rs.find((r) => r.entriesPerSecond === eps)!;
    const dropped = rs.reduce((n, r) => n + Object.values(r.totals?.dropped ?? {}).reduce((a, b) => a + b, 0), 0);
    lines.push(`| ${MODE_LABEL[mode]} | ${fmt(eps)} | ${rs.map((r) => fmt(r.entriesPerSecond)).join(' / ')} | ${Number.isNaN(limit) ? '-' : `${Math.round((eps / limit) * 100)} %`} | ${lat.quantile(0.5)} ms | ${lat.quantile(0.99)} ms | ${Math.max(...rs.map((r) => r.rss.peak)).toFixed(0)} MB | ${mid.rss.start.toFixed(0)} → ${mid.rss.end.toFixed(0)} (${mid.rss.max.toFixed(0)}) MB | ${mode === 'noop' ? '-' : fmt(dropped)} | ${pct(mid.cpu.target)} / ${mode === 'oap' ? pct(mid.cpu.peer) : '-'} / ${pct(mid.cpu.generator)} |`);
  }
  const settings = `entries per run ${fmt(results[0]!.entries)}, runs ${results.length / new Set(results.map((r) => r.mode)).size}, streams ${s.traffic.streams}, entries per message ${s.traffic.batch}, ` +
    `TCP share of messages ${s.traffic.tcpShare}, receiver queue capacity ${s.queueCapacity}, OAP batch size ${s.oapBatchSize}, OAP peer HTTP/2 windows ${fmt(s.oapPeerWindow)} bytes, ` +
    `receiver node flags ${s.receiverNodeArgs.join(' ') || 'none'}, ` +
    `placement ${s.pin ? 'process under test on CPU 1, generator and OAP peer on CPU 0 (taskset)' : 'unpinned'}`;
  return [`Command: \`${commandLine()}\``, '', `Date: ${new Date().toISOString()}`, '', `Machine: ${machine()}`, '', `Settings: ${settings}`, '', ...lines].join('\n');
}

function soakReport(results: RunResult[]): string {
  const lines = ['| setup | entries | RSS start | RSS end | RSS max | VmHWM | curve (s: MB) |', '|---|---:|---:|---:|---:|---:|---|'];
  for (const r of results) {
    if (r.mode === 'noop') continue;
    const step = Math.max(1, Math.floor(r.rss.curve.length / 10));
    const curve = r.rss.curve.filter((_, i) => i % step === 0).map(([t, m]) => `${t.toFixed(0)}: ${m.toFixed(0)}`).join(', ');
    lines.push(`| ${MODE_LABEL[r.mode]} | ${fmt(r.entries)} | ${r.rss.start.toFixed(0)} MB | ${r.rss.end.toFixed(0)} MB | ${r.rss.max.toFixed(0)} MB | ${r.rss.peak.toFixed(0)} MB | ${curve} |`);
  }
  return lines.join('\n');
}

function commandLine(): string {
  return ['npm run bench --', ...process.argv.slice(2)].join(' ').replace(/ --$/, '');
}

function writeBlock(name: string, body: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const text = fs.existsSync(BENCHMARKS_MD) ? fs.readFileSync(BENCHMARKS_MD, 'utf8') : '';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${BENCHMARKS_MD} has no ${begin} … ${end} block to fill`);
  fs.writeFileSync(BENCHMARKS_MD, text.slice(0, i + begin.length) + '\n' + body + '\n' + text.slice(j));
}

async function main(): Promise<void> {
  const s = flags();
  if (s.pin) execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
  const soak = s.entries >= 1_000_000;
  const results: RunResult[] = [];
  for (let run = 1; run <= (soak ? 1 : s.runs); run++) {
    for (const mode of s.modes) {
      const r = await runOnce(mode, s, run);
      results.push(r);
      const t = r.totals;
      console.log(`${mode} run ${run}: ${fmt(r.entriesPerSecond)} entries/s, ${fmt(r.delivered)} of ${fmt(r.entries)} delivered, ${r.seconds.toFixed(1)} s, p50 ${r.latency.quantile(0.5)} ms, p99 ${r.latency.quantile(0.99)} ms, ` +
        `RSS peak ${r.rss.peak.toFixed(0)} MB, CPU target ${pct(r.cpu.target)} peer ${pct(r.cpu.peer)} generator ${pct(r.cpu.generator)}${t ? `, received ${t.received} forwarded ${t.forwarded} dropped ${JSON.stringify(t.dropped)} pauses ${t.pauses}` : ''}`);
    }
  }
  const report = soak ? `${table(results, s)}\n\n${soakReport(results)}` : table(results, s);
  console.log(`\n${report}\n`);
  if (s.write) {
    writeBlock(s.block ?? (soak ? 'soak' : 'results'), report);
    console.log(`written to ${path.relative(process.cwd(), BENCHMARKS_MD)}`);
  }
}

// `npm run bench -- --scale` is the scale-out bench (scale.ts), with flags of its own.
if (process.argv.includes('--scale')) {
  require('./scale');
} else {
  main().catch((err) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
