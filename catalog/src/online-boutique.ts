// Online Boutique as data, in one module that belongs to neither of its users: the Pulumi program deploys
// each row (pods, the VM workloads' env, the ports the firewall opens) and the receiver's local demo replays
// the call graph. A row is a service: its place in the call graph, then how the stack deploys it.
// Facts: the pinned release manifest (GoogleCloudPlatform/microservices-demo release/kubernetes-manifests.yaml),
// which test/render compares every deployed row with.

export type GraphProtocol = 'grpc' | 'http' | 'tcp';

export interface GraphService {
  name: string;
  /** Port the workload listens on. */
  containerPort: number;
  /** Port of its Service, which callers dial; absent: nobody calls it (loadgenerator). */
  servicePort?: number;
  protocol: GraphProtocol;
  /** Services it calls. */
  calls: readonly string[];
}

export const BOUTIQUE_GRAPH: readonly GraphService[] = [
  { name: 'frontend', containerPort: 8080, servicePort: 80, protocol: 'http',
    calls: ['productcatalogservice', 'currencyservice', 'cartservice', 'recommendationservice', 'shippingservice', 'checkoutservice', 'adservice'] },
  { name: 'checkoutservice', containerPort: 5050, servicePort: 5050, protocol: 'grpc',
    calls: ['productcatalogservice', 'shippingservice', 'paymentservice', 'emailservice', 'currencyservice', 'cartservice'] },
  { name: 'paymentservice', containerPort: 50051, servicePort: 50051, protocol: 'grpc', calls: [] },
  { name: 'productcatalogservice', containerPort: 3550, servicePort: 3550, protocol: 'grpc', calls: [] },
  { name: 'shippingservice', containerPort: 50051, servicePort: 50051, protocol: 'grpc', calls: [] },
  { name: 'emailservice', containerPort: 8080, servicePort: 5000, protocol: 'grpc', calls: [] },
  { name: 'currencyservice', containerPort: 7000, servicePort: 7000, protocol: 'grpc', calls: [] },
  { name: 'cartservice', containerPort: 7070, servicePort: 7070, protocol: 'grpc', calls: ['redis-cart'] },
  { name: 'recommendationservice', containerPort: 8080, servicePort: 8080, protocol: 'grpc', calls: ['productcatalogservice'] },
  { name: 'adservice', containerPort: 9555, servicePort: 9555, protocol: 'grpc', calls: [] },
  { name: 'redis-cart', containerPort: 6379, servicePort: 6379, protocol: 'tcp', calls: [] },
  { name: 'loadgenerator', containerPort: 8089, protocol: 'http', calls: ['frontend'] },
];

/** `caller->callee`, the key of an edge everywhere in the replayer. */
export function edgeKey(caller: string, callee: string): string {
  return `${caller}->${callee}`;
}

export function graphEdges(graph: readonly GraphService[]): { caller: string; callee: string }[] {
  return graph.flatMap((s) => s.calls.map((callee) => ({ caller: s.name, callee })));
}

/** How a service is deployed, beyond its place in the call graph. */
export interface BoutiqueDeployment {
  /** Image name under the release registry; `redis-cart` uses a public image instead. */
  image: { boutique: string } | { external: string };
  /** Env var its callers use for its address, e.g. PRODUCT_CATALOG_SERVICE_ADDR. */
  addressEnv?: string;
  /** Fixed env besides PORT and the callees' addresses. */
  env: Record<string, string>;
  resources: { cpu: string; memory: string; cpuLimit: string; memoryLimit: string };
  /** Health probe: gRPC health service, HTTP GET path, or a TCP connect. */
  probe: { grpc: true } | { httpPath: string } | { tcp: true } | { none: true };
  /** The release manifest's probe timings (slow starters get an initial delay); Kubernetes' defaults otherwise. */
  probeTiming?: { readiness?: ProbeTiming; liveness?: ProbeTiming };
  /** Whether it reads PORT (cartservice listens on its fixed port and has none). */
  takesPort?: false;
  /** Env the release sets to a Service it does not deploy: the frontend refuses to start without the
   * shopping assistant's address, but calls it only from the assistant page (the optional Gemini add-on). */
  placeholderEnv?: Record<string, string>;
  /** Pod annotations the release manifest sets. */
  podAnnotations?: Record<string, string>;
  /** Public entry point: exposed by an external load balancer. */
  public?: boolean;
}

export interface ProbeTiming { initialDelaySeconds?: number; periodSeconds?: number }

/** One Online Boutique service: its place in the call graph and how the stack deploys it. */
export type BoutiqueService = GraphService & BoutiqueDeployment;

export const BOUTIQUE_REGISTRY = 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo';

const small = { cpu: '100m', memory: '64Mi', cpuLimit: '200m', memoryLimit: '128Mi' };
const grpcService = (name: string, addressEnv: string, more: Partial<BoutiqueDeployment> = {}): BoutiqueDeployment =>
  ({ image: { boutique: name }, addressEnv, env: { DISABLE_PROFILER: '1' }, resources: small, probe: { grpc: true }, ...more });
