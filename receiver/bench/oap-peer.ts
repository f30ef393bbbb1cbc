// The OAP side of (b): a ServiceMeshMetricService/collect server with the receiver's own skywalking
// proto, which decodes what it gets, counts the metrics and notes how old each is (now - startTime).
//
// It speaks gRPC on node:http2 directly rather than through grpc-js, because grpc-js servers keep Node's
// 64 KiB HTTP/2 windows and offer no option to raise them, while a real OAP (grpc-java on Netty) grants
// 1 MiB. The window is a flag (`--window BYTES`, default 1 MiB) so the bench can show both.
import * as http2 from 'node:http2';
import type { ServiceMeshMetricsWire } from '../src/sinks/skywalking-protos';
import { GrpcFrameReader, grpcFrame } from './grpc-frames';
import { announce, serveStats } from './ipc';
import { LatencyHistogram } from './latency';

const { meshMetricServiceDefinition } = require('../dist/sinks/skywalking-protos') as typeof import('../src/sinks/skywalking-protos');

/** grpc-java's NettyServerBuilder default flow-control window, which the SkyWalking OAP keeps. */
export const NETTY_DEFAULT_WINDOW = 1 << 20;
/** HTTP/2's own initial window (RFC 9113), what grpc-js and Node servers grant. */
const HTTP2_DEFAULT_WINDOW = 65_535;

const windowArg = process.argv.indexOf('--window');
// --host / --port: several peers on one port at different loopback addresses (the scale bench's OAP pods).
const hostArg = process.argv.indexOf('--host');
const host = hostArg < 0 ? '127.0.0.1' : process.argv[hostArg + 1]!;
const portArg = process.argv.indexOf('--port');
const listenPort = portArg < 0 ? 0 : Number(process.argv[portArg + 1]);
const window = windowArg < 0 ? NETTY_DEFAULT_WINDOW : Number(process.argv[windowArg + 1]);
if (!Number.isInteger(window) || window < HTTP2_DEFAULT_WINDOW || window > 2 ** 31 - 1) {
  throw new Error(`--window ${process.argv[windowArg + 1]}: must be an integer from ${HTTP2_DEFAULT_WINDOW} to ${2 ** 31 - 1} bytes`);
}

const collect = meshMetricServiceDefinition().collect!;
const decode = collect.requestDeserialize as (b: Buffer) => ServiceMeshMetricsWire;
/** The empty MeshProbeDownstream every collect call is answered with. */
const EMPTY_REPLY = grpcFrame(Buffer.alloc(0));

const latency = new LatencyHistogram();
let delivered = 0;

function count(m: ServiceMeshMetricsWire): void {
  const metrics = m.httpMetrics?.metrics ?? m.tcpMetrics?.metrics ?? [];
  const now = Date.now();
  for (const x of metrics) latency.add(now - x.startTime);
  delivered += metrics.length;
}

function finish(stream: http2.ServerHttp2Stream, grpcStatus: number, message?: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({
    'grpc-status': String(grpcStatus), ...(message ? { 'grpc-message': encodeURIComponent(message) } : {}),
  }));
  stream.end(grpcStatus === 0 ? EMPTY_REPLY : undefined);
}

// initialWindowSize is each stream's window (sent in SETTINGS); the connection's own window can only be
// raised by a WINDOW_UPDATE, which setLocalWindowSize sends.
const server = http2.createServer({ settings: { initialWindowSize: window } });
server.on('session', (session) => {
  session.on('error', () => undefined);
  if (window > HTTP2_DEFAULT_WINDOW) session.setLocalWindowSize(window);
});
server.on('stream', (stream, headers) => {
  stream.on('error', () => undefined);
  if (headers[':path'] !== collect.path) {
    finish(stream, 12, `unknown method ${String(headers[':path'])}; this peer serves ${collect.path}`); // UNIMPLEMENTED
    return;
  }
  const frames = new GrpcFrameReader();
  stream.on('data', (chunk: Buffer) => {
    try {
      for (const message of frames.push(chunk)) count(decode(message));
    } catch (err) {
      finish(stream, 13, (err as Error).message); // INTERNAL
    }
  });
  stream.on('end', () => finish(stream, 0));
});
server.listen(listenPort, host, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected listen address ${String(address)}`);
  serveStats((final) => ({ type: 'stats', delivered, latency: final ? latency.toPairs() : undefined }));
  announce(address.port);
});
