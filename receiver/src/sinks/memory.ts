// The `memory` sink: the service topology kept in process and served as JSON by /api/topology (the
// demo page draws it). Memory is bounded: fixed-size statistics per edge side, a cap on services and
// edges (beyond it new ones are dropped as topology_full; known ones keep counting).
//
// One call is usually reported twice, by the client's sidecar (detect point client) and the server's
// (detect point server). Both reports land on the same edge (source service → dest service) and are kept
// apart under `sides`; the edge's headline numbers come from one side only, the server's when it has
// reported (it saw the real handling; latency excludes the client's network path), else the client's
// (calls to something outside the mesh are seen by the client only), else the proxy's.
//
// History (served by /api/history): each side of each edge also keeps a bounded series of recent steps
// (history.ts); a service's history is that of the headline sides of the edges into it, as for its numbers.
import { PLATFORM_PROPERTY, type DetectPoint, type MeshMetric, type Platform } from '../analysis/mesh-metric';
import type { SinkStats } from '../admin/metrics';
import { CallStats, type CallStatsState, type LatencyPercentiles } from './call-stats';
import { errorKindOf, HistoryStore, Series, type HistoryOptions, type SeriesJson, type SeriesState } from './history';
import type { Sink } from './sink';

// ---- the JSON served by /api/topology ----

/** Numbers about a set of calls. */
export interface StatsJson {
  /** Calls since the receiver started. */
  calls: number;
  /** Of those, failed: HTTP status false (code outside 200..399), TCP with an internal error code. */
  errors: number;
  /** errors / calls, 0..1 (0 when no calls). */
  errorRate: number;
  /** Calls per second over the last `windowSeconds`. */
  ratePerSecond: number;
  /** Latency percentiles in ms (about 10% precision); null when there were no calls. */
  latencyMs: LatencyPercentiles | null;
  /** TCP only: bytes received and sent by the reporting side (0 for HTTP). */
  receivedBytes: number;
  sentBytes: number;
}

export interface ServiceJson {
  /** The service name as analysis produced it (e.g. `productcatalogservice.default`); unique. */
  name: string;
  /** From the PLATFORM_PROPERTY instance property: kubernetes, vm, or unknown when never told. */
  platform: Platform;
  /** Instance names seen (at most MAX_INSTANCES_SHOWN, sorted). */
  instances: string[];
  /** Calls this service served: the headline numbers of every edge into it, summed. */
  inbound: StatsJson;
  /** Calls this service made: the headline numbers of every edge out of it, summed. */
  outbound: StatsJson;
}

export interface CallJson {
  /** `${source}->${target}`; unique. */
  id: string;
  source: string;
  target: string;
  /** Protocols seen on this edge: HTTP, gRPC, TCP. */
  protocols: string[];
  /** Which side's report the headline numbers below come from (see the note at the top of memory.ts). */
  reportedBy: DetectPoint;
  /** Headline numbers (from `reportedBy`). */
  stats: StatsJson;
  /** Every side that reported, each on its own. */
  sides: Partial<Record<DetectPoint, StatsJson>>;
}

export interface TopologyJson {
  /** ms since the epoch. */
  generatedAt: number;
  /** Width of the window behind every ratePerSecond. */
  windowSeconds: number;
  /** Sorted by name. */
  services: ServiceJson[];
  /** Sorted by id. */
  calls: CallJson[];
}

/** The JSON served by /api/history: recent steps per service (calls it served) and per call. */
export interface HistoryJson {
  /** ms since the epoch; the last step of every series is the one holding this instant. */
  generatedAt: number;
  stepSeconds: number;
  /** Length of every series below. */
  steps: number;
  /** Calls not kept in history because the cap on series (`maxSeries`) was reached. */
  droppedCalls: number;
  /** Series held, and the cap. */
  series: number;
  maxSeries: number;
  /** By service name: the calls it served (headline side of every edge into it). */
  services: Record<string, HistoryOfCalls>;
  /** By call id (as in /api/topology): the headline side. */
  calls: Record<string, HistoryOfCalls>;
}

