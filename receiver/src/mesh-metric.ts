// The one shape that flows from analysis to every sink. Field names and meanings follow SkyWalking's
// service-mesh probe protocol (skywalking.v3 HTTPServiceMeshMetric / TCPServiceMeshMetric), so the OAP
// sink is a plain mapping and the memory/jsonl sinks show exactly what OAP would receive.

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
  internalRequestLatencyNanos: number;
  internalResponseLatencyNanos: number;
  /** Extra facts about each side (namespace, cluster, platform …); sent as KeyStringValuePair lists. */
  sourceInstanceProperties: Record<string, string>;
  destInstanceProperties: Record<string, string>;
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
  receivedBytes: number;
  sentBytes: number;
}

export type MeshMetric = HttpMeshMetric | TcpMeshMetric;

/** Property key, in source/destInstanceProperties, that carries the Platform of that side. */
export const PLATFORM_PROPERTY = 'platform';
