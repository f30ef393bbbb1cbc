// The ALS entries both sidecars of one call write, as Envoy's ALS delivers them: the client's (outbound,
// `upstream_peer`) and the server's (inbound, `downstream_peer`), HTTP or TCP, with Envoy's timings, TLS
// properties and response flags, and the StreamAccessLogsMessage that carries them. Used by the traffic
// replayer and the tests.
//
//   const { client, server } = httpCall(pod('frontend', 'boutique'), vm('checkoutservice', 'boutique'));
//   // client: what frontend's sidecar logs (node: nodeOf(frontend)); server: checkout's (nodeOf(checkout)).
import type {
  HttpAccessLogEntry, Node, StreamAccessLogsMessage, TcpAccessLogEntry, TlsProperties,
} from '../als/envoy-protos';
import { type PeerEncoding, type WorkloadSpec, peerFilterState, spiffeOf } from './workloads';

/** Milliseconds after the entry's start_time, as Envoy measures them (fractions allowed). */
export interface Timing {
  lastRx: number;
  firstUpstreamTx: number;
  lastUpstreamTx: number;
  firstUpstreamRx: number;
  lastUpstreamRx: number;
  firstDownstreamTx: number;
  lastDownstreamTx: number;
}

/** A 10 ms call as the client's sidecar sees it. */
export const CLIENT_TIMING: Timing = {
  lastRx: 0.082, firstUpstreamTx: 1.253, lastUpstreamTx: 1.262, firstUpstreamRx: 9.8,
  lastUpstreamRx: 10.435, firstDownstreamTx: 10.11, lastDownstreamTx: 10.746,
};

/** The same call on the server's sidecar: it starts 1.5 ms later and ends before the client's. */
export const SERVER_TIMING: Timing = {
  lastRx: 0.127, firstUpstreamTx: 0.841, lastUpstreamTx: 0.854, firstUpstreamRx: 7.617,
  lastUpstreamRx: 7.797, firstDownstreamTx: 7.764, lastDownstreamTx: 7.811,
};

/** Offset of the server entry's start from the client entry's, in ms. */
export const SERVER_START_DELAY_MS = 1.5;

/** 2026-11-25T12:00:00.123456789Z */
export const DEFAULT_START: { seconds: number; nanos: number } = { seconds: 1_764_072_000, nanos: 123_456_789 };

export interface CallOptions {
  start?: { seconds: number; nanos: number };
  /** Which keys carry peer metadata; 'none' for a peer outside the mesh. */
  peerEncoding?: PeerEncoding | 'none';
  /** The server's sidecar's keys when they differ from the client's (sidecars of two Istio versions). */
  serverPeerEncoding?: PeerEncoding | 'none';
  /** TLS between the sidecars, as the server's sidecar sees it. */
  tls?: 'none' | 'tls' | 'mtls';
  responseFlags?: Record<string, boolean>;
  /** The server's sidecar's flags when they differ from the client's (e.g. only it saw its app reset). */
  serverResponseFlags?: Record<string, boolean>;
  clientTiming?: Partial<Timing>;
  serverTiming?: Partial<Timing>;
}

export interface HttpCallOptions extends CallOptions {
  /** HTTP2 for gRPC; default HTTP11. */
  protocolVersion?: 'HTTP10' | 'HTTP11' | 'HTTP2' | 'HTTP3';
  method?: string;
  path?: string;
  scheme?: string;
  /** undefined: Envoy logged no response code. */
  responseCode?: number | null;
  requestHeaders?: Record<string, string>;
  responseTrailers?: Record<string, string>;
}

export interface TcpCallOptions extends CallOptions {
  /** Bytes the server received from / sent to the client. */
  receivedBytes?: number;
  sentBytes?: number;
}

function duration(ms: number): { seconds: number; nanos: number } {
  const totalNanos = Math.round(ms * 1e6);
  return { seconds: Math.floor(totalNanos / 1e9), nanos: totalNanos % 1e9 };
}

function addMs(t: { seconds: number; nanos: number }, ms: number): { seconds: number; nanos: number } {
  const d = duration(ms);
  const nanos = t.nanos + d.nanos;
  return { seconds: t.seconds + d.seconds + Math.floor(nanos / 1e9), nanos: nanos % 1e9 };
}