/** Totals of one side over the whole history: a call that failed before reaching the server is seen by the client only. */
export type SideTotalsJson = Pick<SeriesJson, 'calls' | 'errors' | 'errorCodes' | 'errorFlags'>;

/** A series (headline sides, as the topology's numbers) and each side's totals, for the error breakdown. */
export interface HistoryOfCalls extends SeriesJson {
  sides: Partial<Record<DetectPoint, SideTotalsJson>>;
}

/** A sink's whole state as plain data, so the primary of a multi-worker receiver can merge its workers'. */
export interface TopologySnapshot {
  windowSeconds: number;
  history: HistoryOptions & { droppedCalls: number };
  services: { name: string; platform: Platform; instances: string[] }[];
  edges: {
    id: string; source: string; target: string; protocols: string[];
    sides: Partial<Record<DetectPoint, CallStatsState>>;
    history: Partial<Record<DetectPoint, SeriesState>>;
  }[];
}

// ---- the sink ----

export const MAX_INSTANCES_SHOWN = 200;
const PREFERENCE: readonly DetectPoint[] = ['server', 'client', 'proxy'];

export interface MemorySinkOptions {
  stats: SinkStats;
  windowSeconds?: number;
  maxServices?: number;
  maxEdges?: number;
  /** Steps, step width and the cap on series of the history (HISTORY_DEFAULTS: 15 minutes at 10 s steps). */
  history?: Partial<HistoryOptions>;
  /** Clock, in ms; tests pass their own. */
  now?: () => number;
}

interface ServiceState { name: string; platform: Platform; instances: Set<string> }
interface EdgeState {
  source: string;
  target: string;
  protocols: Set<string>;
  sides: Partial<Record<DetectPoint, CallStats>>;
  /** A side without a series here was opened past the history's cap on series. */
  history: Partial<Record<DetectPoint, Series>>;
}

export class MemorySink implements Sink {
  readonly name = 'memory' as const;
  private readonly services = new Map<string, ServiceState>();
  private readonly edges = new Map<string, EdgeState>();
  private readonly windowSeconds: number;
  private readonly maxServices: number;
  private readonly maxEdges: number;
  private readonly now: () => number;
  private readonly store: HistoryStore;
  private closed = false;

  constructor(private readonly opts: MemorySinkOptions) {
    this.windowSeconds = opts.windowSeconds ?? 60;
    this.maxServices = opts.maxServices ?? 10_000;
    this.maxEdges = opts.maxEdges ?? 20_000;
    this.now = opts.now ?? Date.now;
    this.store = new HistoryStore(opts.history);
  }

  offer(metrics: readonly MeshMetric[]): number {
    if (this.closed) {
      this.opts.stats.dropped('shutting_down', metrics.length);
      return 0;
    }
    const second = Math.floor(this.now() / 1000);
    let accepted = 0;
    for (const m of metrics) if (this.record(m, second)) accepted++;
    if (accepted < metrics.length) this.opts.stats.dropped('topology_full', metrics.length - accepted);
    this.opts.stats.forwarded(accepted);
    return accepted;
  }

