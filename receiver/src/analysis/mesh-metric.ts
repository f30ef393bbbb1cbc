// The one shape that flows from analysis to every sink. Field names and meanings follow SkyWalking's
// service-mesh probe protocol (skywalking.v3 HTTPServiceMeshMetric / TCPServiceMeshMetric), so the OAP
// sink is a plain mapping and the memory/jsonl sinks show exactly what OAP would receive.
import type { Int64 } from './int64';

export type DetectPoint = 'client' | 'server' | 'proxy';
export type HttpProtocol = 'HTTP' | 'gRPC';
export type TlsMode = 'NONE' | 'TLS' | 'mTLS';

/** Where a workload runs, as far as peer metadata tells; shown by the memory sink's topology. */
export type Platform = 'kubernetes' | 'vm' | 'unknown';

interface MeshMetricBase {
  /** Milliseconds since the epoch. */
  startTime: number;
  endTime: number;
  sourceServiceName: string;
  sourceServiceInstance: string;
  destServiceName: string;
  destServiceInstance: string;
  detectPoint: DetectPoint;
  tlsMode: TlsMode;
  /** Envoy response flags in SkyWalking's words (e.g. `no_healthy_upstream`), empty when none. */
  internalErrorCode: string;
  /** int64 on the wire: exact (a BigInt beyond 2^53). */
  internalRequestLatencyNanos: Int64;
  internalResponseLatencyNanos: Int64;
  /**
   * Facts about each side, sent as KeyStringValuePair lists in this order: SkyWalking's `pod` and
   * `namespace`, or ours too with --instance-properties extended (cluster, workload, platform …).
   */
  sourceInstanceProperties: Readonly<Record<string, string>>;
  destInstanceProperties: Readonly<Record<string, string>>;
}

export interface HttpMeshMetric extends MeshMetricBase {
  kind: 'http';
  endpoint: string;
  /** Milliseconds, at least 1. */
  latency: number;
  responseCode: number;
  /** SkyWalking's rule: a client-side call succeeds below 400, a server-side one below 500. */
  status: boolean;
  protocol: HttpProtocol;
}

export interface TcpMeshMetric extends MeshMetricBase {
  kind: 'tcp';
  /** uint64 on the wire: exact (a BigInt beyond 2^53). */
  receivedBytes: Int64;
  sentBytes: Int64;
}

export type MeshMetric = HttpMeshMetric | TcpMeshMetric;

/** Property key, in source/destInstanceProperties, that carries the Platform of that side. */
export const PLATFORM_PROPERTY = 'platform';