function addr(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

function timings(t: Timing) {
  return {
    time_to_last_rx_byte: duration(t.lastRx),
    time_to_first_upstream_tx_byte: duration(t.firstUpstreamTx),
    time_to_last_upstream_tx_byte: duration(t.lastUpstreamTx),
    time_to_first_upstream_rx_byte: duration(t.firstUpstreamRx),
    time_to_last_upstream_rx_byte: duration(t.lastUpstreamRx),
    time_to_first_downstream_tx_byte: duration(t.firstDownstreamTx),
    time_to_last_downstream_tx_byte: duration(t.lastDownstreamTx),
  };
}

function tlsOf(mode: 'none' | 'tls' | 'mtls', server: WorkloadSpec, client: WorkloadSpec): TlsProperties | undefined {
  if (mode === 'none') return undefined;
  const local = { subject_alt_name: [{ uri: spiffeOf(server) }] };
  return mode === 'tls'
    ? { tls_version: 'TLSv1_3', local_certificate_properties: local }
    : { tls_version: 'TLSv1_3', local_certificate_properties: local, peer_certificate_properties: { subject_alt_name: [{ uri: spiffeOf(client) }] } };
}

/** The common properties both sidecars of a call log, each from its own point of view. */
function commonOf(side: 'client' | 'server', client: WorkloadSpec, server: WorkloadSpec, o: CallOptions) {
  const start = o.start ?? DEFAULT_START;
  const encoding = (side === 'server' ? o.serverPeerEncoding : undefined) ?? o.peerEncoding ?? 'struct';
  const host = `${server.app}.${server.namespace}.svc.cluster.local`;
  if (side === 'client') {
    // The app dialled the Service (its VIP and port); the sidecar picked an endpoint (the workload's IP and port).
    const servicePort = server.servicePort ?? server.port;
    return {
      downstream_remote_address: addr(client.ip, 47_312),
      downstream_local_address: addr('10.12.5.20', servicePort),
      start_time: start,
      ...timings({ ...CLIENT_TIMING, ...o.clientTiming }),
      upstream_remote_address: addr(server.ip, server.port),
      upstream_local_address: addr(client.ip, 51_944),
      upstream_cluster: `outbound|${servicePort}||${host}`,
      response_flags: o.responseFlags,
      filter_state_objects: encoding === 'none' ? undefined : peerFilterState('upstream', server, encoding),
    };
  }
  return {
    downstream_remote_address: addr(client.ip, 51_944),
    downstream_local_address: addr(server.ip, server.port),
    tls_properties: tlsOf(o.tls ?? 'mtls', server, client),
    start_time: addMs(start, SERVER_START_DELAY_MS),
    ...timings({ ...SERVER_TIMING, ...o.serverTiming }),
    upstream_remote_address: addr(server.ip, server.port),
    upstream_local_address: addr('127.0.0.6', 40_115),
    upstream_cluster: `inbound|${server.port}||`,
    response_flags: o.serverResponseFlags ?? o.responseFlags,
    filter_state_objects: encoding === 'none' ? undefined : peerFilterState('downstream', client, encoding),
  };
}

function httpEntryOf(side: 'client' | 'server', client: WorkloadSpec, server: WorkloadSpec, o: HttpCallOptions): HttpAccessLogEntry {
  const code = o.responseCode === undefined ? 200 : o.responseCode;
  return {
    common_properties: commonOf(side, client, server, o),
    protocol_version: o.protocolVersion ?? 'HTTP11',
    request: {
      request_method: o.method ?? 'GET',
      scheme: o.scheme ?? 'http',
      authority: `${server.app}.${server.namespace}:${server.servicePort ?? server.port}`,
      path: o.path ?? '/',
      user_agent: 'python-requests/2.31.0',
      request_headers_bytes: 512,
      request_headers: o.requestHeaders,
    },
    response: {
      response_code: code === null ? undefined : { value: code },
      response_headers_bytes: 130,
      response_body_bytes: 1_734,
      response_trailers: o.responseTrailers,
    },
  };
}

/** Both entries of one HTTP call: `client` from the caller's sidecar (outbound), `server` from the callee's (inbound). */
export function httpCall(client: WorkloadSpec, server: WorkloadSpec, o: HttpCallOptions = {}): { client: HttpAccessLogEntry; server: HttpAccessLogEntry } {
  return { client: httpEntryOf('client', client, server, o), server: httpEntryOf('server', client, server, o) };
}

/** Both entries of one TCP connection (e.g. cartservice to redis-cart). */
export function tcpCall(client: WorkloadSpec, server: WorkloadSpec, o: TcpCallOptions = {}): { client: TcpAccessLogEntry; server: TcpAccessLogEntry } {
  const received = o.receivedBytes ?? 2_048;
  const sent = o.sentBytes ?? 16_384;
  return {
    // The client's sidecar receives what the client sends and sends back what the server answered.
    client: { common_properties: commonOf('client', client, server, o), connection_properties: { received_bytes: received, sent_bytes: sent } },
    server: { common_properties: commonOf('server', client, server, o), connection_properties: { received_bytes: received, sent_bytes: sent } },
  };
}

/**
 * What the ingress gateway logs for a request from outside the mesh to `server`: no downstream peer, the
 * upstream peer in `peerEncoding`.
 */
export function gatewayEntry(gw: WorkloadSpec, server: WorkloadSpec, o: HttpCallOptions = {}): HttpAccessLogEntry {
  const entry = httpEntryOf('client', gw, server, o);
  entry.common_properties!.downstream_remote_address = addr('203.0.113.7', 50_122);
  entry.common_properties!.downstream_local_address = addr(gw.ip, 8080);
  return entry;
}

// ---- stream messages ----

/** A StreamAccessLogsMessage as a sidecar sends it; pass `node` on a stream's first message only. */
export function alsMessage(
  logs: { http: HttpAccessLogEntry[] } | { tcp: TcpAccessLogEntry[] },
  node?: Node,
): StreamAccessLogsMessage {
  const identifier = node ? { identifier: { node, log_name: 'envoy_accesslog_service' } } : {};
  return 'http' in logs ? { ...identifier, http_logs: { log_entry: logs.http } } : { ...identifier, tcp_logs: { log_entry: logs.tcp } };
}
