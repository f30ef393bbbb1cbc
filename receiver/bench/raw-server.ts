// (a0) the transport alone: a grpc-js server for the same StreamAccessLogs path that takes each message
// as its raw bytes and discards it, decoding nothing. Entries are counted from what the generator sends
// (`--batch N` entries per message, none in each stream's first message), so latency is not measured.
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { announce, serveStats } from './ipc';
import { widenLikeTheReceiver } from './anchor-window';

const { alsServiceDefinition } = require('../dist/als/envoy-protos') as typeof import('../src/als/envoy-protos');

const batchArg = process.argv.indexOf('--batch');
const batch = Number(process.argv[batchArg + 1]);
if (batchArg < 0 || !Number.isInteger(batch) || batch < 1) throw new Error(`raw-server: --batch N (entries per message) is required, got ${process.argv[batchArg + 1]}`);

let delivered = 0;
const method = alsServiceDefinition().StreamAccessLogs!;
const raw: grpc.ServiceDefinition = {
  StreamAccessLogs: { ...method, requestDeserialize: (bytes: Buffer) => bytes },
};

const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(raw, {
  StreamAccessLogs: (call: grpc.ServerReadableStream<Buffer, object>, cb: grpc.sendUnaryData<object>) => {
    let first = true;
    call.on('data', () => {
      if (first) first = false;
      else delivered += batch;
    });
    call.on('end', () => cb(null, {}));
    call.on('error', () => undefined);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  widenLikeTheReceiver(server);
  serveStats(() => ({ type: 'stats', delivered, loop: performance.eventLoopUtilization() }));
  announce(port);
});
