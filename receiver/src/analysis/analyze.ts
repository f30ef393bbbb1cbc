// Who the two sides of a call are, per ALS entry, with the meaning of SkyWalking's mx-mesh analyzers
// (apache/skywalking envoy-metrics-receiver-plugin als/mx/MetaExchangeALSHTTPAnalyzer.java and
// als/tcp/mx/MetaExchangeTCPAccessLogAnalyzer.java, method analysis): the stream's node is one side, the
// peer metadata Istio's metadata exchange left in the entry is the other.
//  - an upstream peer: this node called it (client side); a downstream peer: it called this node (server);
//  - a gateway (`router~` node id) without a usable downstream peer: a server side from UNKNOWN, if the
//    entry has any filter state; for TCP only when the entry gave another metric too (SkyWalking adds it
//    without setting hasDownstreamMetrics, so an entry with nothing else is dropped);
//  - a peer value that cannot be read: that direction is skipped;
//  - an entry with no usable peer: no metric (`--peerless-calls upstream-host` names the peer after its
//    upstream cluster's service host instead), counted by reason, as is every entry that yields nothing;
//  - each direction is counted once even when Istio logged both its 1.24+ and its `wasm.` key (SkyWalking
//    emits two metrics then; a deliberate difference, receiver/README.md): the Struct wins, the FlatNode
//    is read only if the Struct cannot be.
import { InstancePropertiesMode, Workload, WorkloadNamer } from './analyze-workload';
import {
  ProtocolDetection, Side, adaptHttp, adaptTcp, grpcAwareProtocolOf, skywalkingProtocolOf,
} from './analyze-entry';
import type { AccessLogCommon, Any, HttpAccessLogEntry, Node, TcpAccessLogEntry } from '../als/envoy-protos';
import type { MeshMetric } from './mesh-metric';
import { MetadataTree, treeFromStruct } from './metadata-struct';
import { PEER_KEYS, PeerDecodeProblem, PeerDirection, PeerFormat, decodePeerAny } from './peer-metadata';
import { DEFAULT_INSTANCE_NAME_RULE, DEFAULT_SERVICE_NAME_RULE } from './service-naming';

/** Metadata that could not be read, or a node without any (a closed set: use it for metric labels). */
export const METADATA_PROBLEMS = [
  /** The stream's first message had no node: this side is named from empty metadata (`-.-`, `-`). */
  'no_node_identity',
  /** The stream's node has no metadata: named `-.-` / `-`, or from its id with --node-without-metadata node-id. */
  'node_metadata_missing',
  /** A `*_peer` value whose type is not google.protobuf.Struct. */
  'unknown_any_type',
  /** A `wasm.*_peer` value that is not a valid BytesValue. */
  'bytes_value_malformed',
  /** A BytesValue whose bytes are not a valid FlatNode. */
  'flatnode_corrupt',
  /** A Struct that is not valid protobuf. */
  'struct_malformed',
  /** An empty BytesValue. */
  'peer_metadata_empty',
] as const;
export type MetadataProblem = (typeof METADATA_PROBLEMS)[number];

