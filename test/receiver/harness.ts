// Shared pieces of the receiver tests: real gRPC clients and an OAP-side peer on loopback, sample
// metrics, and a bounded wait. Nothing here decides a test's outcome.
import * as grpc from '@grpc/grpc-js';
import { alsServiceDefinition, type StreamAccessLogsMessage } from '../../receiver/src/als/envoy-protos';
import * as protoLoader from '@grpc/proto-loader';
import {
  MESH_METRIC_SERVICE, SERVICE_MESH_PROTO, SKYWALKING_LOADER_OPTIONS, meshMetricServiceDefinition, type ServiceMeshMetricsWire,
} from '../../receiver/src/sinks/skywalking-protos';
import type { HttpMeshMetric, TcpMeshMetric } from '../../receiver/src/analysis/mesh-metric';

/** Polls `cond` every 10 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface StreamResult { error: grpc.ServiceError | null }

/** A client-side StreamAccessLogs call, messages encoded with Envoy's protos (or raw bytes). */
export class AlsStream<T = StreamAccessLogsMessage> {
  readonly done: Promise<StreamResult>;
  readonly call: grpc.ClientWritableStream<T>;
  constructor(client: grpc.Client, raw = false) {
    const method = alsServiceDefinition().StreamAccessLogs!;
    const serialize = raw ? (b: T) => b as unknown as Buffer : (method.requestSerialize as (m: T) => Buffer);
    let settle!: (r: StreamResult) => void;
    this.done = new Promise((r) => (settle = r));
    this.call = client.makeClientStreamRequest(method.path, serialize, method.responseDeserialize as (b: Buffer) => unknown,
      (error) => settle({ error }));
  }
  send(msg: T): this {
    this.call.write(msg);
    return this;
  }
  end(): Promise<StreamResult> {
    this.call.end();
    return this.done;
  }
}

export function alsClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** The collect service decoding int64 fields as exact decimal strings, as a Java long would hold them. */
export function exactMeshMetricServiceDefinition(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync(SERVICE_MESH_PROTO, { ...SKYWALKING_LOADER_OPTIONS, longs: String });
  return def[MESH_METRIC_SERVICE] as grpc.ServiceDefinition;
}

/**
 * A real OAP-side peer: implements ServiceMeshMetricService/collect and keeps what it decoded (int64
 * fields as numbers, or exact decimal strings with `exactLongs`).
 */
export class FakeOap {
  constructor(private readonly opts: { exactLongs?: boolean } = {}) {}

  readonly received: ServiceMeshMetricsWire[] = [];
  /** The batches of each answered call, one entry per call. */
  readonly callBatches: ServiceMeshMetricsWire[][] = [];
  calls = 0;
  /** Calls open now (started, not yet ended by the client), and the most open at once. */
  open = 0;
  mostOpen = 0;
  /** When set, every call is answered with this status after reading it. */
  failWith: grpc.status | undefined;
  /** When set, calls are read but never answered (an OAP that dies mid-call). */
  hang = false;
  private server: grpc.Server | undefined;

  async start(port = 0): Promise<number> {
    this.server = new grpc.Server();
    this.server.addService(this.opts.exactLongs ? exactMeshMetricServiceDefinition() : meshMetricServiceDefinition(), {
      collect: (call: grpc.ServerReadableStream<ServiceMeshMetricsWire, object>, cb: grpc.sendUnaryData<object>) => {
        this.calls++;
        this.mostOpen = Math.max(this.mostOpen, ++this.open);
        let closed = false;
        const close = () => { if (!closed) { closed = true; this.open--; } };
        call.on('cancelled', close);
        const batch: ServiceMeshMetricsWire[] = [];
        call.on('data', (m: ServiceMeshMetricsWire) => batch.push(m));
        call.on('end', () => {
          if (this.hang) return;
          close();
          if (this.failWith !== undefined) return cb({ code: this.failWith, details: 'fake OAP says no' });
          this.callBatches.push(batch);
          this.received.push(...batch);
          cb(null, {});
        });
      },
    });
    return new Promise((resolve, reject) =>
      this.server!.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p)));
  }

  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  httpMetrics() {
    return this.received.flatMap((m) => m.httpMetrics?.metrics ?? []);
  }
  tcpMetrics() {
    return this.received.flatMap((m) => m.tcpMetrics?.metrics ?? []);
  }
}

