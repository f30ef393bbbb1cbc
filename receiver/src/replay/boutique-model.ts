// The hybrid Online Boutique the replayer plays, as data: where each service runs (pods on GKE, or a GCE
// VM as the stack deploys checkoutservice and paymentservice), which Istio its sidecars run (a mesh in the
// middle of an upgrade, so both peer metadata formats are on the wire), and how each edge of the call graph
// behaves (operations, calls per request, latency, failures, bytes). `validateModel` checks the tables
// against the graph, so an edge cannot be missed or invented.
import { BOUTIQUE_GRAPH, edgeKey, graphEdges, type GraphService } from '@meshscope/boutique-catalog';
import type { PeerEncoding } from './workloads';

export const BOUTIQUE_NAMESPACE = 'boutique';

/**
 * The Istio releases on the wire, and the peer metadata keys each one's sidecars log. The upgraded ones run
 * the release the stack pins (infra/charts.ts; the receiver's build cannot import infra/, so
 * test/demo/demo-cli.test.ts checks the two agree).
 */
export const ISTIO_RELEASES = {
  /** Not yet restarted since the upgrade: `wasm.*_peer`, a FlatNode in a BytesValue. */
  legacy: { version: '1.23.6', encoding: 'flatnode' },
  /** Upgraded, with the Telemetry API's filter state list: `*_peer`, a Struct. */
  current: { version: '1.30.3', encoding: 'struct' },
  /** Upgraded, on the legacy mesh ALS path that logs both the new and the old keys. */
  currentMeshAls: { version: '1.30.3', encoding: 'both' },
} as const satisfies Record<string, { version: string; encoding: PeerEncoding }>;

export type IstioRelease = keyof typeof ISTIO_RELEASES;

export interface Placement {
  platform: 'pod' | 'vm';
  /** Pods of its Deployment (VMs: one each). */
  replicas: number;
  istio: IstioRelease;
}

/** Every service of the graph, where it runs. */
export const PLACEMENT: Readonly<Record<string, Placement>> = {
  loadgenerator: { platform: 'pod', replicas: 1, istio: 'current' },
  frontend: { platform: 'pod', replicas: 2, istio: 'current' },
  productcatalogservice: { platform: 'pod', replicas: 2, istio: 'current' },
  currencyservice: { platform: 'pod', replicas: 2, istio: 'current' },
  cartservice: { platform: 'pod', replicas: 1, istio: 'current' },
  'redis-cart': { platform: 'pod', replicas: 1, istio: 'current' },
  recommendationservice: { platform: 'pod', replicas: 1, istio: 'legacy' },
  shippingservice: { platform: 'pod', replicas: 1, istio: 'legacy' },
  emailservice: { platform: 'pod', replicas: 1, istio: 'legacy' },
  adservice: { platform: 'pod', replicas: 1, istio: 'legacy' },
  checkoutservice: { platform: 'vm', replicas: 1, istio: 'currentMeshAls' },
  paymentservice: { platform: 'vm', replicas: 1, istio: 'legacy' },
};

/**
 * How a call can fail, and what each sidecar then logs. `serverSees: false`: the request never reached
 * the server's sidecar (no endpoint, refused connection, or the client gave up first), so only the client
 * logs it, with Envoy's response flag. `serverFlags`: flags only the server's sidecar logs (its app reset
 * the connection; the client's sidecar just gets the 503 it answered with).
 */
export const FAILURES = {
  server_error: { code: 500, flags: undefined, serverSees: true, grpcStatus: '13' },
  app_reset: { code: 503, flags: undefined, serverFlags: { upstream_connection_termination: true }, serverSees: true, grpcStatus: '14' },
  no_healthy_upstream: { code: 503, flags: { no_healthy_upstream: true }, serverSees: false, grpcStatus: '14' },
  upstream_connection_failure: { code: 503, flags: { upstream_connection_failure: true }, serverSees: false, grpcStatus: '14' },
  upstream_request_timeout: { code: 504, flags: { upstream_request_timeout: true }, serverSees: false, grpcStatus: '4' },
} as const;

export type FailureKind = keyof typeof FAILURES;

export interface Operation {
  weight: number;
  method: string;
  path: string;
  /** Response code on success (default 200; the frontend redirects after a form post). */
  code?: number;
}

export interface EdgeTraffic {
  /** HTTP/gRPC edges: what is called, by weight. TCP edges: none. */
  operations: readonly Operation[];
  /** Mean calls along this edge per request the caller serves (loadgenerator: per user action). */
  perRequest: number;
  /** The callee's own work per call, in ms (its calls downstream come on top). */
  latencyMs: { median: number; p95: number };
  /** Share of calls that fail, and how. */
  failures?: { rate: number; kinds: readonly FailureKind[] };
  /** The client's timeout, in ms: how long an upstream_request_timeout call lasts. */
  timeoutMs?: number;
  /** TCP edges: bytes the client sends and receives per connection, as [min, max). */
  bytes?: { sent: readonly [number, number]; received: readonly [number, number] };
}

