// What the load generator sends: realistic ALS streams built with the test fixtures (Online Boutique
// pods and VMs, HTTP and TCP entries, Istio 1.7-1.23 FlatNode and 1.24+ Struct peer metadata and both at
// once), encoded with Envoy's protos once per refresh so the hot loop only writes bytes. Every entry's
// start_time is the time its message was last encoded, so "now - start_time" at the far end is the
// entry's age: its latency, over-stated by at most the refresh interval.
import type { HttpAccessLogEntry, Node, StreamAccessLogsMessage, TcpAccessLogEntry } from '../src/als/envoy-protos';
import {
  alsMessage, httpCall, nodeOf, pod, tcpCall, vm, type PeerEncoding, type WorkloadSpec,
} from '../../test/fixtures/mesh-fixtures';

const { alsServiceDefinition } = require('../dist/als/envoy-protos') as typeof import('../src/als/envoy-protos');

export interface TrafficOptions {
  streams: number;
  /** Entries per StreamAccessLogsMessage (Envoy's buffer_size_bytes decides this in a mesh). */
  batch: number;
  /** Share of messages that carry TCP entries (0..1). */
  tcpShare: number;
  /** Distinct message templates per stream. */
  templates: number;
}

const NS = 'boutique';
/** Who calls whom in Online Boutique (a subset), with the protocol of the call. */
const WORKLOADS: Record<string, WorkloadSpec> = {
  frontend: pod('frontend', NS),
  checkoutservice: vm('checkoutservice', NS),
  paymentservice: vm('paymentservice', NS),
  productcatalogservice: pod('productcatalogservice', NS),
  cartservice: pod('cartservice', NS),
  'redis-cart': pod('redis-cart', NS),
  currencyservice: pod('currencyservice', NS),
  shippingservice: pod('shippingservice', NS),
};
const HTTP_CALLS: [string, string, string][] = [
  ['frontend', 'productcatalogservice', '/hipstershop.ProductCatalogService/ListProducts'],
  ['frontend', 'currencyservice', '/hipstershop.CurrencyService/Convert'],
  ['frontend', 'checkoutservice', '/hipstershop.CheckoutService/PlaceOrder'],
  ['checkoutservice', 'paymentservice', '/hipstershop.PaymentService/Charge'],
  ['checkoutservice', 'shippingservice', '/hipstershop.ShippingService/GetQuote'],
  ['checkoutservice', 'cartservice', '/hipstershop.CartService/GetCart'],
];
const TCP_CALLS: [string, string][] = [['cartservice', 'redis-cart']];
const ENCODINGS: PeerEncoding[] = ['struct', 'flatnode', 'both'];
/** The sidecars that stream, in the order streams are given them. */
const REPORTERS = ['frontend', 'checkoutservice', 'productcatalogservice', 'cartservice', 'paymentservice', 'currencyservice'];

/** The entries a sidecar logs: its side of every call it makes or serves. */
function entriesOf(self: string, kind: 'http' | 'tcp', count: number, seed: number): (HttpAccessLogEntry | TcpAccessLogEntry)[] {
  const out: (HttpAccessLogEntry | TcpAccessLogEntry)[] = [];
  const calls = kind === 'http' ? HTTP_CALLS : TCP_CALLS.map(([c, s]) => [c, s, ''] as [string, string, string]);
  // A reporter with no call of this kind logs the first one's server side as if it served it.
  const mine = calls.filter(([c, s]) => c === self || s === self);
  const pool = mine.length ? mine : [[calls[0]![0], self, calls[0]![2]] as [string, string, string]];
  for (let i = 0; i < count; i++) {
    const [c, s, path] = pool[(seed + i) % pool.length]!;
    const peerEncoding = ENCODINGS[(seed + i) % ENCODINGS.length]!;
    const client = WORKLOADS[c] ?? WORKLOADS[self]!;
    const server = WORKLOADS[s] ?? WORKLOADS[self]!;
    const side = c === self ? 'client' : 'server';
    const code = (seed + i) % 50 === 0 ? 503 : 200;
    out.push(kind === 'http'
      ? httpCall(client, server, { path, peerEncoding, responseCode: code, scheme: 'http' })[side]
      : tcpCall(client, server, { peerEncoding })[side]);
  }
  return out;
}

/** One stream's messages, re-encoded with a fresh start_time on refresh(). */
export class StreamTraffic {
  readonly node: Node;
  private readonly messages: StreamAccessLogsMessage[] = [];
  private encoded: Buffer[] = [];
  private next = 0;
  private readonly serialize = alsServiceDefinition().StreamAccessLogs!.requestSerialize as (m: StreamAccessLogsMessage) => Buffer;

  constructor(index: number, readonly o: TrafficOptions) {
    const self = REPORTERS[index % REPORTERS.length]!;
    this.node = nodeOf(WORKLOADS[self]!);
    const tcpEvery = o.tcpShare > 0 ? Math.max(1, Math.round(1 / o.tcpShare)) : 0;
    for (let t = 0; t < o.templates; t++) {
      const kind = tcpEvery && t % tcpEvery === tcpEvery - 1 ? 'tcp' : 'http';
      const entries = entriesOf(self, kind, o.batch, index * 7 + t);
      this.messages.push(kind === 'http'
        ? alsMessage({ http: entries as HttpAccessLogEntry[] })
        : alsMessage({ tcp: entries as TcpAccessLogEntry[] }));
    }
    this.refresh();
  }

  /** The first message of the stream: the node, and no entries. */
  hello(): Buffer {
    return this.serialize({ identifier: { node: this.node, log_name: 'envoy_accesslog_service' } });
  }

  refresh(now = Date.now()): void {
    const start_time = { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 };
    this.encoded = this.messages.map((m) => {
      for (const e of m.http_logs?.log_entry ?? m.tcp_logs?.log_entry ?? []) e.common_properties!.start_time = start_time;
      return this.serialize(m);
    });
  }

  take(): Buffer {
    const b = this.encoded[this.next]!;
    this.next = (this.next + 1) % this.encoded.length;
    return b;
  }

  /** Share of this stream's entries that are HTTP. */
  httpShare(): number {
    return this.messages.filter((m) => m.http_logs).length / this.messages.length;
  }
}