/** A free loopback port, found by binding and releasing one (for "OAP comes up later" tests). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A port free on every one of `hosts` (loopback addresses), for several replicas behind one port. */
export async function sharedFreePort(hosts: readonly string[]): Promise<number> {
  const net = await import('node:net');
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer().once('error', reject).listen(0, hosts[0], () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const free = await Promise.all(hosts.slice(1).map((host) => new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false)).listen(port, host, () => srv.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return port;
  }
}

export function httpMetric(over: Partial<HttpMeshMetric> = {}): HttpMeshMetric {
  return {
    kind: 'http', startTime: 1_700_000_000_000, endTime: 1_700_000_000_012,
    sourceServiceName: 'frontend.default', sourceServiceInstance: 'frontend-abc.default',
    destServiceName: 'checkoutservice.default', destServiceInstance: 'checkoutservice-vm.default',
    endpoint: '/hipstershop.CheckoutService/PlaceOrder', latency: 12, responseCode: 200, status: true,
    protocol: 'gRPC', detectPoint: 'client', tlsMode: 'mTLS', internalErrorCode: '',
    internalRequestLatencyNanos: 0, internalResponseLatencyNanos: 0,
    sourceInstanceProperties: { platform: 'kubernetes' }, destInstanceProperties: { platform: 'vm' },
    ...over,
  };
}

export function tcpMetric(over: Partial<TcpMeshMetric> = {}): TcpMeshMetric {
  return {
    kind: 'tcp', startTime: 1_700_000_000_000, endTime: 1_700_000_000_030,
    sourceServiceName: 'cartservice.default', sourceServiceInstance: 'cartservice-1.default',
    destServiceName: 'redis-cart.default', destServiceInstance: 'redis-cart-0.default',
    detectPoint: 'client', tlsMode: 'mTLS', internalErrorCode: '',
    internalRequestLatencyNanos: 0, internalResponseLatencyNanos: 0,
    sourceInstanceProperties: {}, destInstanceProperties: {}, receivedBytes: 100, sentBytes: 2000,
    ...over,
  };
}

// ---- a whole receiver on loopback ----

import { parseConfig, type ReceiverConfig } from '../../receiver/src/config';
import { Receiver } from '../../receiver/src/receiver';
import type { HttpAccessLogEntry, Node, TcpAccessLogEntry } from '../../receiver/src/als/envoy-protos';

/** A config as main would build it from these flags, on loopback with ephemeral ports. */
export function loopbackConfig(...flags: string[]): ReceiverConfig {
  const parsed = parseConfig(['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--flush-interval-ms', '20',
    '--shutdown-timeout-ms', '2000', ...flags], {});
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

export async function startReceiver(...flags: string[]): Promise<Receiver> {
  const receiver = new Receiver(loopbackConfig(...flags));
  await receiver.start();
  return receiver;
}

/** One sidecar's ALS stream: the node on the first message, then one message per batch of entries. */
export async function report(
  client: grpc.Client, node: Node, batches: ({ http: HttpAccessLogEntry[] } | { tcp: TcpAccessLogEntry[] })[],
): Promise<void> {
  const s = new AlsStream(client);
  batches.forEach((b, i) => {
    const identifier = i === 0 ? { node, log_name: 'envoy_access_log_service' } : undefined;
    s.send('http' in b ? { identifier, http_logs: { log_entry: b.http } } : { identifier, tcp_logs: { log_entry: b.tcp } });
  });
  const { error } = await s.end();
  if (error) throw new Error(`ALS stream of ${node.id} failed: ${error.message}`);
}
