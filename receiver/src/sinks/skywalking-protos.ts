// Our own copy of SkyWalking's service-mesh probe protocol (receiver/proto/skywalking), loaded once with
// proto-loader. The OAP sink is its client; tests use the same definition to play the OAP.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

/** receiver/proto, found from both src/ (tsx) and dist/ (built): each sits one level under receiver/. */
export const SKYWALKING_PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
export const SERVICE_MESH_PROTO = 'skywalking/service-mesh.proto';
export const MESH_METRIC_SERVICE = 'skywalking.v3.ServiceMeshMetricService';

/** Field names exactly as in the .proto (they are camelCase already); int64 as Number (ms, bytes, ns fit). */
export const SKYWALKING_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [SKYWALKING_PROTO_DIR],
};

let cached: protoLoader.PackageDefinition | undefined;

export function loadSkywalkingProtos(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(SERVICE_MESH_PROTO, SKYWALKING_LOADER_OPTIONS);
  return cached;
}

export function meshMetricServiceDefinition(): grpc.ServiceDefinition {
  return loadSkywalkingProtos()[MESH_METRIC_SERVICE] as grpc.ServiceDefinition;
}

/**
 * The collect request encoder the oap sink sends with: protobufjs's encoder for ServiceMeshMetrics run
 * straight on plain objects, skipping proto-loader's per-message fromObject copy (a fifth of the sink's
 * time in the profile). It takes the wire shape below with the two enums as their numbers
 * (`EncodableServiceMeshMetrics`); `enumNumbers` gives those numbers from the same .proto.
 */
export function meshMetricsEncoder(): {
  encode: (m: EncodableServiceMeshMetrics) => Buffer;
  enumNumbers: { protocol: Record<HttpMeshMetricWire['protocol'], number>; detectPoint: Record<MeshMetricWireBase['detectPoint'], number> };
} {
  const root = skywalkingRoot();
  const type = root.lookupType('skywalking.v3.ServiceMeshMetrics');
  const values = (name: string) => root.lookupEnum(`skywalking.v3.${name}`).values;
  return {
    encode: (m) => type.encode(m as unknown as protobuf.Message).finish() as Buffer,
    enumNumbers: {
      protocol: values('Protocol') as Record<HttpMeshMetricWire['protocol'], number>,
      detectPoint: values('DetectPoint') as Record<MeshMetricWireBase['detectPoint'], number>,
    },
  };
}

let root: protobuf.Root | undefined;

/** The .proto parsed by protobufjs (field names as written), once. */
function skywalkingRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(SKYWALKING_PROTO_DIR, target);
    root.loadSync(SERVICE_MESH_PROTO, { keepCase: true });
  }
  return root;
}

/**
 * Field numbers of the collect request's messages, read from the .proto, for the oap sink's own
 * writer: it writes the wire format directly, so its tags come from here rather than from literals.
 */
export function meshMetricFieldNumbers(): {
  batch: Record<'httpMetrics' | 'tcpMetrics', number>;
  list: Record<'metrics', number>;
  http: Record<keyof HttpMeshMetricWire, number>;
  tcp: Record<keyof TcpMeshMetricWire, number>;
  pair: Record<keyof KeyStringValuePair, number>;
} {
  const r = skywalkingRoot();
  const ids = <K extends string>(type: string, names: readonly K[]): Record<K, number> => {
    const t = r.lookupType(`skywalking.v3.${type}`);
    const out = {} as Record<K, number>;
    for (const n of names) {
      const field = t.fields[n];
      if (!field) throw new Error(`skywalking.v3.${type} has no field ${n}; fields: ${Object.keys(t.fields).join(', ')}`);
      out[n] = field.id;
    }
    return out;
  };
  const base = [
    'startTime', 'endTime', 'sourceServiceName', 'sourceServiceInstance', 'destServiceName', 'destServiceInstance',
    'detectPoint', 'tlsMode', 'internalErrorCode', 'internalRequestLatencyNanos', 'internalResponseLatencyNanos',
    'sourceInstanceProperties', 'destInstanceProperties',
  ] as const;
  const httpList = r.lookupType('skywalking.v3.HTTPServiceMeshMetrics');
  const tcpList = r.lookupType('skywalking.v3.TCPServiceMeshMetrics');
  if (httpList.fields.metrics?.id !== tcpList.fields.metrics?.id) throw new Error('HTTP and TCP metric lists differ in the number of their metrics field');
  return {
    batch: ids('ServiceMeshMetrics', ['httpMetrics', 'tcpMetrics']),
    list: ids('HTTPServiceMeshMetrics', ['metrics']),
    http: ids('HTTPServiceMeshMetric', [...base, 'endpoint', 'latency', 'responseCode', 'status', 'protocol']),
    tcp: ids('TCPServiceMeshMetric', [...base, 'receivedBytes', 'sentBytes']),
    pair: ids('KeyStringValuePair', ['key', 'value']),
  };
}

/** ServiceMeshMetrics with enums as numbers, as meshMetricsEncoder's encode takes it. */
export type EncodableServiceMeshMetrics =
  | { httpMetrics: { metrics: (Omit<HttpMeshMetricWire, 'protocol' | 'detectPoint'> & { protocol: number; detectPoint: number })[] } }
  | { tcpMetrics: { metrics: (Omit<TcpMeshMetricWire, 'detectPoint'> & { detectPoint: number })[] } };

// ---- wire shapes (as proto-loader encodes/decodes them with the options above) ----

export interface KeyStringValuePair { key: string; value: string }

/**
 * An int64 as proto-loader decodes it: a number with SKYWALKING_LOADER_OPTIONS (exact up to 2^53), a
 * decimal string with `longs: String` (exact); protobufjs's encoder takes either.
 */
export type Int64Wire = number | string;

export interface MeshMetricWireBase {
  startTime: number;
  endTime: number;
  sourceServiceName: string;
  sourceServiceInstance: string;
  destServiceName: string;
  destServiceInstance: string;
  detectPoint: 'client' | 'server' | 'proxy';
  tlsMode: string;
  internalErrorCode: string;
  internalRequestLatencyNanos: Int64Wire;
  internalResponseLatencyNanos: Int64Wire;
  sourceInstanceProperties: KeyStringValuePair[];
  destInstanceProperties: KeyStringValuePair[];
}

export interface HttpMeshMetricWire extends MeshMetricWireBase {
  endpoint: string;
  latency: number;
  responseCode: number;
  status: boolean;
  protocol: 'HTTP' | 'gRPC';
}

export interface TcpMeshMetricWire extends MeshMetricWireBase {
  receivedBytes: Int64Wire;
  sentBytes: Int64Wire;
}

export interface ServiceMeshMetricsWire {
  httpMetrics?: { metrics: HttpMeshMetricWire[] };
  tcpMetrics?: { metrics: TcpMeshMetricWire[] };
  metrics?: 'httpMetrics' | 'tcpMetrics';
}
