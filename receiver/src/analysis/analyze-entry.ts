// How one ALS entry becomes one metric once its two sides are known: the meaning of SkyWalking's
// LogEntry2MetricsAdapter and TCPLogEntry2MetricsAdapter (apache/skywalking envoy-metrics-receiver-plugin
// als/, als/tcp/). One deliberate difference (receiver/README.md): latencies in nanoseconds use whole
// durations (SkyWalking reads only the sub-second part) and a negative one is 0. The protocol is
// SkyWalking's by default; `--protocol-detection grpc` also tells gRPC by its wire shape.
import type { Workload } from './analyze-workload';
import type {
  AccessLogCommon, Duration, HttpAccessLogEntry, TcpAccessLogEntry, Timestamp, TlsProperties,
} from '../als/envoy-protos';
import { Int64, int64Of, max, mulAdd, sub } from './int64';
import type { DetectPoint, HttpMeshMetric, HttpProtocol, TcpMeshMetric, TlsMode } from './mesh-metric';

/** Client side: this sidecar called the peer (an `upstream_peer` entry); server side: the peer called it. */
export type Side = 'client' | 'server';

const DETECT_POINT: Record<Side, DetectPoint> = { client: 'client', server: 'server' };

/**
 * Milliseconds, as Java's Instant.toEpochMilli: whole seconds plus whole milliseconds of the nanos. A
 * number: times and durations in ms stay exact up to 2^53 ms (285,000 years).
 */
