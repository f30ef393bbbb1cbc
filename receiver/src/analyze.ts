// Who the two sides of a call are, per ALS entry, with the meaning of SkyWalking's mx-mesh analyzers
// (apache/skywalking envoy-metrics-receiver-plugin als/mx/MetaExchangeALSHTTPAnalyzer.java and
// als/tcp/mx/MetaExchangeTCPAccessLogAnalyzer.java): the stream's node is one side, the peer metadata
// Istio's metadata exchange left in the entry is the other.
//  - an upstream peer: this node called it (client side); a downstream peer: it called this node (server);
//  - a gateway (`router~` node id) without a downstream peer: a server side from an unknown source;
//  - each direction is counted once even when Istio logged both its 1.24+ and its `wasm.` key (the
//    Struct is preferred; the FlatNode is read only if the Struct cannot be);
// and where SkyWalking drops or logs, this counts and carries on: a peer whose metadata is corrupt, or an
// entry with none (a call to or from outside the mesh), is named from the entry's addresses and cluster.
import { UNKNOWN_WORKLOAD, Workload, WorkloadNamer, workloadFromAddress, workloadFromUpstream } from './analyze-workload';
import { Side, adaptHttp, adaptTcp } from './analyze-entry';
import type { AccessLogCommon, Address, Any, HttpAccessLogEntry, Node, TcpAccessLogEntry } from './envoy-protos';
import type { MeshMetric } from './mesh-metric';
import { MetadataTree, treeFromStruct } from './metadata-struct';
import { PEER_KEYS, PeerDecodeProblem, PeerDirection, decodePeerAny } from './peer-metadata';
import { DEFAULT_INSTANCE_NAME_RULE, DEFAULT_SERVICE_NAME_RULE } from './service-naming';

/** Everything analysis counts as a metadata problem (a closed set: use it for metric labels). */
export const METADATA_PROBLEMS = [
  /** The stream's node has no metadata and an id that names no pod: this side is UNKNOWN. */
  'no_node_identity',
  /** The stream's node has no metadata; this side is named from the node id and cluster. */
  'node_metadata_missing',
  /** An entry without common properties: nothing to analyse, no metric. */
  'no_common_properties',
  /** An entry with no peer metadata at all: the peer is named from address / upstream cluster. */
  'no_peer_metadata',
  /** A peer value of a type other than Struct or BytesValue. */
  'unknown_any_type',
  /** A BytesValue that is not valid protobuf. */
  'bytes_value_malformed',
  /** A BytesValue whose bytes are not a valid FlatNode. */
  'flatnode_corrupt',
  /** A Struct that is not valid protobuf. */
  'struct_malformed',
  /** An empty Struct or BytesValue. */
  'peer_metadata_empty',
] as const;

export type MetadataProblem = (typeof METADATA_PROBLEMS)[number];

export interface AnalysisObserver {
  metadataProblem(reason: MetadataProblem): void;
}

export interface AnalyzerOptions {
  /** SkyWalking metadata-service-mapping syntax; default DEFAULT_SERVICE_NAME_RULE. */
  serviceNameRule?: string;
  /** Default DEFAULT_INSTANCE_NAME_RULE (`${NAME}`). */
  instanceNameRule?: string;
  observer?: AnalysisObserver;
  /** Distinct peer metadata values kept decoded and named (default 10000). */
  peerCacheSize?: number;
}

export interface Analyzer {
  /** Once per ALS stream, with the node from its first message. */
  forNode(node: Node | undefined): NodeAnalyzer;
}

export interface NodeAnalyzer {
  /** The reporting proxy as named by the rules. */
  readonly self: Workload;
  /** true for a gateway (`router~` node id). */
  readonly gateway: boolean;
  http(entry: HttpAccessLogEntry): MeshMetric[];
  tcp(entry: TcpAccessLogEntry): MeshMetric[];
}

/** Throws a clear Error when a naming rule is malformed. */
export function createAnalyzer(opts: AnalyzerOptions = {}): Analyzer {
  const namer = new WorkloadNamer(
    opts.serviceNameRule ?? DEFAULT_SERVICE_NAME_RULE,
    opts.instanceNameRule ?? DEFAULT_INSTANCE_NAME_RULE,
  );
  const observer = opts.observer ?? { metadataProblem: () => undefined };
  const peers = new PeerCache(namer, opts.peerCacheSize ?? 10_000);
  return { forNode: (node) => new StreamAnalyzer(node, namer, peers, observer) };
}

type PeerResolution = { workload: Workload; problem?: undefined } | { workload?: undefined; problem: PeerDecodeProblem };

/**
 * Decoded and named peers by their exact bytes: a mesh has few distinct workloads, so most entries
 * skip decoding. Bounded; when full it starts over rather than tracking recency. In front of the map, a
 * few recent values compared byte for byte (memcmp): a sidecar talks to a handful of peers, so this
 * spares most entries turning the value into a string key.
 */
