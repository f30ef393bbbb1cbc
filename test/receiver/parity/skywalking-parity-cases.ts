// The parity table: ALS inputs, each with the metrics SkyWalking's own mx-mesh analysis makes of them,
// derived by hand from apache/skywalking (commit 5839d2ad, Aug 2026) so a reader can re-check every row.
// Files, under oap-server/server-receiver-plugin/envoy-metrics-receiver-plugin/src/main/java/org/apache/
// skywalking/oap/server/receiver/envoy/ (ER/) and oap-server/server-library/library-util/.../util/ (LU/):
//   MX   ER/als/mx/MetaExchangeALSHTTPAnalyzer.java   analysis, parseFilterObject, parseFilterObjectPrior124
//   MXT  ER/als/tcp/mx/MetaExchangeTCPAccessLogAnalyzer.java   analysis (TCP)
//   L2M  ER/als/LogEntry2MetricsAdapter.java   adaptToUpstreamMetrics, adaptToDownstreamMetrics, adaptCommonPart,
//        endpoint, formatAsLong, requestProtocol, parseTLS, parseInternalErrorCode
//   TL2M ER/als/tcp/TCPLogEntry2MetricsAdapter.java   the same for TCP
//   SMIA ER/als/mx/ServiceMetaInfoAdapter.java   extractStructFromNodeFlatBuffer, appendTags
//   SMIF ER/ServiceMetaInfoFactoryImpl.java   unknown() = UNKNOWN/UNKNOWN without tags
//   ALA  ER/als/AccessLogAnalyzer.java   identify (router~ → PROXY), Result.hasResult
//   H    ER/AccessLogServiceGRPCHandler.java   streamAccessLogs (identifier of the first message; hasResult)
//   FH   LU/FieldsHelper.java   init (the rule's regex and splitters), inflate ("-" defaults, case-insensitive keys)
//   YAML oap-server/server-starter/src/main/resources/metadata-service-mapping.yaml (the default rules)
// Where the receiver departs on purpose, a row says which line of receiver/README.md's table it is and
// what the receiver sends instead.
import type { HttpAccessLogEntry, Node, TcpAccessLogEntry } from '../../../receiver/src/als/envoy-protos';
import type { HttpMeshMetricWire, TcpMeshMetricWire } from '../../../receiver/src/sinks/skywalking-protos';
import { structPeerAny, flatNodePeerAny } from '../../../receiver/src/analysis/peer-metadata-encode';
import { buildFlatNode } from '../../../receiver/src/analysis/flat-node';
import {
  bytesValueAny, flatNodeOf, gateway, gatewayEntry, httpCall, nodeOf, peerStructOf, pod, tcpCall, vm,
} from '../../fixtures/mesh-fixtures';

export type Expected = { kind: 'http'; m: HttpMeshMetricWire } | { kind: 'tcp'; m: TcpMeshMetricWire };

export interface ParityCase {
  name: string;
  /** The stream's node (first message); undefined: the first message has no identifier. */
  node: Node | undefined;
  logs: { http: HttpAccessLogEntry[] } | { tcp: TcpAccessLogEntry[] };
  /** Which receiver: the default rules, or one of RULE_SETS. */
  rules?: keyof typeof RULE_SETS;
  /** What SkyWalking's analysis sends, and where in its source that comes from. */
  skywalking: Expected[];
  source: string;
  /** A deliberate difference: the README table row (its first cell) and what the receiver sends. */
  difference?: { readmeRow: string; receiver: Expected[] };
}

/** Custom rules, each run by a receiver of its own with these flags. */
export const RULE_SETS = {
  spacedAndTrailingComma: ['--service-name-rule', '${NAME, NAMESPACE}', '--instance-name-rule', '${LABELS.app,}'],
  trailingText: ['--service-name-rule', '${LABELS.app}.${NAMESPACE}.mesh'],
} as const;

// ---- the workloads ----