const grpc = (service: string, ...methods: [string, number][]): Operation[] =>
  methods.map(([m, weight]) => ({ weight, method: 'POST', path: `/hipstershop.${service}/${m}` }));

/** The product ids of the Online Boutique catalog: the loadgenerator browses them at random. */
const PRODUCTS = ['OLJCESPC7Z', '66VCHSJNUP', '1YMWWN1N4O', 'L9ECAV7KIM', '2ZYFJ3GM2N', '0PUK6V6EV0', 'LS4PSXUNUM', '9SIQT8TOJO', '6E92ZMYYFZ'];

/** Per edge; the loadgenerator's weights are its locust tasks' (index 1, setCurrency 2, browse 10, add 2, view 3, checkout 1). */
export const TRAFFIC: Readonly<Record<string, EdgeTraffic>> = {
  [edgeKey('loadgenerator', 'frontend')]: {
    operations: [
      { weight: 1, method: 'GET', path: '/' },
      { weight: 2, method: 'POST', path: '/setCurrency', code: 302 },
      ...PRODUCTS.map((id) => ({ weight: 10 / PRODUCTS.length, method: 'GET', path: `/product/${id}` })),
      { weight: 2, method: 'POST', path: '/cart', code: 302 },
      { weight: 3, method: 'GET', path: '/cart' },
      { weight: 1, method: 'POST', path: '/cart/checkout' },
    ],
    perRequest: 1, latencyMs: { median: 4, p95: 18 }, failures: { rate: 0.005, kinds: ['server_error'] },
  },
  [edgeKey('frontend', 'productcatalogservice')]: {
    operations: grpc('ProductCatalogService', ['GetProduct', 3], ['ListProducts', 1]),
    perRequest: 1.6, latencyMs: { median: 1.2, p95: 4 },
  },
  [edgeKey('frontend', 'currencyservice')]: {
    operations: grpc('CurrencyService', ['Convert', 3], ['GetSupportedCurrencies', 1]),
    perRequest: 2.5, latencyMs: { median: 1, p95: 3.5 }, failures: { rate: 0.002, kinds: ['server_error'] },
  },
  [edgeKey('frontend', 'cartservice')]: {
    operations: grpc('CartService', ['GetCart', 3], ['AddItem', 1]),
    perRequest: 0.9, latencyMs: { median: 2, p95: 7 },
  },
  [edgeKey('frontend', 'recommendationservice')]: {
    operations: grpc('RecommendationService', ['ListRecommendations', 1]),
    perRequest: 0.45, latencyMs: { median: 3, p95: 12 },
    failures: { rate: 0.03, kinds: ['server_error', 'app_reset', 'upstream_connection_failure'] },
  },
  [edgeKey('frontend', 'shippingservice')]: {
    operations: grpc('ShippingService', ['GetQuote', 1]),
    perRequest: 0.25, latencyMs: { median: 1, p95: 3 },
    // A rollout now and then leaves no ready endpoint for a moment.
    failures: { rate: 0.02, kinds: ['no_healthy_upstream'] },
  },
  [edgeKey('frontend', 'checkoutservice')]: {
    operations: grpc('CheckoutService', ['PlaceOrder', 1]),
    perRequest: 0.12, latencyMs: { median: 5, p95: 18 }, timeoutMs: 2000,
    failures: { rate: 0.02, kinds: ['server_error', 'upstream_request_timeout'] },
  },
  [edgeKey('frontend', 'adservice')]: {
    operations: grpc('AdService', ['GetAds', 1]),
    perRequest: 0.6, latencyMs: { median: 2, p95: 9 }, timeoutMs: 100,
    failures: { rate: 0.01, kinds: ['upstream_request_timeout'] },
  },
  [edgeKey('checkoutservice', 'productcatalogservice')]: {
    operations: grpc('ProductCatalogService', ['GetProduct', 1]),
    perRequest: 1.5, latencyMs: { median: 1.2, p95: 4 },
  },
  [edgeKey('checkoutservice', 'shippingservice')]: {
    operations: grpc('ShippingService', ['GetQuote', 1], ['ShipOrder', 1]),
    perRequest: 2, latencyMs: { median: 1.5, p95: 5 },
  },
  [edgeKey('checkoutservice', 'paymentservice')]: {
    operations: grpc('PaymentService', ['Charge', 1]),
    perRequest: 1, latencyMs: { median: 6, p95: 30 }, timeoutMs: 1000,
    failures: { rate: 0.05, kinds: ['server_error', 'app_reset', 'upstream_request_timeout'] },
  },
  [edgeKey('checkoutservice', 'emailservice')]: {
    operations: grpc('EmailService', ['SendOrderConfirmation', 1]),
    perRequest: 1, latencyMs: { median: 4, p95: 14 },
  },
  [edgeKey('checkoutservice', 'currencyservice')]: {
    operations: grpc('CurrencyService', ['Convert', 1]),
    perRequest: 2, latencyMs: { median: 1, p95: 3.5 },
  },
  [edgeKey('checkoutservice', 'cartservice')]: {
    operations: grpc('CartService', ['GetCart', 1], ['EmptyCart', 1]),
    perRequest: 2, latencyMs: { median: 2, p95: 7 },
  },
  [edgeKey('cartservice', 'redis-cart')]: {
    operations: [], perRequest: 1, latencyMs: { median: 0.4, p95: 2 },
    failures: { rate: 0.004, kinds: ['upstream_connection_failure'] },
    bytes: { sent: [40, 400], received: [60, 4096] },
  },
  [edgeKey('recommendationservice', 'productcatalogservice')]: {
    operations: grpc('ProductCatalogService', ['ListProducts', 1]),
    perRequest: 1, latencyMs: { median: 1.5, p95: 5 },
  },
};