class PeerCache {
  private readonly map = new Map<string, PeerResolution>();
  private readonly recent: { typeUrl: string; bytes: Buffer; r: PeerResolution }[] = [];
  private nextSlot = 0;

  constructor(private readonly namer: WorkloadNamer, private readonly limit: number) {}

  resolve(any: Any): PeerResolution {
    const typeUrl = any.type_url ?? '';
    const v = any.value;
    const bytes = v ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : EMPTY;
    for (const c of this.recent) {
      if (c.bytes.length === bytes.length && c.typeUrl === typeUrl && c.bytes.equals(bytes)) return c.r;
    }
    const key = `${typeUrl}\n${bytes.toString('latin1')}`;
    let r = this.map.get(key);
    if (!r) {
      const decoded = decodePeerAny(any);
      r = decoded.ok ? { workload: this.namer.describe(decoded.metadata) } : { problem: decoded.problem };
      if (this.map.size >= this.limit) this.map.clear();
      this.map.set(key, r);
    }
    // A copy: the decoded value is a view into its whole ALS message, which must not be kept alive.
    const slot = { typeUrl, bytes: Buffer.from(bytes), r };
    if (this.recent.length < RECENT_PEERS) this.recent.push(slot);
    else this.recent[this.nextSlot] = slot;
    this.nextSlot = (this.nextSlot + 1) % RECENT_PEERS;
    return r;
  }
}

const RECENT_PEERS = 16;
const EMPTY = Buffer.alloc(0);

/** No peer metadata value under either key of a direction. */
const ABSENT = Symbol('absent');

type Adapt<E, M> = (entry: E, cp: AccessLogCommon, side: Side, source: Workload, dest: Workload) => M;

class StreamAnalyzer implements NodeAnalyzer {
  readonly self: Workload;
  readonly gateway: boolean;

  constructor(
    node: Node | undefined,
    namer: WorkloadNamer,
    private readonly peers: PeerCache,
    private readonly observer: AnalysisObserver,
  ) {
    this.gateway = node?.id?.startsWith('router~') ?? false;
    const metadata = treeFromStruct(node?.metadata);
    if (Object.keys(metadata).length > 0) {
      this.self = namer.describe(metadata);
    } else {
      const fromId = metadataFromNodeId(node);
      const named = Object.keys(fromId).length > 0;
      observer.metadataProblem(named ? 'node_metadata_missing' : 'no_node_identity');
      this.self = named ? namer.describe(fromId) : UNKNOWN_WORKLOAD;
    }
  }

  http(entry: HttpAccessLogEntry): MeshMetric[] {
    return this.analyze(entry, adaptHttp);
  }

  tcp(entry: TcpAccessLogEntry): MeshMetric[] {
    return this.analyze(entry, adaptTcp);
  }

  private analyze<E extends { common_properties?: AccessLogCommon }, M extends MeshMetric>(entry: E, adapt: Adapt<E, M>): M[] {
    const cp = entry.common_properties;
    if (!cp) {
      this.observer.metadataProblem('no_common_properties');
      return [];
    }
    const upstream = this.peer(cp, 'upstream');
    const downstream = this.peer(cp, 'downstream');
    const out: M[] = [];
    if (upstream !== ABSENT) {
      out.push(adapt(entry, cp, 'client', this.self, upstream ?? workloadFromUpstream(cp.upstream_cluster, ip(cp.upstream_remote_address))));
    }
    if (downstream !== ABSENT) {
      out.push(adapt(entry, cp, 'server', downstream ?? workloadFromAddress(ip(cp.downstream_remote_address)), this.self));
    } else if (this.gateway) {
      out.push(adapt(entry, cp, 'server', UNKNOWN_WORKLOAD, this.self));
    }
    if (upstream === ABSENT && downstream === ABSENT) {
      this.observer.metadataProblem('no_peer_metadata');
      if (!this.gateway) {
        // Istio names a sidecar's inbound clusters `inbound|…`: then the peer is the caller.
        out.push(
          cp.upstream_cluster?.startsWith('inbound|')
            ? adapt(entry, cp, 'server', workloadFromAddress(ip(cp.downstream_remote_address)), this.self)
            : adapt(entry, cp, 'client', this.self, workloadFromUpstream(cp.upstream_cluster, ip(cp.upstream_remote_address))),
        );
      }
    }
    return out;
  }

  /** The peer in one direction; undefined when its metadata is there but unusable (counted). */
  private peer(cp: AccessLogCommon, direction: PeerDirection): Workload | undefined | typeof ABSENT {
    const state = cp.filter_state_objects;
    if (!state) return ABSENT;
    let present = false;
    for (const key of PEER_KEYS[direction]) {
      const any = state[key];
      if (!any) continue;
      present = true;
      const r = this.peers.resolve(any);
      if (r.workload) return r.workload;
      this.observer.metadataProblem(r.problem);
    }
    return present ? undefined : ABSENT;
  }
}

function ip(a: Address | undefined): string | undefined {
  return a?.socket_address?.address || undefined;
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