const frontend = pod('frontend', 'boutique', { name: 'frontend-7d4b9c8f6-h2j5k', ip: '10.8.1.21' });
const cart = pod('cartservice', 'boutique', { name: 'cartservice-6d7f5c9b8-2kq9x', ip: '10.8.1.34', port: 7070 });
const redis = pod('redis-cart', 'boutique', { name: 'redis-cart-5b6f47b748-9qzkp', ip: '10.8.1.40', port: 6379 });
const checkout = vm('checkoutservice', 'boutique', { name: 'checkoutservice-vm', ip: '10.128.0.21', port: 5050 });
const gw = gateway({ name: 'istio-ingressgateway-5d9f8c7b6-qw7rt', ip: '10.8.2.5' });

/** One side as SkyWalking names it: service, instance, and its tags (SMIA appendTags: pod, namespace). */
interface Side { service: string; instance: string; props: { key: string; value: string }[] }
const tags = (pod: string, namespace: string) => [{ key: 'pod', value: pod }, { key: 'namespace', value: namespace }];
/** YAML's rules on node metadata, a FlatNode (canonical-name label) or a 1.24+ Struct (SERVICE, case-insensitive). */
const named = (w: typeof frontend): Side => ({ service: `${w.app}.${w.namespace}`, instance: w.name, props: tags(w.name, w.namespace) });
/** SMIF unknown(): no tags, so no properties. */
const UNKNOWN: Side = { service: 'UNKNOWN', instance: 'UNKNOWN', props: [] };
/** FH inflate of an empty Struct: every `${…}` is "-"; SMIA appendTags finds neither NAME nor NAMESPACE. */
const DASHES: Side = { service: '-.-', instance: '-', props: [] };

// ---- timings (access-logs.ts: CLIENT_TIMING, SERVER_TIMING; start 12:00:00.123456789, server 1.5 ms later) ----
// L2M formatAsLong = Instant.toEpochMilli: whole ms, so start = ...123 (client) and ...124 (server entry).
const T = 1_764_072_000_123;

/** L2M adaptToUpstreamMetrics on the client entry: start + 1 ms (1.253 ms to the first upstream byte), end + 10 (10.435 ms). */
const CLIENT = { startTime: T + 1, endTime: T + 10, latency: 9, detectPoint: 'client' as const, tlsMode: 'NONE' };
/** L2M adaptToDownstreamMetrics on the server entry: start ...124, + 7 ms (7.811 ms to the last downstream byte). */
const SERVER = { startTime: T + 1, endTime: T + 8, latency: 7, detectPoint: 'server' as const, tlsMode: 'mTLS' };
/** adaptToDownstreamMetrics on a client-timed entry (a gateway's UNKNOWN side): start ...123, + 10 ms (10.746 ms). */
const GATEWAY_IN = { startTime: T, endTime: T + 10, latency: 10, detectPoint: 'server' as const, tlsMode: 'NONE' };
/** L2M adaptCommonPart: time_to_first_upstream_tx_byte.nanos, and first_downstream_tx.nanos - first_upstream_rx.nanos. */
const CLIENT_INTERNAL = { internalRequestLatencyNanos: 1_253_000, internalResponseLatencyNanos: 10_110_000 - 9_800_000 };
const SERVER_INTERNAL = { internalRequestLatencyNanos: 841_000, internalResponseLatencyNanos: 7_764_000 - 7_617_000 };
/** TL2M adaptCommonPart: the response part ends at last_downstream_tx (10.746 ms client, 7.811 ms server). */
const TCP_CLIENT_INTERNAL = { internalRequestLatencyNanos: 1_253_000, internalResponseLatencyNanos: 10_746_000 - 9_800_000 };
const TCP_SERVER_INTERNAL = { internalRequestLatencyNanos: 841_000, internalResponseLatencyNanos: 7_811_000 - 7_617_000 };

interface HttpTimes {
  startTime: number; endTime: number; latency: number; detectPoint: 'client' | 'server'; tlsMode: string;
  internalRequestLatencyNanos: number; internalResponseLatencyNanos: number;
}

