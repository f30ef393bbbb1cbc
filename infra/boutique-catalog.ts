// Online Boutique as data: one row a service, walked by the boutique component (pods), the VM workloads
// component (env of a service that runs on a VM) and the network (which ports VMs and pods must reach).
// Facts: DESIGN.md section 4 (GoogleCloudPlatform/microservices-demo release manifests).

import { BOUTIQUE_GRAPH, type GraphService } from '../receiver/src/replay/boutique-graph';

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
  /** Public entry point: exposed by an external load balancer. */
  public?: boolean;
}

/**
 * One Online Boutique service: its place in the call graph (name, ports, protocol, calls: from
 * receiver/src/replay/boutique-graph.ts, which the local demo's replayer plays too, and which the
 * receiver's own build can reach) and how the stack deploys it (below).
 */
export type BoutiqueService = GraphService & BoutiqueDeployment;

export const BOUTIQUE_REGISTRY = 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo';

const small = { cpu: '100m', memory: '64Mi', cpuLimit: '200m', memoryLimit: '128Mi' };
const grpcService = (name: string, addressEnv: string, env: Record<string, string> = { DISABLE_PROFILER: '1' },
  resources = small): BoutiqueDeployment => ({ image: { boutique: name }, addressEnv, env, resources, probe: { grpc: true } });

const DEPLOYMENTS: Record<string, BoutiqueDeployment> = {
  frontend: { image: { boutique: 'frontend' }, env: { ENABLE_PROFILER: '0' }, resources: small, probe: { httpPath: '/_healthz' }, public: true },
  checkoutservice: grpcService('checkoutservice', 'CHECKOUT_SERVICE_ADDR', {}),
  paymentservice: grpcService('paymentservice', 'PAYMENT_SERVICE_ADDR'),
  productcatalogservice: grpcService('productcatalogservice', 'PRODUCT_CATALOG_SERVICE_ADDR'),
  shippingservice: grpcService('shippingservice', 'SHIPPING_SERVICE_ADDR'),
  emailservice: grpcService('emailservice', 'EMAIL_SERVICE_ADDR'),
  currencyservice: grpcService('currencyservice', 'CURRENCY_SERVICE_ADDR'),
  cartservice: grpcService('cartservice', 'CART_SERVICE_ADDR', {}, { cpu: '200m', memory: '64Mi', cpuLimit: '300m', memoryLimit: '128Mi' }),
  recommendationservice: grpcService('recommendationservice', 'RECOMMENDATION_SERVICE_ADDR', { DISABLE_PROFILER: '1' },
    { cpu: '100m', memory: '220Mi', cpuLimit: '200m', memoryLimit: '450Mi' }),
  adservice: grpcService('adservice', 'AD_SERVICE_ADDR', {}, { cpu: '200m', memory: '180Mi', cpuLimit: '300m', memoryLimit: '300Mi' }),
  'redis-cart': { image: { external: 'redis:alpine' }, addressEnv: 'REDIS_ADDR', env: {},
    resources: { cpu: '70m', memory: '200Mi', cpuLimit: '125m', memoryLimit: '256Mi' }, probe: { tcp: true } },
  loadgenerator: { image: { boutique: 'loadgenerator' }, env: { USERS: '10', RATE: '1' },
    resources: { cpu: '300m', memory: '256Mi', cpuLimit: '500m', memoryLimit: '512Mi' }, probe: { none: true } },
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
  if (svc.name !== 'redis-cart' && svc.name !== 'loadgenerator') env.PORT = String(svc.containerPort);
  for (const calleeName of svc.calls) {
    const callee = boutiqueService(calleeName);
    const key = callee.name === 'frontend' ? FRONTEND_ADDRESS_ENV : callee.addressEnv;
    if (!key || callee.servicePort === undefined) throw new Error(`${svc.name} calls ${callee.name}, which has no address`);
    const host = namespace ? `${callee.name}.${namespace}.svc.cluster.local` : callee.name;
    env[key] = `${host}:${callee.servicePort}`;
  }
  return { ...env, ...svc.env };
}

export function boutiqueImage(svc: BoutiqueService, version: string): string {
  return 'boutique' in svc.image ? `${BOUTIQUE_REGISTRY}/${svc.image.boutique}:${version}` : svc.image.external;
}
