// The OAP side of (b): a ServiceMeshMetricService/collect server with the receiver's own skywalking
// proto, which decodes what it gets, counts the metrics and notes how old each is (now - startTime).
import * as grpc from '@grpc/grpc-js';
import type { ServiceMeshMetricsWire } from '../src/skywalking-protos';
import { announce, serveStats } from './ipc';
import { LatencyHistogram } from './latency';

const { meshMetricServiceDefinition } = require('../dist/skywalking-protos') as typeof import('../src/skywalking-protos');

const latency = new LatencyHistogram();
let delivered = 0;

const server = new grpc.Server();
server.addService(meshMetricServiceDefinition(), {
  collect: (call: grpc.ServerReadableStream<ServiceMeshMetricsWire, object>, cb: grpc.sendUnaryData<object>) => {
    call.on('data', (m: ServiceMeshMetricsWire) => {
      const metrics = m.httpMetrics?.metrics ?? m.tcpMetrics?.metrics ?? [];
      const now = Date.now();
      for (const x of metrics) latency.add(now - x.startTime);
      delivered += metrics.length;
    });
    call.on('end', () => cb(null, {}));
    call.on('error', () => undefined);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  serveStats((final) => ({ type: 'stats', delivered, latency: final ? latency.toPairs() : undefined }));
  announce(port);
});