/** An HTTP metric as the OAP decodes it (every field; int64 fields exact, as decimal strings). */
function http(times: HttpTimes, source: Side, dest: Side, o: Partial<HttpMeshMetricWire> = {}): Expected {
  const { latency, ...rest } = times;
  return {
    kind: 'http',
    m: wire({
      ...rest, latency, sourceServiceName: source.service, sourceServiceInstance: source.instance,
      destServiceName: dest.service, destServiceInstance: dest.instance,
      // L2M endpoint: METHOD:path; adaptCommonPart: code 200 when 0, status < 500, overridden < 400 client side.
      endpoint: 'GET:/', responseCode: 200, status: true,
      // L2M requestProtocol: the fixtures' scheme is "http".
      protocol: 'HTTP', internalErrorCode: '',
      sourceInstanceProperties: source.props, destInstanceProperties: dest.props, ...o,
    }) as unknown as HttpMeshMetricWire,
  };
}

function tcp(times: Omit<HttpTimes, 'latency'> & { latency?: number }, source: Side, dest: Side, bytes: [number | string, number | string], o: Partial<TcpMeshMetricWire> = {}): Expected {
  const { latency: _none, ...rest } = times;
  return {
    kind: 'tcp',
    m: wire({
      ...rest, sourceServiceName: source.service, sourceServiceInstance: source.instance,
      destServiceName: dest.service, destServiceInstance: dest.instance, internalErrorCode: '',
      sourceInstanceProperties: source.props, destInstanceProperties: dest.props,
      receivedBytes: bytes[0], sentBytes: bytes[1], ...o,
    }) as unknown as TcpMeshMetricWire,
  };
}

const INT64_FIELDS = ['startTime', 'endTime', 'internalRequestLatencyNanos', 'internalResponseLatencyNanos', 'receivedBytes', 'sentBytes'];
/** int64 fields as the exact decimal strings the OAP-side peer decodes them into. */
function wire(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m };
  for (const f of INT64_FIELDS) if (f in out) out[f] = String(out[f]);
  return out;
}

const TCP_CLIENT = { ...CLIENT, ...TCP_CLIENT_INTERNAL };
const TCP_SERVER = { ...SERVER, ...TCP_SERVER_INTERNAL };

// ---- entries ----

const withState = <E extends HttpAccessLogEntry | TcpAccessLogEntry>(e: E, state: NonNullable<E['common_properties']>['filter_state_objects']): E => {
  e.common_properties!.filter_state_objects = state;
  return e;
};
const corruptStruct = { type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([0x0a, 0x09, 0x0a, 0x01]) };
const truncatedFlatNode = bytesValueAny(buildFlatNode(flatNodeOf(cart)).subarray(0, 40));
const peerIdOnly = { 'wasm.upstream_peer_id': bytesValueAny(Buffer.from(`sidecar~${cart.ip}~${cart.name}.boutique~boutique.svc.cluster.local`)) };
const bareNode = (w: typeof frontend): Node => ({ ...nodeOf(w), metadata: undefined });