export interface BoutiqueModel {
  namespace: string;
  graph: readonly GraphService[];
  placement: Readonly<Record<string, Placement>>;
  traffic: Readonly<Record<string, EdgeTraffic>>;
  /** Where the call tree starts: the service with a sidecar but no callers. */
  entry: string;
}

export const HYBRID_BOUTIQUE: BoutiqueModel = {
  namespace: BOUTIQUE_NAMESPACE, graph: BOUTIQUE_GRAPH, placement: PLACEMENT, traffic: TRAFFIC, entry: 'loadgenerator',
};

/** Throws, naming the first problem: every service placed, every edge given traffic and nothing else, sane numbers. */
export function validateModel(m: BoutiqueModel): BoutiqueModel {
  const names = new Set(m.graph.map((s) => s.name));
  const fail = (msg: string): never => {
    throw new Error(`invalid replay model: ${msg}`);
  };
  if (!names.has(m.entry)) fail(`entry "${m.entry}" is not a service; services: ${[...names].join(', ')}`);
  for (const s of m.graph) {
    const p = m.placement[s.name];
    if (!p) fail(`service "${s.name}" has no placement; add it to the placement table`);
    else if (!Number.isInteger(p.replicas) || p.replicas < 1 || (p.platform === 'vm' && p.replicas !== 1)) {
      fail(`service "${s.name}" has ${p.replicas} replicas; allowed: a whole number >= 1 for pods, 1 for a VM`);
    }
    for (const callee of s.calls) if (!names.has(callee)) fail(`"${s.name}" calls "${callee}", which is not a service`);
  }
  for (const name of Object.keys(m.placement)) if (!names.has(name)) fail(`placement of "${name}", which is not a service of the graph`);
  const edges = new Set(graphEdges(m.graph).map((e) => edgeKey(e.caller, e.callee)));
  for (const key of edges) if (!m.traffic[key]) fail(`edge ${key} has no traffic profile`);
  for (const [key, t] of Object.entries(m.traffic)) {
    if (!edges.has(key)) fail(`traffic profile for ${key}, which is not an edge of the graph; edges: ${[...edges].join(', ')}`);
    const callee = m.graph.find((s) => s.name === key.split('->')[1])!;
    if (callee.protocol === 'tcp' ? t.operations.length > 0 || !t.bytes : t.operations.length === 0) {
      fail(`${key}: a TCP edge needs bytes and no operations, an HTTP/gRPC edge at least one operation`);
    }
    if (!(t.perRequest >= 0)) fail(`${key}: perRequest ${t.perRequest}; allowed: a number >= 0`);
    if (!(t.latencyMs.median > 0 && t.latencyMs.p95 >= t.latencyMs.median)) {
      fail(`${key}: latency median ${t.latencyMs.median} ms, p95 ${t.latencyMs.p95} ms; allowed: 0 < median <= p95`);
    }
    if (t.failures && !(t.failures.rate >= 0 && t.failures.rate <= 1 && t.failures.kinds.length > 0)) {
      fail(`${key}: failure rate ${t.failures.rate} with ${t.failures.kinds.length} kinds; allowed: a rate from 0 to 1 and at least one kind`);
    }
  }
  return m;
}
