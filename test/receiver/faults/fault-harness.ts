// Pieces the fault and fuzz tests share: an OAP peer that answers slowly and remembers every metric it
// was sent (duplicates included), /metrics read the way Prometheus reads it, and sidecar traffic whose
// every entry is told apart by its path.
import * as grpc from '@grpc/grpc-js';
import { meshMetricServiceDefinition, type ServiceMeshMetricsWire } from '../../../receiver/src/sinks/skywalking-protos';
import type { HttpAccessLogEntry } from '../../../receiver/src/als/envoy-protos';
import { httpCall, pod, type WorkloadSpec } from '../../fixtures/mesh-fixtures';

/** ServiceMeshMetricService/collect answering each call `delayMs` after it ended; keeps every endpoint it got. */
export class SlowOap {
  readonly endpoints: string[] = [];
  calls = 0;
  /** When the last metric arrived (Date.now()). */
  lastArrivalAt = 0;
  private server: grpc.Server | undefined;
  constructor(private readonly delayMs: number) {}

  async start(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = new grpc.Server();
    this.server.addService(meshMetricServiceDefinition(), {
      collect: (call: grpc.ServerReadableStream<ServiceMeshMetricsWire, object>, cb: grpc.sendUnaryData<object>) => {
        this.calls++;
        const got: string[] = [];
        call.on('data', (m: ServiceMeshMetricsWire) => { for (const x of m.httpMetrics?.metrics ?? []) got.push(x.endpoint); });
        call.on('end', () => setTimeout(() => { this.endpoints.push(...got); this.lastArrivalAt = Date.now(); cb(null, {}); }, this.delayMs));
        call.on('error', () => undefined);
      },
    });
    return new Promise((resolve, reject) =>
      this.server!.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  }

  stop(): void {
    this.server?.forceShutdown();
  }

  /** Endpoints received more than once. */
  duplicates(): string[] {
    const seen = new Set<string>();
    return this.endpoints.filter((e) => (seen.has(e) ? true : (seen.add(e), false)));
  }
}

/** One sample of the receiver's /metrics: `value('name', { label: 'x' })` sums the matching series. */
export class Scrape {
  constructor(readonly text: string) {}
  value(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    let found = false;
    for (const line of this.text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) { sum += Number(m[3]); found = true; }
    }
    // A labelled metric has no series until first set: zero, as long as the metric itself exists.
    if (!found && !this.text.includes(`# TYPE ${name} `)) throw new Error(`no metric ${name} in /metrics`);
    return sum;
  }
  dropped(): number {
    return this.value('receiver_mesh_metrics_dropped_total');
  }
}

export async function scrape(adminPort: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return new Scrape(await res.text());
}

export const FRONTEND: WorkloadSpec = pod('frontend', 'boutique');
export const CATALOG: WorkloadSpec = pod('productcatalogservice', 'boutique');

/** `count` client-side entries of frontend → productcatalog, with paths `/${tag}/0` … (one metric each). */
export function taggedEntries(tag: string, count: number): HttpAccessLogEntry[] {
  return Array.from({ length: count }, (_, i) => httpCall(FRONTEND, CATALOG, { path: `/${tag}/${i}` }).client);
}
