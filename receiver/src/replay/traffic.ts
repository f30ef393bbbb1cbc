// The traffic of the hybrid Online Boutique, generated call by call from the model: one user action of the
// loadgenerator becomes the tree of calls it causes (frontend, then its callees, checkout on its VM, then
// payment on its VM, …), each call logged by both sidecars (client and server) with Envoy's timings. Pure
// and seeded: the same seed and start times give the same entries.
import type { HttpAccessLogEntry, Node, TcpAccessLogEntry } from '../als/envoy-protos';
import { type Timing, httpCall, tcpCall } from './access-logs';
import { edgeKey, type GraphService } from '@meshscope/boutique-catalog';
import { FAILURES, HYBRID_BOUTIQUE, ISTIO_RELEASES, validateModel, type BoutiqueModel, type EdgeTraffic } from './boutique-model';
import { Prng } from './prng';
import { type PeerEncoding, type WorkloadSpec, nodeOf, pod, vm } from './workloads';

/** One Envoy sidecar: its own node identity and its own ALS stream. */
export interface Sidecar {
  /** The node id, unique per sidecar. */
  id: string;
  service: string;
  workload: WorkloadSpec;
  node: Node;
  encoding: PeerEncoding;
}

/** An entry and when its sidecar logs it (the end of the call as that sidecar saw it), in ms since the epoch. */
export type LoggedEntry =
  | { sidecar: Sidecar; at: number; kind: 'http'; entry: HttpAccessLogEntry }
  | { sidecar: Sidecar; at: number; kind: 'tcp'; entry: TcpAccessLogEntry };

/** Kubernetes pod name suffixes use these characters (no vowels, no look-alikes). */
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Stable across seeds: a pod is the same pod in every replay. */
function podSuffix(text: string, length: number): string {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    out += NAME_CHARS[h % NAME_CHARS.length];
    h = Math.imul(h ^ (h >>> 13), 2654435761) >>> 0;
  }
  return out;
}

/** Every sidecar of the model: one per pod replica, one per VM; pods in the pod range, VMs in the subnet. */
export function sidecarsOf(model: BoutiqueModel): Sidecar[] {
  const out: Sidecar[] = [];
  let podHost = 10;
  let vmHost = 20;
  for (const svc of model.graph) {
    const place = model.placement[svc.name]!;
    const release = ISTIO_RELEASES[place.istio];
    for (let r = 0; r < place.replicas; r++) {
      const common = {
        port: svc.containerPort, servicePort: svc.servicePort, istioVersion: release.version, serviceAccount: svc.name,
      };
      const workload = place.platform === 'vm'
        ? vm(svc.name, model.namespace, { ...common, name: `${svc.name}-vm`, ip: `10.10.0.${vmHost++}` })
        : pod(svc.name, model.namespace, {
          ...common, name: `${svc.name}-${podSuffix(svc.name, 10)}-${podSuffix(`${svc.name}/${r}`, 5)}`,
          ip: `10.20.${1 + (podHost >> 8)}.${podHost++ & 0xff}`,
        });
      const node = nodeOf(workload);
      out.push({ id: node.id!, service: svc.name, workload, node, encoding: release.encoding });
    }
  }
  return out;
}

/** ms since the epoch (fractions kept to the nanosecond) as a protobuf Timestamp. */
export function timestampOf(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6)) };
}

/** Calls deeper than this mean a cycle in the graph. */
const MAX_DEPTH = 12;

export class BoutiqueTraffic {
  readonly sidecars: readonly Sidecar[];
  readonly model: BoutiqueModel;
  private readonly prng: Prng;
  private readonly replicas = new Map<string, Sidecar[]>();
  private readonly services = new Map<string, GraphService>();

  constructor(seed: number, model: BoutiqueModel = HYBRID_BOUTIQUE) {
    this.model = validateModel(model);
    this.prng = new Prng(seed);
    this.sidecars = sidecarsOf(model);
    for (const s of model.graph) this.services.set(s.name, s);
    for (const s of this.sidecars) {
      const list = this.replicas.get(s.service) ?? [];
      list.push(s);
      this.replicas.set(s.service, list);
    }
  }

  /** Gap to the next user action, in ms, for `rate` actions per second (Poisson arrivals). */
  nextGapMs(rate: number): number {
    return this.prng.exponential(1000 / rate);
  }

  /** One user action of the loadgenerator, starting at `startMs`: every entry every sidecar logs for it. */
  userAction(startMs: number): LoggedEntry[] {
    const out: LoggedEntry[] = [];
    const entry = this.prng.pick(this.replicas.get(this.model.entry)!);
    this.callees(entry, startMs + this.prng.between(0.1, 0.5), out, 0);
    return out;
  }