/** Why an entry gave no metric at all (a closed set: use it for metric labels). */
export const SKIP_REASONS = [
  /** No common properties: nothing to analyse. */
  'no_common_properties',
  /** No peer metadata key (a call to or from outside the mesh, or metadata exchange off). */
  'no_peer_metadata',
  /** Peer metadata keys, none of which could be read (each counted as a metadata problem too). */
  'peer_metadata_unreadable',
  /** --peerless-calls upstream-host: the upstream cluster's host is an IP address, which never names a service. */
  'peer_is_ip_address',
  /** --peerless-calls upstream-host: the upstream cluster names no service host (PassthroughCluster …). */
  'no_service_host',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface AnalysisObserver {
  metadataProblem(reason: MetadataProblem): void;
  entrySkipped(reason: SkipReason): void;
}

/** What a call without peer metadata becomes: nothing (SkyWalking) or a metric to its upstream host. */
export const PEERLESS_CALLS = ['skywalking', 'upstream-host'] as const;
export type PeerlessCalls = (typeof PEERLESS_CALLS)[number];

/** How a node without metadata is named: `-.-` / `-` (SkyWalking) or from its id and cluster. */
export const NODE_WITHOUT_METADATA = ['skywalking', 'node-id'] as const;
export type NodeWithoutMetadata = (typeof NODE_WITHOUT_METADATA)[number];

/** Each option's default is SkyWalking's meaning; the others are our additions (receiver/README.md). */
export interface AnalyzerOptions {
  /** SkyWalking metadata-service-mapping syntax; default DEFAULT_SERVICE_NAME_RULE. */
  serviceNameRule?: string;
  /** Default DEFAULT_INSTANCE_NAME_RULE (`${NAME}`). */
  instanceNameRule?: string;
  protocolDetection?: ProtocolDetection;
  peerlessCalls?: PeerlessCalls;
  instanceProperties?: InstancePropertiesMode;
  nodeWithoutMetadata?: NodeWithoutMetadata;
  observer?: Partial<AnalysisObserver>;
  /** Distinct peer metadata values kept decoded and named (default 10000). */
  peerCacheSize?: number;
}

export interface Analyzer {
  /** Once per ALS stream, with the node from its first message (undefined when it had none). */
  forNode(node: Node | undefined): NodeAnalyzer;
  /** Naming rules that parse but will rarely mean what was written, to log at startup. */
  readonly warnings: readonly string[];
}

export interface NodeAnalyzer {
  /** The reporting proxy as named by the rules. */
  readonly self: Workload;
  /** true for a gateway (`router~` node id). */
  readonly gateway: boolean;
  http(entry: HttpAccessLogEntry): MeshMetric[];
  tcp(entry: TcpAccessLogEntry): MeshMetric[];
}

interface Settings {
  namer: WorkloadNamer;
  peers: PeerCache;
  observer: AnalysisObserver;
  peerless: PeerlessCalls;
  nodeWithoutMetadata: NodeWithoutMetadata;
  adaptHttp: Adapt<HttpAccessLogEntry, MeshMetric>;
}

/** Throws a clear Error when a naming rule is malformed. */
export function createAnalyzer(opts: AnalyzerOptions = {}): Analyzer {
  const namer = new WorkloadNamer(
    opts.serviceNameRule ?? DEFAULT_SERVICE_NAME_RULE,
    opts.instanceNameRule ?? DEFAULT_INSTANCE_NAME_RULE,
    opts.instanceProperties ?? 'skywalking',
  );
  const observer: AnalysisObserver = {
    metadataProblem: opts.observer?.metadataProblem ?? (() => undefined),
    entrySkipped: opts.observer?.entrySkipped ?? (() => undefined),
  };
  const protocolOf = (opts.protocolDetection ?? 'skywalking') === 'grpc' ? grpcAwareProtocolOf : skywalkingProtocolOf;
  const settings: Settings = {
    namer,
    peers: new PeerCache(namer, opts.peerCacheSize ?? 10_000),
    observer,
    peerless: opts.peerlessCalls ?? 'skywalking',
    nodeWithoutMetadata: opts.nodeWithoutMetadata ?? 'skywalking',
    adaptHttp: (entry, cp, side, source, dest) => adaptHttp(entry, cp, side, source, dest, protocolOf),
  };
  return { forNode: (node) => new StreamAnalyzer(node, settings), warnings: namer.warnings };
}

type PeerResolution = { workload: Workload; problem?: undefined } | { workload?: undefined; problem: PeerDecodeProblem };

/**
 * Decoded and named peers by their format and exact bytes: a mesh has few distinct workloads, so most
 * entries skip decoding. Bounded; when full it starts over rather than tracking recency. In front of the
 * map, a few recent values compared byte for byte (memcmp): a sidecar talks to a handful of peers, so this
 * spares most entries turning the value into a string key.
 */
class PeerCache {
  private readonly map = new Map<string, PeerResolution>();
  private readonly recent: { format: PeerFormat; typeUrl: string; bytes: Buffer; r: PeerResolution }[] = [];
  private nextSlot = 0;

  constructor(private readonly namer: WorkloadNamer, private readonly limit: number) {}

  resolve(any: Any, format: PeerFormat): PeerResolution {
    const typeUrl = any.type_url ?? '';
    const v = any.value;
    // A Buffer from our decoder; a plain Uint8Array from other producers (tests, replays) gets a Buffer view.
    const u8 = v as Uint8Array | undefined;
    const bytes = !u8 ? EMPTY : Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    for (const c of this.recent) {
      if (c.bytes.length === bytes.length && c.format === format && c.typeUrl === typeUrl && c.bytes.equals(bytes)) return c.r;
    }
    const key = `${format}\n${typeUrl}\n${bytes.toString('latin1')}`;
    let r = this.map.get(key);
    if (!r) {
      const decoded = decodePeerAny(any, format);
      r = decoded.ok ? { workload: this.namer.describe(decoded.naming, decoded.metadata) } : { problem: decoded.problem };
      if (this.map.size >= this.limit) this.map.clear();
      this.map.set(key, r);
    }
    // A copy: the decoded value is a view into its whole ALS message, which must not be kept alive.
    const slot = { format, typeUrl, bytes: Buffer.from(bytes), r };
    if (this.recent.length < RECENT_PEERS) this.recent.push(slot);
    else this.recent[this.nextSlot] = slot;
    this.nextSlot = (this.nextSlot + 1) % RECENT_PEERS;
    return r;
  }
}

const RECENT_PEERS = 16;
const EMPTY = Buffer.alloc(0);

type Adapt<E, M> = (entry: E, cp: AccessLogCommon, side: Side, source: Workload, dest: Workload) => M;

/** A peer key present whose value could not be read. */
const UNREADABLE = null;

class StreamAnalyzer implements NodeAnalyzer {
  readonly self: Workload;
  readonly gateway: boolean;

  constructor(node: Node | undefined, private readonly s: Settings) {
    // AccessLogAnalyzer.identify: the role comes from the node id, and only when there is a node.
    this.gateway = node?.id?.startsWith('router~') ?? false;
    const metadata = treeFromStruct(node?.metadata);
    if (Object.keys(metadata).length > 0) {
      this.self = s.namer.describe(metadata);
      return;
    }
    s.observer.metadataProblem(node ? 'node_metadata_missing' : 'no_node_identity');
    const fromId = s.nodeWithoutMetadata === 'node-id' ? metadataFromNodeId(node) : {};
    // SkyWalking inflates its rules from the empty Struct: every `${…}` is "-".
    this.self = s.namer.describe(fromId);
  }

  http(entry: HttpAccessLogEntry): MeshMetric[] {
    return this.analyze(entry, this.s.adaptHttp, 'http');
  }

  tcp(entry: TcpAccessLogEntry): MeshMetric[] {
    return this.analyze(entry, adaptTcp, 'tcp');
  }

  private analyze<E extends { common_properties?: AccessLogCommon }>(
    entry: E, adapt: Adapt<E, MeshMetric>, kind: 'http' | 'tcp',
  ): MeshMetric[] {
    const { observer, peerless, namer } = this.s;
    const cp = entry.common_properties;
    if (!cp) {
      observer.entrySkipped('no_common_properties');
      return [];
    }
    const state = cp.filter_state_objects;
    let hasState = false;
    if (state) for (const _ in state) { hasState = true; break; }
    const upstream = hasState ? this.peer(state!, 'upstream') : undefined;
    const downstream = hasState ? this.peer(state!, 'downstream') : undefined;
    const client = upstream ? adapt(entry, cp, 'client', this.self, upstream) : undefined;
    let server: MeshMetric | undefined;
    if (downstream) server = adapt(entry, cp, 'server', downstream, this.self);
    else if (this.gateway && (peerless === 'upstream-host' || (hasState && (kind === 'http' || client !== undefined)))) {
      server = adapt(entry, cp, 'server', namer.unknown, this.self);
    }
    // Literals: an array grown by push reserves room for 17 metrics, and there are at most two.
    if (client && server) return [client, server];
    if (client) return [client];
    if (server) return [server];
    const out: MeshMetric[] = [];
    if (upstream === UNREADABLE || downstream === UNREADABLE) {
      observer.entrySkipped('peer_metadata_unreadable');
      return out;
    }
    if (peerless === 'upstream-host' && !this.gateway) {
      // Istio names a sidecar's inbound clusters `inbound|…`: then the peer is a caller we know nothing of.
      if (cp.upstream_cluster?.startsWith('inbound|')) return [adapt(entry, cp, 'server', namer.unknown, this.self)];
      const peer = namer.fromUpstreamCluster(cp.upstream_cluster);
      if (typeof peer !== 'string') return [adapt(entry, cp, 'client', this.self, peer)];
      observer.entrySkipped(peer);
      return out;
    }
    observer.entrySkipped('no_peer_metadata');
    return out;
  }

  /** The peer in one direction: undefined without a key, UNREADABLE when every value there is unusable (counted). */
  private peer(state: Record<string, Any>, direction: PeerDirection): Workload | typeof UNREADABLE | undefined {
    let present = false;
    for (const { key, format } of PEER_KEYS[direction]) {
      const any = state[key];
      if (!any) continue;
      present = true;
      const r = this.s.peers.resolve(any, format);
      if (r.workload) return r.workload;
      this.s.observer.metadataProblem(r.problem);
    }
    return present ? UNREADABLE : undefined;
  }
}

/**
 * What a node id (`sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`) and cluster (`SERVICE.NAMESPACE`)
 * say when a node sent no metadata, under node metadata keys so the same rules apply.
 */
export function metadataFromNodeId(node: Node | undefined): MetadataTree {
  const parts = node?.id?.split('~');
  if (!parts || parts.length < 4) return {};
  const dot = parts[2].lastIndexOf('.');
  if (dot <= 0 || dot === parts[2].length - 1) return {};
  const namespace = parts[2].slice(dot + 1);
  const tree: Record<string, string> = { NAME: parts[2].slice(0, dot), NAMESPACE: namespace };
  const cluster = node?.cluster ?? '';
  const service = cluster.endsWith(`.${namespace}`) ? cluster.slice(0, -namespace.length - 1) : cluster;
  if (service) tree.SERVICE = service;
  return tree;
}