  isReady(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  snapshot(): TopologySnapshot {
    return {
      windowSeconds: this.windowSeconds,
      history: { ...this.store.options, droppedCalls: this.store.dropped },
      services: [...this.services.values()].map((s) => ({ name: s.name, platform: s.platform, instances: [...s.instances] })),
      edges: [...this.edges].map(([id, e]) => ({
        id, source: e.source, target: e.target, protocols: [...e.protocols],
        sides: Object.fromEntries(Object.entries(e.sides).map(([p, c]) => [p, c.state()])),
        history: Object.fromEntries(Object.entries(e.history).map(([p, h]) => [p, h.state()])),
      })),
    };
  }

  /** Adds another sink's snapshot into this one: the same calls counted once, as if one sink had seen them all. */
  absorb(snapshot: TopologySnapshot): void {
    if (snapshot.windowSeconds !== this.windowSeconds) {
      throw new Error(`cannot merge a topology of a ${snapshot.windowSeconds}s window into one of ${this.windowSeconds}s`);
    }
    const h = this.store.options;
    if (snapshot.history.steps !== h.steps || snapshot.history.stepSeconds !== h.stepSeconds) {
      throw new Error(`cannot merge a history of ${snapshot.history.steps} steps of ${snapshot.history.stepSeconds}s into one of ${h.steps} steps of ${h.stepSeconds}s`);
    }
    this.store.dropped += snapshot.history.droppedCalls;
    for (const s of snapshot.services) {
      const mine = this.service(s.name, { [PLATFORM_PROPERTY]: s.platform });
      if (mine) for (const i of s.instances) addInstance(mine, i);
    }
    for (const e of snapshot.edges) {
      let edge = this.edges.get(e.id);
      if (!edge) {
        if (this.edges.size >= this.maxEdges) continue;
        edge = { source: e.source, target: e.target, protocols: new Set(), sides: {}, history: {} };
        this.edges.set(e.id, edge);
      }
      for (const p of e.protocols) edge.protocols.add(p);
      for (const [point, state] of Object.entries(e.history) as [DetectPoint, SeriesState][]) {
        const series = edge.history[point] ??= this.store.open();
        if (series) series.absorb(state);
        else this.store.dropped += state.calls.reduce((a, b) => a + b, 0);
      }
      for (const [point, state] of Object.entries(e.sides) as [DetectPoint, CallStatsState][]) {
        const side = (edge.sides[point] ??= new CallStats(this.windowSeconds));
        side.add(CallStats.fromState(state));
      }
    }
  }

  topology(): TopologyJson {
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    const inbound = new Map<string, CallStats>();
    const outbound = new Map<string, CallStats>();
    const sum = (into: Map<string, CallStats>, name: string, s: CallStats) => {
      let acc = into.get(name);
      if (!acc) into.set(name, (acc = new CallStats(this.windowSeconds)));
      acc.add(s);
    };
    const calls: CallJson[] = [];
    for (const [id, e] of this.edges) {
      const reportedBy = PREFERENCE.find((p) => e.sides[p])!;
      const headline = e.sides[reportedBy]!;
      sum(outbound, e.source, headline);
      sum(inbound, e.target, headline);
      const sides: Partial<Record<DetectPoint, StatsJson>> = {};
      for (const p of PREFERENCE) if (e.sides[p]) sides[p] = this.json(e.sides[p]!, second);
      calls.push({
        id, source: e.source, target: e.target, protocols: [...e.protocols].sort(),
        reportedBy, stats: sides[reportedBy]!, sides,
      });
    }
    const empty = new CallStats(1);
    const services: ServiceJson[] = [...this.services.values()].map((s) => ({
      name: s.name,
      platform: s.platform,
      instances: [...s.instances].sort().slice(0, MAX_INSTANCES_SHOWN),
      inbound: this.json(inbound.get(s.name) ?? empty, second),
      outbound: this.json(outbound.get(s.name) ?? empty, second),
    }));
    services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    calls.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { generatedAt: nowMs, windowSeconds: this.windowSeconds, services, calls };
  }

  history(): HistoryJson {
    const nowMs = this.now();
    const { steps, stepSeconds, maxSeries } = this.store.options;
    type Parts = { headline: Series[]; sides: Partial<Record<DetectPoint, Series[]>> };
    const of = (parts: Parts): HistoryOfCalls => {
      const sides: Partial<Record<DetectPoint, SideTotalsJson>> = {};
      for (const p of PREFERENCE) {
        if (!parts.sides[p]) continue;
        const { calls, errors, errorCodes, errorFlags } = Series.json(parts.sides[p]!, steps, stepSeconds, nowMs);
        sides[p] = { calls, errors, errorCodes, errorFlags };
      }
      return { ...Series.json(parts.headline, steps, stepSeconds, nowMs), sides };
    };
    const add = (parts: Parts, e: EdgeState) => {
      const headline = e.history[PREFERENCE.find((p) => e.sides[p])!];
      if (headline) parts.headline.push(headline);
      for (const [p, s] of Object.entries(e.history) as [DetectPoint, Series][]) (parts.sides[p] ??= []).push(s);
    };
    const served = new Map<string, Parts>();
    const calls: Record<string, HistoryOfCalls> = {};
    for (const id of [...this.edges.keys()].sort()) {
      const e = this.edges.get(id)!;
      if (Object.keys(e.history).length === 0) continue;
      const own: Parts = { headline: [], sides: {} };
      add(own, e);
      calls[id] = of(own);
      let into = served.get(e.target);
      if (!into) served.set(e.target, (into = { headline: [], sides: {} }));
      add(into, e);
    }
    const services: Record<string, HistoryOfCalls> = {};
    for (const name of [...this.services.keys()].sort()) services[name] = of(served.get(name) ?? { headline: [], sides: {} });
    return {
      generatedAt: nowMs, stepSeconds, steps, droppedCalls: this.store.dropped, series: this.store.series, maxSeries,
      services, calls,
    };
  }

  private json(s: CallStats, second: number): StatsJson {
    return {
      calls: s.calls,
      errors: s.errors,
      errorRate: s.calls === 0 ? 0 : s.errors / s.calls,
      ratePerSecond: s.rate(second),
      latencyMs: s.percentiles(),
      receivedBytes: s.receivedBytes,
      sentBytes: s.sentBytes,
    };
  }

  private record(m: MeshMetric, second: number): boolean {
    const source = this.service(m.sourceServiceName, m.sourceInstanceProperties);
    const target = this.service(m.destServiceName, m.destInstanceProperties);
    if (!source || !target) return false;
    addInstance(source, m.sourceServiceInstance);
    addInstance(target, m.destServiceInstance);
    const id = `${m.sourceServiceName}->${m.destServiceName}`;
    let edge = this.edges.get(id);
    if (!edge) {
      if (this.edges.size >= this.maxEdges) return false;
      edge = { source: m.sourceServiceName, target: m.destServiceName, protocols: new Set(), sides: {}, history: {} };
      this.edges.set(id, edge);
    }
    let side = edge.sides[m.detectPoint];
    if (!side) {
      side = edge.sides[m.detectPoint] = new CallStats(this.windowSeconds);
      const series = this.store.open();
      if (series) edge.history[m.detectPoint] = series;
    }
    const series = edge.history[m.detectPoint];
    const step = this.store.stepOf(second * 1000);
    if (m.kind === 'http') {
      edge.protocols.add(m.protocol);
      side.record(m.latency, !m.status, second);
      if (series) series.record(step, m.latency, errorKindOf(!m.status, m.responseCode, m.internalErrorCode));
    } else {
      edge.protocols.add('TCP');
      const failed = m.internalErrorCode !== '';
      side.record(Math.max(0, m.endTime - m.startTime), failed, second);
      if (series) series.record(step, Math.max(0, m.endTime - m.startTime), errorKindOf(failed, undefined, m.internalErrorCode));
      // Totals for a page: doubles, exact up to 2^53 bytes (the OAP sink sends each count exactly).
      side.receivedBytes += Number(m.receivedBytes);
      side.sentBytes += Number(m.sentBytes);
    }
    if (!series) this.store.dropped++;
    return true;
  }

  private service(name: string, props: Record<string, string>): ServiceState | undefined {
    let s = this.services.get(name);
    if (!s) {
      if (this.services.size >= this.maxServices) return undefined;
      s = { name, platform: 'unknown', instances: new Set() };
      this.services.set(name, s);
    }
    if (s.platform === 'unknown') {
      const p = props[PLATFORM_PROPERTY];
      if (p === 'kubernetes' || p === 'vm') s.platform = p;
    }
    return s;
  }
}

/** Instances are kept up to a bound (pods churn); only the first MAX_INSTANCES_SHOWN are served. */
function addInstance(s: ServiceState, instance: string): void {
  if (instance && s.instances.size < MAX_INSTANCES_SHOWN) s.instances.add(instance);
}