  /** The calls a sidecar's app makes while serving one request, one after another; returns when they end. */
  private callees(caller: Sidecar, startMs: number, out: LoggedEntry[], depth: number): number {
    if (depth > MAX_DEPTH) throw new Error(`calls nested deeper than ${MAX_DEPTH} at ${caller.service}: the call graph has a cycle`);
    let t = startMs;
    for (const callee of this.services.get(caller.service)!.calls) {
      const traffic = this.model.traffic[edgeKey(caller.service, callee)]!;
      for (let n = this.prng.count(traffic.perRequest); n > 0; n--) {
        t = this.call(caller, callee, traffic, t, out, depth) + this.prng.between(0.02, 0.2);
      }
    }
    return t;
  }

  /** One call: both sidecars' entries (the server's only when the request reached it); returns its end. */
  private call(caller: Sidecar, calleeName: string, traffic: EdgeTraffic, startMs: number, out: LoggedEntry[], depth: number): number {
    const callee = this.prng.pick(this.replicas.get(calleeName)!);
    const p = this.prng;
    const net = caller.workload.kind === 'vm' || callee.workload.kind === 'vm' ? p.between(0.45, 1.4) : p.between(0.15, 0.5);
    const failure = traffic.failures && p.chance(traffic.failures.rate) ? FAILURES[p.pick(traffic.failures.kinds)] : undefined;
    const clientOut = p.between(0.25, 0.9); // the client's sidecar: routing, picking an endpoint, TLS
    const serverStart = startMs + clientOut + net;

    let serverMs: number; // the call as the server's sidecar saw it: first byte in to last byte out
    let inbound = 0; // the server's sidecar before it hands the request to its app
    let clientMs: number; // first byte to upstream to last byte from upstream, on the client's sidecar
    if (failure && !failure.serverSees) {
      serverMs = 0;
      clientMs = failure.flags && 'upstream_request_timeout' in failure.flags ? traffic.timeoutMs ?? 1000 : p.between(0.5, 3);
    } else {
      const own = p.logNormal(traffic.latencyMs.median, traffic.latencyMs.p95);
      inbound = p.between(0.15, 0.5);
      // The app does half its work, makes its own calls, then the rest.
      let t = serverStart + inbound + own / 2;
      if (!failure) t = this.callees(callee, t, out, depth + 1);
      t += own / 2;
      serverMs = t - serverStart + p.between(0.05, 0.2);
      clientMs = serverMs + 2 * net;
    }
    const clientTiming = sideTiming(clientOut, clientMs);
    const serverTiming = serverMs > 0 ? sideTiming(inbound, serverMs - inbound - 0.08) : undefined;
    const common = {
      start: timestampOf(startMs),
      peerEncoding: caller.encoding,
      serverPeerEncoding: callee.encoding,
      tls: 'mtls' as const,
      responseFlags: failure?.flags,
      serverResponseFlags: failure && 'serverFlags' in failure ? failure.serverFlags : undefined,
      clientTiming,
      serverTiming,
    };
    const clientEnd = startMs + clientTiming.lastDownstreamTx;
    const serverEnd = serverStart + (serverTiming?.lastDownstreamTx ?? 0);
    const protocol = this.services.get(calleeName)!.protocol;
    if (protocol === 'tcp') {
      const bytes = traffic.bytes!;
      const failed = failure !== undefined;
      const both = tcpCall(caller.workload, callee.workload, {
        ...common,
        // Both sidecars receive what the client sends and send what the server answers.
        receivedBytes: failed ? 0 : Math.round(p.between(...bytes.sent)),
        sentBytes: failed ? 0 : Math.round(p.between(...bytes.received)),
      });
      out.push({ sidecar: caller, at: clientEnd, kind: 'tcp', entry: both.client });
      if (serverTiming) out.push({ sidecar: callee, at: serverEnd, kind: 'tcp', entry: both.server });
      return clientEnd;
    }
    const op = p.weighted(traffic.operations.map((o) => ({ weight: o.weight, value: o })));
    const code = failure ? failure.code : op.code ?? 200;
    const isGrpc = protocol === 'grpc';
    const both = httpCall(caller.workload, callee.workload, {
      ...common,
      method: op.method,
      path: op.path,
      responseCode: code,
      protocolVersion: isGrpc ? 'HTTP2' : 'HTTP11',
      // Logged when the mesh's ALS config lists these headers; they tell gRPC from plain HTTP.
      requestHeaders: isGrpc ? { 'content-type': 'application/grpc' } : undefined,
      responseTrailers: isGrpc ? { 'grpc-status': failure?.grpcStatus ?? '0' } : undefined,
    });
    out.push({ sidecar: caller, at: clientEnd, kind: 'http', entry: both.client });
    if (serverTiming) out.push({ sidecar: callee, at: serverEnd, kind: 'http', entry: both.server });
    return clientEnd;
  }
}

/** Envoy's timings of one side: `before` ms of its own work, then `upstreamMs` waiting on the other side. */
function sideTiming(before: number, upstreamMs: number): Timing {
  const up = Math.max(0.05, upstreamMs);
  return {
    lastRx: before * 0.2,
    firstUpstreamTx: before,
    lastUpstreamTx: before + 0.01,
    firstUpstreamRx: before + up * 0.97,
    lastUpstreamRx: before + up,
    firstDownstreamTx: before + up + 0.03,
    lastDownstreamTx: before + up + 0.08,
  };
}
