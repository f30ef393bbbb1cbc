// (a) the limit: a grpc-js server with the receiver's own StreamAccessLogs definition (the same Envoy
// protos and the same decoder), which only decodes each message, counts its entries and notes how old
// they are, then discards them.
import * as grpc from '@grpc/grpc-js';
import type { StreamAccessLogsMessage } from '../src/als/envoy-protos';
import { performance } from 'node:perf_hooks';
import { announce, serveStats } from './ipc';
import { LatencyHistogram, timestampMs } from './latency';
import { widenLikeTheReceiver } from './anchor-window';

const { alsServiceDefinition } = require('../dist/als/envoy-protos') as typeof import('../src/als/envoy-protos');

const latency = new LatencyHistogram();
let delivered = 0;

const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(alsServiceDefinition(), {
  StreamAccessLogs: (call: grpc.ServerReadableStream<StreamAccessLogsMessage, object>, cb: grpc.sendUnaryData<object>) => {
    call.on('data', (msg: StreamAccessLogsMessage) => {
      const entries = msg.http_logs?.log_entry ?? msg.tcp_logs?.log_entry ?? [];
      const now = Date.now();
      for (const e of entries) latency.add(now - timestampMs(e.common_properties?.start_time));
      delivered += entries.length;
    });
    call.on('end', () => cb(null, {}));
    call.on('error', () => undefined);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  widenLikeTheReceiver(server);
  serveStats((final) => ({ type: 'stats', delivered, loop: performance.eventLoopUtilization(), latency: final ? latency.toPairs() : undefined }));
  announce(port);
});