const every5s = { readiness: { periodSeconds: 5 }, liveness: { periodSeconds: 5 } };
/** The release manifest asks Istio to rewrite HTTP probes of these pods (Istio's default too). */
const REWRITE_PROBES = { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' };

// Rows as the pinned release manifest (kubernetes-manifests.yaml) declares them; test/render compares them.
const DEPLOYMENTS: Record<string, BoutiqueDeployment> = {
  frontend: { image: { boutique: 'frontend' }, env: { ENABLE_PROFILER: '0' }, resources: small, probe: { httpPath: '/_healthz' },
    probeTiming: { readiness: { initialDelaySeconds: 10 }, liveness: { initialDelaySeconds: 10 } },
    placeholderEnv: { SHOPPING_ASSISTANT_SERVICE_ADDR: 'shoppingassistantservice:80' }, podAnnotations: REWRITE_PROBES, public: true },
  checkoutservice: grpcService('checkoutservice', 'CHECKOUT_SERVICE_ADDR', { env: {} }),
  paymentservice: grpcService('paymentservice', 'PAYMENT_SERVICE_ADDR'),
  productcatalogservice: grpcService('productcatalogservice', 'PRODUCT_CATALOG_SERVICE_ADDR'),
  shippingservice: grpcService('shippingservice', 'SHIPPING_SERVICE_ADDR', { probeTiming: { readiness: { periodSeconds: 5 } } }),
  emailservice: grpcService('emailservice', 'EMAIL_SERVICE_ADDR', { probeTiming: every5s }),
  currencyservice: grpcService('currencyservice', 'CURRENCY_SERVICE_ADDR'),
  cartservice: grpcService('cartservice', 'CART_SERVICE_ADDR', { env: {}, takesPort: false,
    resources: { cpu: '200m', memory: '64Mi', cpuLimit: '300m', memoryLimit: '128Mi' },
    probeTiming: { readiness: { initialDelaySeconds: 15 }, liveness: { initialDelaySeconds: 15, periodSeconds: 10 } } }),
  recommendationservice: grpcService('recommendationservice', 'RECOMMENDATION_SERVICE_ADDR', {
    resources: { cpu: '100m', memory: '220Mi', cpuLimit: '200m', memoryLimit: '450Mi' }, probeTiming: every5s }),
  adservice: grpcService('adservice', 'AD_SERVICE_ADDR', { env: {},
    resources: { cpu: '200m', memory: '180Mi', cpuLimit: '300m', memoryLimit: '300Mi' },
    probeTiming: { readiness: { initialDelaySeconds: 20, periodSeconds: 15 }, liveness: { initialDelaySeconds: 20, periodSeconds: 15 } } }),
  'redis-cart': { image: { external: 'redis:alpine' }, addressEnv: 'REDIS_ADDR', env: {}, takesPort: false,
    resources: { cpu: '70m', memory: '200Mi', cpuLimit: '125m', memoryLimit: '256Mi' }, probe: { tcp: true }, probeTiming: every5s },
  loadgenerator: { image: { boutique: 'loadgenerator' }, env: { USERS: '10', RATE: '1' }, takesPort: false,
    resources: { cpu: '300m', memory: '256Mi', cpuLimit: '500m', memoryLimit: '512Mi' }, probe: { none: true }, podAnnotations: REWRITE_PROBES },
};

for (const name of Object.keys(DEPLOYMENTS)) {
  if (!BOUTIQUE_GRAPH.some((g) => g.name === name)) throw new Error(`deployment row "${name}" is not a service of the call graph`);
}

export const BOUTIQUE_SERVICES: readonly BoutiqueService[] = BOUTIQUE_GRAPH.map((g) => {
  const deployment = DEPLOYMENTS[g.name];
  if (!deployment) throw new Error(`Online Boutique service "${g.name}" of the call graph has no deployment row`);
  return { ...g, ...deployment };
});

/** The address env var callers of `frontend` use; the loadgenerator names it FRONTEND_ADDR. */
const FRONTEND_ADDRESS_ENV = 'FRONTEND_ADDR';

export function boutiqueService(name: string): BoutiqueService {
  const svc = BOUTIQUE_SERVICES.find((s) => s.name === name);
  if (!svc) throw new Error(`unknown Online Boutique service "${name}"; known: ${BOUTIQUE_SERVICES.map((s) => s.name).join(', ')}`);
  return svc;
}

/**
 * The full env of a service: PORT, its callees' addresses, its fixed env. In a pod callees are named as
 * usual (`cartservice:7070`); on a VM, give `namespace`: there is no pod search path, so callees are named
 * by FQDN, which the sidecar's DNS capture answers.
 */
export function boutiqueEnv(svc: BoutiqueService, namespace?: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (svc.takesPort !== false) env.PORT = String(svc.containerPort);
  for (const calleeName of svc.calls) {
    const callee = boutiqueService(calleeName);
    const key = callee.name === 'frontend' ? FRONTEND_ADDRESS_ENV : callee.addressEnv;
    if (!key || callee.servicePort === undefined) throw new Error(`${svc.name} calls ${callee.name}, which has no address`);
    const host = namespace ? `${callee.name}.${namespace}.svc.cluster.local` : callee.name;
    env[key] = `${host}:${callee.servicePort}`;
  }
  return { ...env, ...svc.placeholderEnv, ...svc.env };
}

export function boutiqueImage(svc: BoutiqueService, version: string): string {
  return 'boutique' in svc.image ? `${BOUTIQUE_REGISTRY}/${svc.image.boutique}:${version}` : svc.image.external;
}