export const PARITY_CASES: ParityCase[] = [
  // ---- Istio 1.24+ Struct peers ----
  {
    name: 'a client side with an Istio 1.24+ Struct upstream_peer',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart))],
    source: 'MX parseFilterObject UPSTREAM_PEER → L2M adaptToUpstreamMetrics, setTlsMode(NONE); names by YAML via FH (SERVICE, NAMESPACE, NAME match case-insensitively)',
  },
  {
    name: 'a server side with an Istio 1.24+ Struct downstream_peer',
    node: nodeOf(cart), logs: { http: [httpCall(frontend, cart).server] },
    skywalking: [http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), named(cart))],
    source: 'MX parseFilterObject DOWNSTREAM_PEER → L2M adaptToDownstreamMetrics; parseTLS: local and peer URI SANs → mTLS',
  },
  {
    name: 'a Struct peer without a name key',
    node: nodeOf(frontend),
    logs: { http: [withState(httpCall(frontend, cart).client, { upstream_peer: structPeerAny({ service: 'cartservice', namespace: 'boutique' }) })] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), { service: 'cartservice.boutique', instance: '-', props: [{ key: 'namespace', value: 'boutique' }] })],
    source: 'FH inflate: ${NAME} has no value → "-"; SMIA appendTags: no NAME key → no pod tag, NAMESPACE → namespace',
  },
  {
    name: 'a node-shaped Struct peer (NAME, NAMESPACE, LABELS)',
    node: nodeOf(frontend),
    logs: { http: [withState(httpCall(frontend, checkout).client, { upstream_peer: structPeerAny(peerStructOf(checkout, 'node-shaped')) })] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(checkout))],
    source: 'FH inflate: LABELS."service.istio.io/canonical-name" → checkoutservice; SMIA appendTags: NAME, NAMESPACE',
  },
  {
    name: 'an empty Struct peer',
    node: nodeOf(frontend), logs: { http: [withState(httpCall(frontend, cart).client, { upstream_peer: structPeerAny({}) })] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), DASHES)],
    source: 'MX parseFilterObject: the empty Struct unpacks → FH inflate gives -.- and -; SMIA appendTags: no tags',
  },
  // ---- Istio 1.7-1.23 FlatNode peers ----
  {
    name: 'a client side with a FlatNode wasm.upstream_peer',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart, { peerEncoding: 'flatnode' }).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart))],
    source: 'MX parseFilterObjectPrior124 UPSTREAM_KEY → SMIA(Any): extractStructFromNodeFlatBuffer (NAME, NAMESPACE, CLUSTER_ID, LABELS) → FH; the wasm.upstream_peer_id key is ignored',
  },
  {
    name: 'a server side on a VM with a FlatNode wasm.downstream_peer',
    node: nodeOf(checkout), logs: { http: [httpCall(frontend, checkout, { peerEncoding: 'flatnode' }).server] },
    skywalking: [http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), named(checkout))],
    source: 'MX parseFilterObjectPrior124 DOWNSTREAM_KEY → L2M adaptToDownstreamMetrics',
  },
  {
    name: 'a FlatNode peer without a namespace',
    node: nodeOf(frontend),
    logs: { http: [withState(httpCall(frontend, cart).client, { 'wasm.upstream_peer': flatNodePeerAny({ name: cart.name, workloadName: 'cartservice', labels: { app: 'cartservice' } }) })] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), { service: 'cartservice.-', instance: cart.name, props: tags(cart.name, '') })],
    source: 'SMIA extractStructFromNodeFlatBuffer: NAMESPACE is nullToEmpty("") so ${NAMESPACE} is "-", yet appendTags sends namespace ""',
  },
  {
    name: 'an entry with both the Struct and the FlatNode key of one direction',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart, { peerEncoding: 'both' }).client] },
    skywalking: [
      http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart)),
      http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart)),
    ],
    source: 'MX analysis runs parseFilterObject then parseFilterObjectPrior124, each checking only previousResult (empty): two metrics',
    difference: { readmeRow: 'Both key forms in one entry', receiver: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart))] },
  },
  // ---- entry fields ----
  {
    name: 'a gRPC call as Istio logs it (HTTP/2 POST /package.Service/Method, scheme http)',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart, { protocolVersion: 'HTTP2', method: 'POST', path: '/hipstershop.CartService/GetCart' }).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart), { endpoint: 'POST:/hipstershop.CartService/GetCart', protocol: 'HTTP' })],
    source: 'L2M requestProtocol: the scheme starts with "http" → HTTP',
  },
  {
    name: 'a request without a scheme',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart, { scheme: '' }).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart), { protocol: 'gRPC' })],
    source: 'L2M requestProtocol: "".startsWith("http") is false → gRPC',
  },
  {
    name: 'an entry without a request',
    node: nodeOf(frontend),
    logs: { http: [(() => { const e = httpCall(frontend, cart).client; delete e.request; return e; })()] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart), { endpoint: '/', protocol: 'gRPC' })],
    source: 'L2M endpoint: no request → "/"; requestProtocol gets the default request, whose scheme "" → gRPC',
  },
  {
    name: 'a 404 seen by the client',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart, { responseCode: 404 }).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart), { responseCode: 404, status: false })],
    source: 'L2M adaptToUpstreamMetrics: status = code < 400',
  },
  {
    name: 'a 404 seen by the server',
    node: nodeOf(cart), logs: { http: [httpCall(frontend, cart, { responseCode: 404 }).server] },
    skywalking: [http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), named(cart), { responseCode: 404, status: true })],
    source: 'L2M adaptCommonPart: status = code < 500',
  },
  {
    name: 'a 503 with response flags, and no response code on another entry',
    node: nodeOf(cart),
    logs: { http: [
      httpCall(frontend, cart, { responseCode: 503, responseFlags: { local_reset: true, upstream_connection_failure: true } }).server,
      httpCall(frontend, cart, { responseCode: null, tls: 'tls' }).server,
    ] },
    skywalking: [
      http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), named(cart), { responseCode: 503, status: false, internalErrorCode: 'local_reset' }),
      http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), named(cart), { tlsMode: 'TLS' }),
    ],
    source: 'L2M parseInternalErrorCode (local_reset comes first); code 0 → 200; parseTLS: a local certificate only → TLS',
  },
  {
    name: 'internal latencies of a call that waits over a second',
    node: nodeOf(frontend),
    logs: { http: [httpCall(frontend, cart, { clientTiming: { firstUpstreamTx: 1_200, firstUpstreamRx: 1_900, firstDownstreamTx: 2_100, lastUpstreamRx: 2_150 } }).client] },
    skywalking: [http({ startTime: T + 1_200, endTime: T + 2_150, latency: 950, detectPoint: 'client', tlsMode: 'NONE',
      // L2M adaptCommonPart reads getNanos() only: 0.2 s, and 0.1 s - 0.9 s.
      internalRequestLatencyNanos: 200_000_000, internalResponseLatencyNanos: 100_000_000 - 900_000_000 }, named(frontend), named(cart))],
    source: 'L2M adaptCommonPart: Duration.getNanos() is the sub-second part only',
    difference: {
      readmeRow: 'Internal latencies',
      receiver: [http({ startTime: T + 1_200, endTime: T + 2_150, latency: 950, detectPoint: 'client', tlsMode: 'NONE',
        internalRequestLatencyNanos: 1_200_000_000, internalResponseLatencyNanos: 200_000_000 }, named(frontend), named(cart))],
    },
  },
  // ---- TCP ----
  {
    name: 'a TCP client side with a Struct peer',
    node: nodeOf(cart), logs: { tcp: [tcpCall(cart, redis, { receivedBytes: 1_234, sentBytes: 56_789 }).client] },
    skywalking: [tcp(TCP_CLIENT, named(cart), named(redis), [1_234, 56_789])],
    source: 'MXT parseFilterObject UPSTREAM_PEER → TL2M adaptToUpstreamMetrics, setTlsMode(NONE); bytes from connection_properties',
  },
  {
    name: 'a TCP server side with a FlatNode peer',
    node: nodeOf(redis), logs: { tcp: [tcpCall(cart, redis, { receivedBytes: 1_234, sentBytes: 56_789, peerEncoding: 'flatnode' }).server] },
    skywalking: [tcp(TCP_SERVER, named(cart), named(redis), [1_234, 56_789])],
    source: 'MXT parseFilterObjectPrior124 DOWNSTREAM_KEY → TL2M adaptToDownstreamMetrics',
  },
  {
    name: 'TCP byte counts up to 2^53, beyond it, and at the uint64 limit',
    node: nodeOf(cart),
    logs: { tcp: [
      { ...tcpCall(cart, redis).client, connection_properties: { received_bytes: Number.MAX_SAFE_INTEGER, sent_bytes: 7 } },
      { ...tcpCall(cart, redis).client, connection_properties: { received_bytes: '9007199254740993', sent_bytes: '18014398509481985' } },
      { ...tcpCall(cart, redis).client, connection_properties: { received_bytes: '18446744073709551615', sent_bytes: 0 } },
    ] },
    skywalking: [
      tcp(TCP_CLIENT, named(cart), named(redis), [Number.MAX_SAFE_INTEGER, 7]),
      tcp(TCP_CLIENT, named(cart), named(redis), ['9007199254740993', '18014398509481985']),
      // Java reads Envoy's uint64 into a long: 2^64 - 1 is -1, and the protocol's int64 carries it so.
      tcp(TCP_CLIENT, named(cart), named(redis), ['-1', 0]),
    ],
    source: 'TL2M adaptCommonPart: setReceivedBytes / setSentBytes copy the uint64 fields as Java longs',
  },
  // ---- gateways ----
  {
    name: 'a gateway entry with an upstream peer',
    node: nodeOf(gw), logs: { http: [gatewayEntry(gw, frontend, { path: '/cart' })] },
    skywalking: [
      http({ ...CLIENT, ...CLIENT_INTERNAL }, named(gw), named(frontend), { endpoint: 'GET:/cart' }),
      http({ ...GATEWAY_IN, ...CLIENT_INTERNAL }, UNKNOWN, named(gw), { endpoint: 'GET:/cart' }),
    ],
    source: 'ALA identify: router~ → PROXY; MX analysis: PROXY without downstreamExists adds SMIF unknown() → gateway via adaptToDownstreamMetrics',
  },
  {
    name: 'a gateway HTTP entry with empty filter state',
    node: nodeOf(gw), logs: { http: [gatewayEntry(gw, frontend, { peerEncoding: 'none' })] },
    skywalking: [],
    source: 'MX analysis: stateMap.isEmpty() returns before the PROXY rule; H: no hasResult, nothing sent',
  },
  {
    name: 'a gateway HTTP entry whose only peer cannot be read',
    node: nodeOf(gw), logs: { http: [withState(gatewayEntry(gw, frontend), { 'wasm.upstream_peer': truncatedFlatNode })] },
    skywalking: [http({ ...GATEWAY_IN, ...CLIENT_INTERNAL }, UNKNOWN, named(gw))],
    source: 'MX parseFilterObjectPrior124: the FlatNode throws, skipped; PROXY without downstreamExists → UNKNOWN, hasDownstreamMetrics(true)',
  },
  {
    name: 'a gateway TCP entry with an upstream peer',
    node: nodeOf(gw), logs: { tcp: [tcpCall(gw, frontend, { receivedBytes: 10, sentBytes: 20 }).client] },
    skywalking: [
      tcp(TCP_CLIENT, named(gw), named(frontend), [10, 20]),
      tcp({ ...GATEWAY_IN, ...TCP_CLIENT_INTERNAL }, UNKNOWN, named(gw), [10, 20]),
    ],
    source: 'MXT analysis: PROXY without downstreamExists adds the UNKNOWN metric; the upstream metric makes hasResult true',
  },
  {
    name: 'a gateway TCP entry without a usable peer',
    node: nodeOf(gw), logs: { tcp: [withState(tcpCall(gw, frontend).client, { ...peerIdOnly })] },
    skywalking: [],
    source: 'MXT analysis adds UNKNOWN without hasDownstreamMetrics(true); ALA Result.hasResult is false; H drops the result',
  },
  // ---- no peer at all ----
  {
    name: 'sidecar entries without peer metadata: outbound, inbound, TCP, and a filter state with no peer key',
    node: nodeOf(frontend),
    logs: { http: [
      httpCall(frontend, cart, { peerEncoding: 'none' }).client,
      httpCall(cart, frontend, { peerEncoding: 'none' }).server,
      withState(httpCall(frontend, cart).client, { ...peerIdOnly }),
    ] },
    skywalking: [],
    source: 'MX analysis: empty stateMap returns early; a stateMap without peer keys adds nothing; the node is a SIDECAR, not PROXY',
  },
  {
    name: 'a sidecar TCP entry without peer metadata',
    node: nodeOf(cart), logs: { tcp: [tcpCall(cart, redis, { peerEncoding: 'none' }).client] },
    skywalking: [],
    source: 'MXT analysis: empty stateMap returns early',
  },
  {
    name: 'an entry without common properties',
    node: nodeOf(frontend), logs: { http: [{ request: { request_method: 'GET', scheme: 'http', path: '/' } }] },
    skywalking: [],
    source: 'MX analysis: !entry.hasCommonProperties() returns the (empty) previous result',
  },
  // ---- corrupt peers ----
  {
    name: 'corrupt peers: a truncated FlatNode, a malformed Struct, an empty BytesValue, a FlatNode under a Struct key',
    node: nodeOf(frontend),
    logs: { http: [
      withState(httpCall(frontend, cart).client, { 'wasm.upstream_peer': truncatedFlatNode }),
      withState(httpCall(frontend, cart).client, { upstream_peer: corruptStruct }),
      withState(httpCall(frontend, cart).client, { 'wasm.upstream_peer': bytesValueAny(Buffer.alloc(0)) }),
      withState(httpCall(frontend, cart).client, { upstream_peer: flatNodePeerAny(flatNodeOf(cart)) }),
    ] },
    skywalking: [],
    source: 'MX parseFilterObject(Prior124): each adaptToServiceMetaInfo throws (FlatNode out of bounds, Struct parse, Any.unpack type check); caught, that key skipped',
  },
  {
    name: 'a corrupt Struct beside a readable FlatNode',
    node: nodeOf(frontend),
    logs: { http: [withState(httpCall(frontend, cart).client, { upstream_peer: corruptStruct, 'wasm.upstream_peer': flatNodePeerAny(flatNodeOf(cart)) })] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL }, named(frontend), named(cart))],
    source: 'MX: parseFilterObject skips the Struct; parseFilterObjectPrior124 reads the FlatNode',
  },
  // ---- the node ----
  {
    name: 'a node without metadata',
    node: bareNode(cart), logs: { http: [httpCall(frontend, cart).server] },
    skywalking: [http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), DASHES)],
    source: 'MX adaptToServiceMetaInfo(identifier): FH inflate of the empty metadata → -.- / -; SMIA appendTags: no tags',
  },
  {
    name: 'a stream whose first message has no node',
    node: undefined, logs: { http: [httpCall(frontend, cart).server] },
    skywalking: [http({ ...SERVER, ...SERVER_INTERNAL }, named(frontend), DASHES)],
    source: 'H: identifier = the first message\'s (empty) identifier; ALA identify: no node → NONE; MX inflates the empty Struct',
  },
  // ---- custom rules ----
  {
    name: '${NAME, NAMESPACE} and ${LABELS.app,} on node metadata and a 1.24+ Struct peer',
    rules: 'spacedAndTrailingComma',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL },
      { service: frontend.name, instance: 'frontend', props: tags(frontend.name, 'boutique') },
      // The Struct has no LABELS: ${LABELS.app,} is "-".
      { service: cart.name, instance: '-', props: tags(cart.name, 'boutique') })],
    source: 'FH init: Splitter.on(",").omitEmptyStrings() keeps "NAME" and " NAMESPACE", drops the empty candidate; NAME has a value',
  },
  {
    name: '${NAME, NAMESPACE} on a peer whose NAME is empty',
    rules: 'spacedAndTrailingComma',
    node: nodeOf(frontend),
    logs: { http: [withState(httpCall(frontend, cart).client, { upstream_peer: structPeerAny({ NAME: '', NAMESPACE: 'boutique', LABELS: { app: 'cartservice' } }) })] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL },
      { service: frontend.name, instance: 'frontend', props: tags(frontend.name, 'boutique') },
      { service: '-', instance: 'cartservice', props: tags('', 'boutique') })],
    source: 'FH: no trimResults, so " NAMESPACE" (with its space) matches no key: "-"; SMIA appendTags: pod "" as NAME exists',
  },
  {
    name: 'a rule with text after its last field',
    rules: 'trailingText',
    node: nodeOf(frontend), logs: { http: [httpCall(frontend, cart, { peerEncoding: 'flatnode' }).client] },
    skywalking: [http({ ...CLIENT, ...CLIENT_INTERNAL },
      { service: 'frontend.boutique', instance: frontend.name, props: tags(frontend.name, 'boutique') },
      { service: 'cartservice.boutique', instance: cart.name, props: tags(cart.name, 'boutique') })],
    source: 'FH init: appendReplacement without appendTail drops ".mesh"',
    difference: {
      readmeRow: 'Text after the last `${…}`',
      receiver: [http({ ...CLIENT, ...CLIENT_INTERNAL },
        { service: 'frontend.boutique.mesh', instance: frontend.name, props: tags(frontend.name, 'boutique') },
        { service: 'cartservice.boutique.mesh', instance: cart.name, props: tags(cart.name, 'boutique') })],
    },
  },
];
