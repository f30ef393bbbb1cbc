// `npm run bench`: the receiver under load, side by side with the limit, in one run.
//   (a0) raw   - a grpc-js server that takes each message as raw bytes and discards it (transport alone);
//   (a) noop   - a grpc-js server that only decodes (same Envoy protos, same decoder) and discards;
//   (b) oap    - the receiver, oap sink, feeding a counting OAP-side peer in another process;
//   (c) memory - the receiver, memory sink.
// Placement on 2 cores: the process under test (noop server or receiver) alone on CPU 1; this driver
// (the load generator: pre-encoded messages, so it is cheap) and the OAP peer share CPU 0.
// It runs under the Node package.json's engines names (bench-node.ts) and says which; --nodes runs the
// process under test under other Nodes too, alternating, for side-by-side runtime comparisons.
// Results go to BENCHMARKS.md between the bench markers only with --write.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { ChildMessage, ChildStats, DriverMessage } from './ipc';
import { LatencyHistogram } from './latency';
import { StreamTraffic, type TrafficOptions } from './traffic';
import { requireEnginesNode } from './bench-node';

const { alsServiceDefinition } = require('../dist/als/envoy-protos') as typeof import('../src/als/envoy-protos');

const MODES = ['raw', 'noop', 'oap', 'memory'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  raw: '(a0) transport only: raw bytes discarded',
  noop: '(a) no-op decode-and-discard server', oap: '(b) receiver → oap sink → OAP peer', memory: '(c) receiver → memory sink',
};

const REPO = path.resolve(__dirname, '..', '..');
const BENCHMARKS_MD = path.join(REPO, 'BENCHMARKS.md');

/** Every flag: its parseArgs type, default and what it does (printed by --help). */
const OPTIONS = {
  entries: { type: 'string', default: '300000', help: 'entries per run; from 1,000,000 on it is a soak: one run per setup and an RSS curve' },
  runs: { type: 'string', default: '3', help: 'runs per setup (setups alternate within each run)' },
  streams: { type: 'string', default: '4', help: 'sidecar streams, each on its own HTTP/2 connection' },
  batch: { type: 'string', default: '50', help: 'entries per ALS message' },
  'tcp-share': { type: 'string', default: '0.2', help: 'share of messages that carry TCP entries, 0..1' },
  modes: { type: 'string', default: MODES.join(','), help: `setups to run: ${MODES.join(', ')} ((a0), (a), (b), (c))` },
  nodes: { type: 'string', default: '', help: 'Node binaries the process under test runs under, comma-separated, alternating in each run (default: this Node, the engines\' one); e.g. /usr/bin/node,$(command -v node) to compare runtimes side by side' },
  'queue-capacity': { type: 'string', default: '50000', help: 'the receiver\'s --queue-capacity' },
  'oap-batch-size': { type: 'string', default: '500', help: 'the receiver\'s --batch-size (metrics per OAP batch)' },
  // 1 MiB is grpc-java/Netty's default, what a real OAP grants.
  'oap-peer-window': { type: 'string', default: String(1 << 20), help: 'the OAP peer\'s HTTP/2 windows in bytes (65535: a grpc-js peer\'s)' },
  'cpu-prof': { type: 'boolean', default: false, help: 'V8 CPU profiles of the receiver under receiver/bench/profiles/ (read with profile-summary.ts)' },
  // From two runs of --entries and 4x that: the difference leaves out startup and warm-up. Independent of other load.
  callgrind: { type: 'boolean', default: false, help: 'instructions per entry of the process under test, counted by valgrind\'s callgrind' },
  block: { type: 'string', help: 'which BENCHMARKS.md block --write replaces (default: results, or soak for a soak run)' },
  write: { type: 'boolean', default: false, help: 'write the table into BENCHMARKS.md (without it, only printed)' },
  'no-write': { type: 'boolean', default: false, help: 'accepted for older command lines: printing only is the default' },
  'no-pin': { type: 'boolean', default: false, help: 'no taskset placement' },
  'target-cpus': { type: 'string', default: '1', help: 'taskset CPU list of the process under test' },
  'helper-cpus': { type: 'string', default: '0', help: 'taskset CPU list of the generator (this process) and the OAP peer' },
  workers: { type: 'string', default: '1', help: 'the receiver\'s --workers' },
  'receive-window': { type: 'string', default: String(256 * 1024), help: 'the receiver\'s and the anchors\' HTTP/2 receive window per sidecar connection, bytes (65535 for receivers older than round 3)' },
  // V8 grows its heap with the allocation rate, not the live data; capping old space keeps RSS near the
  // live set (the queue), and Node 24's V8 lets the young generation grow to 64 MiB semi-spaces (Node 20:
  // 16) unless capped (BENCHMARKS.md, round 4), and the old generation needs headroom above the young one
  // or V8 marks without pause (round 5). The Deployment runs node with the same flags.
  'receiver-node-args': { type: 'string', default: '--max-old-space-size=128 --max-semi-space-size=8 --heap-growing-percent=100', help: 'Node flags of the receiver process (space-separated; use --receiver-node-args=...)' },
  scale: { type: 'boolean', default: false, help: 'the scale-out bench instead (scale.ts; its own flags, see BENCHMARKS.md)' },
  help: { type: 'boolean', short: 'h', default: false, help: 'this list' },
} as const;