export function millis(t: Timestamp | Duration | undefined): number {
  if (!t) return 0;
  return (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** A whole duration in nanoseconds, exact (int64 on the wire). */
function nanos(d: Duration | undefined): Int64 {
  if (!d) return 0;
  return mulAdd(d.seconds ?? 0, 1e9, d.nanos ?? 0);
}

/**
 * Start and end of the call as this side saw it. Client: from the first byte sent upstream to the last
 * byte received from upstream. Server: from the start of the downstream request to its last byte sent back.
 */
export function sideTimes(cp: AccessLogCommon, side: Side): { start: number; end: number } {
  const start = millis(cp.start_time);
  if (side === 'client') {
    return { start: start + millis(cp.time_to_first_upstream_tx_byte), end: start + millis(cp.time_to_last_upstream_rx_byte) };
  }
  return { start, end: start + millis(cp.time_to_last_downstream_tx_byte) };
}

/** `METHOD:path` as SkyWalking writes it (Java's enum name when the method is unset), `/` without a request. */
export function endpointOf(entry: HttpAccessLogEntry): string {
  const req = entry.request;
  if (!req) return '/';
  const method = req.request_method ?? 'METHOD_UNSPECIFIED';
  const path = req.path ?? '';
  // The same few endpoints over and over: one string each (the decoder hands out one path string per
  // distinct path), rather than a new concatenation per metric that the sink then flattens and hashes.
  let byPath = ENDPOINTS.get(method);
  if (!byPath) ENDPOINTS.set(method, (byPath = new Map()));
  let endpoint = byPath.get(path);
  if (endpoint === undefined) {
    if (endpointsCached >= MAX_ENDPOINTS) { ENDPOINTS.clear(); endpointsCached = 0; byPath = new Map(); ENDPOINTS.set(method, byPath); }
    byPath.set(path, (endpoint = `${method}:${path}`));
    endpointsCached++;
  }
  return endpoint;
}
const ENDPOINTS = new Map<string, Map<string, string>>();
/** Paths can be many (ids in them): the cache starts over beyond this. */
const MAX_ENDPOINTS = 10_000;
let endpointsCached = 0;

/** The response code, 200 when Envoy logged none (0 or absent). */
export function responseCodeOf(entry: HttpAccessLogEntry): number {
  const code = entry.response?.response_code?.value ?? 0;
  return code > 0 ? code : 200;
}

/** SkyWalking: a server side call fails on 5xx; the client side also counts 4xx as failed. */
export function statusOf(code: number, side: Side): boolean {
  return side === 'client' ? code < 400 : code < 500;
}

/**
 * How the protocol is told: `skywalking`, as LogEntry2MetricsAdapter.requestProtocol: HTTP when the
 * scheme starts with "http", otherwise gRPC (an entry with no request or no scheme is gRPC, since Java
 * reads the proto's defaults); `grpc`, ours: see grpcAwareProtocolOf.
 */
export const PROTOCOL_DETECTIONS = ['skywalking', 'grpc'] as const;
export type ProtocolDetection = (typeof PROTOCOL_DETECTIONS)[number];

export function skywalkingProtocolOf(entry: HttpAccessLogEntry): HttpProtocol {
  return entry.request?.scheme?.startsWith('http') ? 'HTTP' : 'gRPC';
}

/**
 * gRPC when Envoy logged a gRPC content type or a grpc-status (only if the mesh is configured to log those
 * headers), when the request's scheme is set and is not http/https, or when the request has the shape
 * every gRPC call has on the wire; otherwise HTTP (also with no request or no scheme).
 */
export function grpcAwareProtocolOf(entry: HttpAccessLogEntry): HttpProtocol {
  const req = entry.request;
  if (!req) return 'HTTP';
  if (req.request_headers?.['content-type']?.startsWith('application/grpc')) return 'gRPC';
  const res = entry.response;
  if (res?.response_trailers?.['grpc-status'] !== undefined || res?.response_headers?.['grpc-status'] !== undefined) {
    return 'gRPC';
  }
  if (req.scheme && !req.scheme.startsWith('http')) return 'gRPC';
  // Istio's default ALS logs no headers, so also read the gRPC wire convention from what it does log:
  // an HTTP/2 POST to `/package.Service/Method` (gRPC over HTTP/2 spec, "Path → / Service-Name / {method}").
  if (entry.protocol_version === 'HTTP2' && req.request_method === 'POST' && req.path && GRPC_PATH.test(req.path)) return 'gRPC';
  return 'HTTP';
}

/** `/hipstershop.CartService/GetCart`: a dotted, fully qualified service, then a method; no query. */
const GRPC_PATH = /^\/[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+\/[A-Za-z_]\w*$/;

type CertProps = TlsProperties['local_certificate_properties'];

/** A certificate counts when it has a subject or a URI SAN (SkyWalking ignores DNS SANs). */
function hasCertificate(c: CertProps): boolean {
  return !!c && (!!c.subject || (c.subject_alt_name ?? []).some((san) => !!san.uri));
}

/** NONE without a local certificate, TLS with only a local one, mTLS when the peer showed one too. */
export function tlsModeOf(tls: TlsProperties | undefined): TlsMode {
  if (!tls || !hasCertificate(tls.local_certificate_properties)) return 'NONE';
  return hasCertificate(tls.peer_certificate_properties) ? 'mTLS' : 'TLS';
}

/**
 * Envoy's response flags SkyWalking reports, in its order of precedence (the first set flag wins); its
 * internal error codes are these ResponseFlags field names. Flags it does not list give ''.
 */
export const RESPONSE_FLAGS: readonly string[] = [
  'failed_local_healthcheck', 'no_healthy_upstream', 'upstream_request_timeout', 'local_reset',
  'upstream_connection_failure', 'upstream_connection_termination', 'upstream_overflow', 'no_route_found',
  'delay_injected', 'fault_injected', 'rate_limited', 'unauthorized_details', 'rate_limit_service_error',
  'downstream_connection_termination', 'upstream_retry_limit_exceeded', 'stream_idle_timeout',
  'invalid_envoy_request_headers', 'downstream_protocol_error',
];

export function internalErrorCodeOf(flags: Record<string, unknown> | undefined): string {
  if (!flags) return '';
  for (const flag of RESPONSE_FLAGS) {
    const v = flags[flag];
    // Booleans, except unauthorized_details: a message whose presence is the flag.
    if (v === true || (v !== null && typeof v === 'object')) return flag;
  }
  return '';
}

/**
 * Time spent before the first byte went upstream, and between upstream's answer and ours: whole
 * durations, never negative (SkyWalking subtracts the nanos fields alone; see receiver/README.md).
 */
function internalLatencies(cp: AccessLogCommon, responseEnd: Duration | undefined): [Int64, Int64] {
  const request = max(0, nanos(cp.time_to_first_upstream_tx_byte));
  const response = max(0, sub(nanos(responseEnd), nanos(cp.time_to_first_upstream_rx_byte)));
  return [request, response];
}

export function adaptHttp(
  entry: HttpAccessLogEntry, cp: AccessLogCommon, side: Side, source: Workload, dest: Workload,
  protocolOf: (entry: HttpAccessLogEntry) => HttpProtocol = skywalkingProtocolOf,
): HttpMeshMetric {
  const { start, end } = sideTimes(cp, side);
  const responseCode = responseCodeOf(entry);
  const [internalRequestLatencyNanos, internalResponseLatencyNanos] = internalLatencies(cp, cp.time_to_first_downstream_tx_byte);
  return {
    kind: 'http',
    startTime: start,
    endTime: end,
    sourceServiceName: source.service,
    sourceServiceInstance: source.instance,
    destServiceName: dest.service,
    destServiceInstance: dest.instance,
    endpoint: endpointOf(entry),
    latency: Math.max(1, end - start),
    responseCode,
    status: statusOf(responseCode, side),
    protocol: protocolOf(entry),
    detectPoint: DETECT_POINT[side],
    // The entry's TLS properties describe the downstream connection; SkyWalking marks client sides NONE.
    tlsMode: side === 'client' ? 'NONE' : tlsModeOf(cp.tls_properties),
    internalErrorCode: internalErrorCodeOf(cp.response_flags),
    internalRequestLatencyNanos,
    internalResponseLatencyNanos,
    sourceInstanceProperties: source.properties,
    destInstanceProperties: dest.properties,
  };
}

export function adaptTcp(
  entry: TcpAccessLogEntry, cp: AccessLogCommon, side: Side, source: Workload, dest: Workload,
): TcpMeshMetric {
  const { start, end } = sideTimes(cp, side);
  const [internalRequestLatencyNanos, internalResponseLatencyNanos] = internalLatencies(cp, cp.time_to_last_downstream_tx_byte);
  return {
    kind: 'tcp',
    startTime: start,
    endTime: end,
    sourceServiceName: source.service,
    sourceServiceInstance: source.instance,
    destServiceName: dest.service,
    destServiceInstance: dest.instance,
    detectPoint: DETECT_POINT[side],
    tlsMode: side === 'client' ? 'NONE' : tlsModeOf(cp.tls_properties),
    internalErrorCode: internalErrorCodeOf(cp.response_flags),
    internalRequestLatencyNanos,
    internalResponseLatencyNanos,
    sourceInstanceProperties: source.properties,
    destInstanceProperties: dest.properties,
    receivedBytes: int64Of(entry.connection_properties?.received_bytes),
    sentBytes: int64Of(entry.connection_properties?.sent_bytes),
  };
}
