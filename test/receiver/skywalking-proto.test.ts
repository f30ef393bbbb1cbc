import { strict as assert } from 'node:assert';
import { loadSkywalkingProtos } from '../../receiver/src/sinks/skywalking-protos';

// The wire contract with OAP 10.x (DESIGN.md section 3): name -> [field number, type] for every field.
const COMMON = {
  startTime: [1, 'TYPE_INT64'], endTime: [2, 'TYPE_INT64'],
  sourceServiceName: [3, 'TYPE_STRING'], sourceServiceInstance: [4, 'TYPE_STRING'],
  destServiceName: [5, 'TYPE_STRING'], destServiceInstance: [6, 'TYPE_STRING'],
} as const;

const MESSAGES: Record<string, Record<string, readonly [number, string]>> = {
  KeyStringValuePair: { key: [1, 'TYPE_STRING'], value: [2, 'TYPE_STRING'] },
  ServiceMeshMetrics: { httpMetrics: [1, 'TYPE_MESSAGE'], tcpMetrics: [2, 'TYPE_MESSAGE'] },
  HTTPServiceMeshMetrics: { metrics: [1, 'TYPE_MESSAGE'] },
  TCPServiceMeshMetrics: { metrics: [1, 'TYPE_MESSAGE'] },
  HTTPServiceMeshMetric: {
    ...COMMON, endpoint: [7, 'TYPE_STRING'], latency: [8, 'TYPE_INT32'], responseCode: [9, 'TYPE_INT32'],
    status: [10, 'TYPE_BOOL'], protocol: [11, 'TYPE_ENUM'], detectPoint: [12, 'TYPE_ENUM'], tlsMode: [13, 'TYPE_STRING'],
    internalErrorCode: [14, 'TYPE_STRING'], internalRequestLatencyNanos: [15, 'TYPE_INT64'],
    internalResponseLatencyNanos: [16, 'TYPE_INT64'], sourceInstanceProperties: [17, 'TYPE_MESSAGE'],
    destInstanceProperties: [18, 'TYPE_MESSAGE'],
  },
  TCPServiceMeshMetric: {
    ...COMMON, detectPoint: [7, 'TYPE_ENUM'], tlsMode: [8, 'TYPE_STRING'], internalErrorCode: [9, 'TYPE_STRING'],
    internalRequestLatencyNanos: [10, 'TYPE_INT64'], internalResponseLatencyNanos: [11, 'TYPE_INT64'],
    sourceInstanceProperties: [12, 'TYPE_MESSAGE'], destInstanceProperties: [13, 'TYPE_MESSAGE'],
    receivedBytes: [14, 'TYPE_INT64'], sentBytes: [15, 'TYPE_INT64'],
  },
  MeshProbeDownstream: {},
};

const ENUMS: Record<string, Record<string, number>> = {
  DetectPoint: { client: 0, server: 1, proxy: 2 },
  Protocol: { HTTP: 0, gRPC: 1 },
};

interface Descriptor { type: { field?: { name: string; number: number; type: string; label: string }[]; value?: { name: string; number: number }[] } }

describe('our skywalking.v3 service-mesh proto', () => {
  const defs = loadSkywalkingProtos();
  const get = (name: string) => defs[`skywalking.v3.${name}`] as unknown as Descriptor;

  for (const [message, fields] of Object.entries(MESSAGES)) {
    it(`gives ${message} exactly the field names, numbers and types of the OAP's protocol`, () => {
      const actual = Object.fromEntries((get(message).type.field ?? []).map((f) => [f.name, [f.number, f.type]]));
      assert.deepEqual(actual, fields);
    });
  }

  for (const [name, values] of Object.entries(ENUMS)) {
    it(`gives enum ${name} exactly the OAP's values`, () => {
      assert.deepEqual(Object.fromEntries((get(name).type.value ?? []).map((v) => [v.name, v.number])), values);
    });
  }

  it('makes the metrics and instance properties repeated fields', () => {
    const repeated = (m: string, f: string) => get(m).type.field!.find((x) => x.name === f)!.label;
    for (const [m, f] of [['HTTPServiceMeshMetrics', 'metrics'], ['TCPServiceMeshMetrics', 'metrics'],
      ['HTTPServiceMeshMetric', 'sourceInstanceProperties'], ['TCPServiceMeshMetric', 'destInstanceProperties']]) {
      assert.equal(repeated(m!, f!), 'LABEL_REPEATED', `${m}.${f}`);
    }
  });

  it('serves collect as a client stream of ServiceMeshMetrics answered by one MeshProbeDownstream', () => {
    const collect = (defs['skywalking.v3.ServiceMeshMetricService'] as Record<string, {
      path: string; requestStream: boolean; responseStream: boolean;
      requestType: { type: { name: string } }; responseType: { type: { name: string } };
    }>).collect!;
    assert.deepEqual(
      [collect.path, collect.requestStream, collect.responseStream, collect.requestType.type.name, collect.responseType.type.name],
      ['/skywalking.v3.ServiceMeshMetricService/collect', true, false, 'ServiceMeshMetrics', 'MeshProbeDownstream'],
    );
  });
});