export function helpText(): string {
  const rows = Object.entries(OPTIONS).map(([name, o]) => {
    const value = o.type === 'string' ? ' VALUE' : '';
    const def = 'default' in o && o.type === 'string' && o.default !== '' ? ` (default ${o.default})` : '';
    return `  --${name}${value}\n      ${o.help}${def}`;
  });
  return ['npm run bench -- [flags]: the receiver under load beside the anchors (receiver/bench/run.ts, BENCHMARKS.md).', '', ...rows].join('\n');
}

function flags() {
  const options = Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => {
    const { help: _help, ...rest } = o;
    return [name, rest];
  })) as { [K in keyof typeof OPTIONS]: Omit<(typeof OPTIONS)[K], 'help'> };
  let values: ReturnType<typeof parseArgs<{ options: typeof options; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${helpText()}`);
  }
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
    cpuProf: Boolean(values['cpu-prof']), callgrind: Boolean(values.callgrind), write: Boolean(values.write), pin: !values['no-pin'],
    help: Boolean(values.help),
    nodes: String(values.nodes).split(',').filter(Boolean).map((n) => nodeBinary(n)),
    receiveWindow: int('receive-window', 65_535),
    targetCpus: String(values['target-cpus']), helperCpus: String(values['helper-cpus']), workers: int('workers', 1),
  };
}
type Settings = ReturnType<typeof flags>;

/** A Node the process under test can run under: its path and version. */
interface NodeBinary { path: string; version: string }

function nodeBinary(p: string): NodeBinary {
  try {
    // A wrapper script (a Node with flags of its own, e.g. node24-semi16) is told apart by its name.
    const version = execFileSync(p, ['--version'], { encoding: 'utf8' }).trim();
    return { path: p, version: path.basename(p) === 'node' ? version : `${version} (${path.basename(p)})` };
  } catch (err) {
    throw new Error(`--nodes: ${p} is not a Node binary that runs: ${(err as Error).message}`);
  }
}

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

/** Set by --callgrind: the process under test runs under valgrind, its instructions counted into this directory. */
let callgrindDir: string | undefined;

function startChild(script: string, args: string[], cpu: string | undefined, nodeArgs: string[] = [], counted = false, node_ = process.execPath): Child {
  const node = [...nodeArgs, '--import', 'tsx', path.join(__dirname, script), ...args];
  // Instruction counts do not depend on other load; workers (cluster children) are counted too.
  const wrapped = counted && callgrindDir
    ? ['valgrind', '--tool=callgrind', '--trace-children=yes', '--trace-children-skip=*esbuild*', `--callgrind-out-file=${path.join(callgrindDir, 'callgrind.%p')}`, node_, ...node]
    : [node_, ...node];
  const [cmd, argv] = cpu === undefined ? [wrapped[0]!, wrapped.slice(1)] : ['taskset', ['-c', String(cpu), ...wrapped]];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: REPO });
  return new Child(proc, script);
}

/**
 * VmRSS / VmHWM of a process and its live children (the receiver's workers), in MB: what the pod's
 * memory limit sees. The peak is the sum of each process's own peak (an upper bound of the tree's).
 */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const own = { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  for (const child of childPids(pid)) {
    try {
      const c = memoryOf(child);
      own.rss += c.rss;
      own.peak += c.peak;
    } catch { /* a worker that just exited */ }
  }
  return own;
}

/** CPU seconds (user + system) a process and its live children (receiver workers) have used so far. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  let children = 0;
  for (const child of childPids(pid)) children += cpuSeconds(child);
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS + children;
}

function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
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

/** Instructions counted by callgrind in every process of the run (the target and its workers). */
function countedInstructions(dir: string): number {
  let total = 0;
  for (const f of fs.readdirSync(dir)) {
    const m = /^(?:summary|totals): (\d+)/m.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
    if (!m) throw new Error(`${f}: no instruction total (did valgrind finish?)`);
    total += Number(m[1]);
  }
  return total;
}

// ---- one run ----

interface RunResult {
  mode: Mode;
  /** The Node version the process under test ran under. */
  node: string; entries: number; delivered: number; seconds: number; entriesPerSecond: number; latency: LatencyHistogram;
  rss: { start: number; end: number; max: number; peak: number; curve: [number, number][] };
  /** Share of one core used by the process under test, by the OAP peer, by this driver (the generator). */
  cpu: { target: number; peer: number; generator: number };
  totals?: ChildStats['totals'];
  memory?: ChildStats['memory'];
  /** Share of the run the target's event loop was busy; the rest it waited for I/O (NaN with workers). */
  loopBusy: number;
}

async function runOnce(mode: Mode, s: Settings, run: number, node: NodeBinary = { path: process.execPath, version: process.version }): Promise<RunResult> {
  const testCpu = s.pin ? s.targetCpus : undefined;
  const helperCpu = s.pin ? s.helperCpus : undefined;
  const profArgs = [...s.receiverNodeArgs, ...(s.cpuProf && mode !== 'noop' && mode !== 'raw'
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(__dirname, 'profiles', `${mode}-${run}`)}`] : [])];
  const children: Child[] = [];
  try {
    // No connection ageing: the generator is not an Envoy and opens no new stream when one is ended (a
    // soak longer than the age, 5 min, would lose its streams).
    const receiverFlags = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'error', '--max-connection-age-ms', '0',
      '--queue-capacity', String(s.queueCapacity), '--batch-size', String(s.oapBatchSize), ...(s.workers > 1 ? ['--workers', String(s.workers)] : []),
      // Older receivers (before/after comparisons) have no such flag and keep 64 KiB.
      ...(s.receiveWindow !== 256 * 1024 ? ['--receive-window-bytes', String(s.receiveWindow)] : [])];
    let target: Child;
    let endpoint: Child;
    // The anchors grant the receiver's window, so transport and decoding are compared on equal terms.
    const anchorWindow = s.receiveWindow > 65_535 ? ['--receive-window', String(s.receiveWindow)] : [];
    let peerPid: number | undefined;
    if (mode === 'raw') {
      target = endpoint = startChild('raw-server.ts', ['--batch', String(s.traffic.batch), ...anchorWindow], testCpu, [], true, node.path);
    } else if (mode === 'noop') {
      target = endpoint = startChild('noop-server.ts', [...anchorWindow], testCpu, [], true, node.path);
    } else if (mode === 'oap') {
      const peer = startChild('oap-peer.ts', ['--window', String(s.oapPeerWindow)], helperCpu);
      children.push(peer);
      const peerPort = await peer.ready;
      target = startChild('receiver-process.ts', [...receiverFlags, '--sink', 'oap', '--oap-address', `127.0.0.1:${peerPort}`], testCpu, profArgs, true, node.path);
      endpoint = peer;
      peerPid = peer.proc.pid;
    } else {
      target = endpoint = startChild('receiver-process.ts', [...receiverFlags, '--sink', 'memory'], testCpu, profArgs, true, node.path);
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
    const loop0 = (await target.stats()).loop;
    const sending = generate(port, traffic, perStream);
    let delivered = 0;
    let lastProgress = Date.now();
    // Done when everything arrived, or when nothing more has for a while (a receiver that dropped some:
    // its dropped column says how many; the rate is then what it delivered until its last delivery).
    while (delivered < expected && Date.now() - lastProgress < (callgrindDir ? 20 * STALL_MS : STALL_MS)) {
      // Under callgrind each poll is work counted in the target: poll seldom.
      await new Promise((r) => setTimeout(r, callgrindDir ? 1000 : 20));
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
    const targetFinal = endpoint === target ? final : await target.stats(true);
    const totals = mode === 'noop' || mode === 'raw' ? undefined : targetFinal.totals;
    // Share of the run the process under test's event loop was busy (not waiting for I/O or timers).
    const loop1 = targetFinal.loop;
    const loopBusy = loop0 && loop1 ? (loop1.active - loop0.active) / (loop1.active - loop0.active + loop1.idle - loop0.idle) : NaN;
    const mem = memoryOf(target.proc.pid!);
    const rssValues = curve.map(([, r]) => r);
    return {
      mode, node: node.version, entries: expected, delivered, seconds, entriesPerSecond: delivered / seconds,
      latency: LatencyHistogram.fromPairs(final.latency ?? []),
      rss: { start: rssValues[Math.floor(rssValues.length * 0.05)] ?? mem.rss, end: rssValues.at(-1) ?? mem.rss,
        max: Math.max(mem.rss, ...rssValues), peak: mem.peak, curve },
      cpu, totals, loopBusy, memory: mode === 'noop' || mode === 'raw' ? undefined : targetFinal.memory,
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
  // One row per setup and runtime; the ratios compare setups under the same runtime.
  const byMode = new Map<string, RunResult[]>();
  for (const r of results) byMode.set(`${r.mode} ${r.node}`, [...(byMode.get(`${r.mode} ${r.node}`) ?? []), r]);
  const manyNodes = new Set(results.map((r) => r.node)).size > 1;
  const anchor = (m: Mode, node: string) => { const rs = byMode.get(`${m} ${node}`); return rs ? median(rs.map((r) => r.entriesPerSecond)) : NaN; };
  const ratio = (eps: number, to: number) => (Number.isNaN(to) ? '-' : `${Math.round((eps / to) * 100)} %`);
  const ms = (x: number) => (Number.isNaN(x) ? '-' : `${x} ms`);
  const lines = [
    '| setup | entries/s (median) | runs | ratio to (a0) | ratio to (a) | entries per CPU-second | p50 latency | p99 latency | RSS peak | RSS start → end (max) | dropped | CPU: under test / OAP peer / generator | event loop busy |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|',
  ];
  for (const rs of byMode.values()) {
    const { mode, node } = rs[0]!;
    const [transport, limit] = [anchor('raw', node), anchor('noop', node)];
    const eps = median(rs.map((r) => r.entriesPerSecond));
    const lat = new LatencyHistogram();
    for (const r of rs) r.latency.counts.forEach((c, i) => { lat.counts[i]! += c; lat.total += c; });
    const mid = rs.find((r) => r.entriesPerSecond === eps)!;
    const dropped = rs.reduce((n, r) => n + Object.values(r.totals?.dropped ?? {}).reduce((a, b) => a + b, 0), 0);
    const perCpuSecond = median(rs.map((r) => r.entriesPerSecond / r.cpu.target));
    lines.push(`| ${MODE_LABEL[mode]}${s.workers > 1 && (mode === 'oap' || mode === 'memory') ? `, ${s.workers} workers` : ''}${manyNodes ? `, node ${node}` : ''} | ${fmt(eps)} | ${rs.map((r) => fmt(r.entriesPerSecond)).join(' / ')} | ${ratio(eps, transport)} | ${ratio(eps, limit)} | ${fmt(perCpuSecond)} | ${ms(lat.quantile(0.5))} | ${ms(lat.quantile(0.99))} | ${Math.max(...rs.map((r) => r.rss.peak)).toFixed(0)} MB | ${mid.rss.start.toFixed(0)} → ${mid.rss.end.toFixed(0)} (${mid.rss.max.toFixed(0)}) MB | ${mode === 'noop' || mode === 'raw' ? '-' : fmt(dropped)} | ${pct(mid.cpu.target)} / ${mode === 'oap' ? pct(mid.cpu.peer) : '-'} / ${pct(mid.cpu.generator)} | ${Number.isNaN(mid.loopBusy) ? '-' : pct(mid.loopBusy)} |`);
  }
  const settings = `entries per run ${fmt(results[0]!.entries)}, runs ${results.length / new Set(results.map((r) => `${r.mode} ${r.node}`)).size}, ` +
    `process under test on node ${[...new Set(results.map((r) => r.node))].join(' and ')}${new Set(results.map((r) => r.node)).size > 1 ? ' (alternating)' : ''}, generator and OAP peer on node ${process.version}, streams ${s.traffic.streams}, entries per message ${s.traffic.batch}, ` +
    `TCP share of messages ${s.traffic.tcpShare}, receiver queue capacity ${s.queueCapacity}, OAP batch size ${s.oapBatchSize}, OAP peer HTTP/2 windows ${fmt(s.oapPeerWindow)} bytes, ` +
    `receiver node flags ${s.receiverNodeArgs.join(' ') || 'none'}, ` +
    `receiver workers ${s.workers}, receiver HTTP/2 receive window ${fmt(s.receiveWindow)} bytes, ` +
    `placement ${s.pin ? `process under test on CPU ${s.targetCpus}, generator and OAP peer on CPU ${s.helperCpus} (taskset)` : 'unpinned'}`;
  return [`Command: \`${commandLine()}\``, '', `Date: ${new Date().toISOString()}`, '', `Machine: ${machine()}`, '', `Settings: ${settings}`, '', ...lines].join('\n');
}

function soakReport(results: RunResult[]): string {
  const lines = ['| setup | entries | RSS start | RSS end | RSS max | VmHWM | V8 heap max | Buffers min → max | curve (s: MB) |', '|---|---:|---:|---:|---:|---:|---:|---|---|'];
  for (const r of results) {
    if (r.mode === 'noop' || r.mode === 'raw') continue;
    const step = Math.max(1, Math.floor(r.rss.curve.length / 10));
    const curve = r.rss.curve.filter((_, i) => i % step === 0).map(([t, m]) => `${t.toFixed(0)}: ${m.toFixed(0)}`).join(', ');
    const m = r.memory;
    const heap = m ? `${m.heapTotalMax.toFixed(0)} MB` : '-';
    const buffers = m ? `${m.arrayBuffersMin.toFixed(0)} → ${m.arrayBuffersMax.toFixed(0)} MB` : '-';
    lines.push(`| ${MODE_LABEL[r.mode]}, node ${r.node} | ${fmt(r.entries)} | ${r.rss.start.toFixed(0)} MB | ${r.rss.end.toFixed(0)} MB | ${r.rss.max.toFixed(0)} MB | ${r.rss.peak.toFixed(0)} MB | ${heap} | ${buffers} | ${curve} |`);
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

/** One callgrind-counted run of `entries` entries: the instructions of the process under test. */
async function countedRun(mode: Mode, s: Settings, entries: number): Promise<number> {
  callgrindDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-callgrind-${mode}-`));
  try {
    const r = await runOnce(mode, { ...s, entries }, 1);
    if (r.delivered < r.entries) throw new Error(`${mode}: only ${r.delivered} of ${r.entries} delivered under callgrind`);
    return countedInstructions(callgrindDir);
  } finally {
    fs.rmSync(callgrindDir, { recursive: true, force: true });
    callgrindDir = undefined;
  }
}

async function instructions(s: Settings): Promise<void> {
  const lines = [
    '| setup | instructions per entry | counted at ' + fmt(s.entries) + ' entries | at ' + fmt(4 * s.entries) + ' entries |',
    '|---|---:|---:|---:|',
  ];
  for (const mode of s.modes) {
    const small = await countedRun(mode, s, s.entries);
    const large = await countedRun(mode, s, 4 * s.entries);
    const perEntry = (large - small) / (3 * s.entries);
    console.log(`${mode}: ${fmt(perEntry)} instructions per entry (${fmt(small)} / ${fmt(large)})`);
    lines.push(`| ${MODE_LABEL[mode]}${s.workers > 1 && (mode === 'oap' || mode === 'memory') ? `, ${s.workers} workers` : ''} | ${fmt(perEntry)} | ${fmt(small)} | ${fmt(large)} |`);
  }
  const report = [`Command: \`${commandLine()}\``, '', `Date: ${new Date().toISOString()}`, '', `Machine: ${machine()}`, '',
    `Settings: streams ${s.traffic.streams}, entries per message ${s.traffic.batch}, TCP share of messages ${s.traffic.tcpShare}, receiver node flags ${s.receiverNodeArgs.join(' ') || 'none'}, receiver workers ${s.workers}; instructions of every thread of the process under test (and its workers), counted by valgrind --tool=callgrind`,
    '', ...lines].join('\n');
  console.log(`\n${report}\n`);
  if (s.write) writeBlock(s.block ?? 'instructions', report);
}

async function main(): Promise<void> {
  const s = flags();
  if (s.help) {
    console.log(helpText());
    return;
  }
  requireEnginesNode();
  console.log(`bench: driver on node ${process.version} (${process.execPath}), the Node package.json engines names; ` +
    `process under test on ${s.nodes.length ? s.nodes.map((n) => `node ${n.version} (${n.path})`).join(', ') : `node ${process.version}`}`);
  const nodes = s.nodes.length ? s.nodes : [{ path: process.execPath, version: process.version }];
  if (s.pin) execFileSync('taskset', ['-cp', s.helperCpus, String(process.pid)], { stdio: 'ignore' });
  if (s.callgrind) return instructions(s);
  const soak = s.entries >= 1_000_000;
  const results: RunResult[] = [];
  for (let run = 1; run <= (soak ? 1 : s.runs); run++) {
    for (const mode of s.modes) for (const node of nodes) {
      const r = await runOnce(mode, s, run, node);
      results.push(r);
      const t = r.totals;
      console.log(`${mode} node ${node.version} run ${run}: ${fmt(r.entriesPerSecond)} entries/s, ${fmt(r.delivered)} of ${fmt(r.entries)} delivered, ${r.seconds.toFixed(1)} s, p50 ${r.latency.quantile(0.5)} ms, p99 ${r.latency.quantile(0.99)} ms, ` +
        `RSS peak ${r.rss.peak.toFixed(0)} MB, loop busy ${Number.isNaN(r.loopBusy) ? '-' : pct(r.loopBusy)}, CPU target ${pct(r.cpu.target)} peer ${pct(r.cpu.peer)} generator ${pct(r.cpu.generator)}${t ? `, received ${t.received} forwarded ${t.forwarded} dropped ${JSON.stringify(t.dropped)} pauses ${t.pauses}` : ''}`);
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
  requireEnginesNode();
  require('./scale');
} else {
  main().catch((err) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
