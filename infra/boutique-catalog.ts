// Online Boutique as data: one row a service, walked by the boutique component (pods), the VM workloads
// component (env of a service that runs on a VM) and the network (which ports VMs and pods must reach).
// Facts: DESIGN.md section 4 (GoogleCloudPlatform/microservices-demo release manifests).

export type WireProtocol = 'grpc' | 'http' | 'tcp';

export interface BoutiqueService {
  name: string;
  /** Image name under the release registry; `redis-cart` uses a public image instead. */
  image: { boutique: string } | { external: string };
  /** Port the container listens on. */
  containerPort: number;
  /** Port of its Kubernetes Service (what callers dial); absent: no Service (loadgenerator). */
  servicePort?: number;
  protocol: WireProtocol;
  /** Env var its callers use for its address, e.g. PRODUCT_CATALOG_SERVICE_ADDR. */
  addressEnv?: string;
  /** Services it calls: their addressEnv is set to `name:servicePort` in its env. */
  calls: string[];
  /** Fixed env besides PORT and the callees' addresses. */
  env: Record<string, string>;
  resources: { cpu: string; memory: string; cpuLimit: string; memoryLimit: string };
  /** Health probe: gRPC health service, HTTP GET path, or a TCP connect. */
  probe: { grpc: true } | { httpPath: string } | { tcp: true } | { none: true };
  /** Public entry point: exposed by an external load balancer. */
  public?: boolean;
}

export const BOUTIQUE_REGISTRY = 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo';

const small = { cpu: '100m', memory: '64Mi', cpuLimit: '200m', memoryLimit: '128Mi' };

export const BOUTIQUE_SERVICES: readonly BoutiqueService[] = [
  { name: 'frontend', image: { boutique: 'frontend' }, containerPort: 8080, servicePort: 80, protocol: 'http', public: true,
    calls: ['productcatalogservice', 'currencyservice', 'cartservice', 'recommendationservice', 'shippingservice', 'checkoutservice', 'adservice'],
    env: { ENABLE_PROFILER: '0' }, resources: small, probe: { httpPath: '/_healthz' } },
  { name: 'checkoutservice', image: { boutique: 'checkoutservice' }, containerPort: 5050, servicePort: 5050, protocol: 'grpc',
    addressEnv: 'CHECKOUT_SERVICE_ADDR',
    calls: ['productcatalogservice', 'shippingservice', 'paymentservice', 'emailservice', 'currencyservice', 'cartservice'],
    env: {}, resources: small, probe: { grpc: true } },
  { name: 'paymentservice', image: { boutique: 'paymentservice' }, containerPort: 50051, servicePort: 50051, protocol: 'grpc',
    addressEnv: 'PAYMENT_SERVICE_ADDR', calls: [], env: { DISABLE_PROFILER: '1' }, resources: small, probe: { grpc: true } },
  { name: 'productcatalogservice', image: { boutique: 'productcatalogservice' }, containerPort: 3550, servicePort: 3550, protocol: 'grpc',
    addressEnv: 'PRODUCT_CATALOG_SERVICE_ADDR', calls: [], env: { DISABLE_PROFILER: '1' }, resources: small, probe: { grpc: true } },
  { name: 'shippingservice', image: { boutique: 'shippingservice' }, containerPort: 50051, servicePort: 50051, protocol: 'grpc',
    addressEnv: 'SHIPPING_SERVICE_ADDR', calls: [], env: { DISABLE_PROFILER: '1' }, resources: small, probe: { grpc: true } },
  { name: 'emailservice', image: { boutique: 'emailservice' }, containerPort: 8080, servicePort: 5000, protocol: 'grpc',
    addressEnv: 'EMAIL_SERVICE_ADDR', calls: [], env: { DISABLE_PROFILER: '1' }, resources: small, probe: { grpc: true } },
  { name: 'currencyservice', image: { boutique: 'currencyservice' }, containerPort: 7000, servicePort: 7000, protocol: 'grpc',
    addressEnv: 'CURRENCY_SERVICE_ADDR', calls: [], env: { DISABLE_PROFILER: '1' }, resources: small, probe: { grpc: true } },
  { name: 'cartservice', image: { boutique: 'cartservice' }, containerPort: 7070, servicePort: 7070, protocol: 'grpc',
    addressEnv: 'CART_SERVICE_ADDR', calls: ['redis-cart'], env: {},
    resources: { cpu: '200m', memory: '64Mi', cpuLimit: '300m', memoryLimit: '128Mi' }, probe: { grpc: true } },
  { name: 'recommendationservice', image: { boutique: 'recommendationservice' }, containerPort: 8080, servicePort: 8080, protocol: 'grpc',
    addressEnv: 'RECOMMENDATION_SERVICE_ADDR', calls: ['productcatalogservice'], env: { DISABLE_PROFILER: '1' },
    resources: { cpu: '100m', memory: '220Mi', cpuLimit: '200m', memoryLimit: '450Mi' }, probe: { grpc: true } },
  { name: 'adservice', image: { boutique: 'adservice' }, containerPort: 9555, servicePort: 9555, protocol: 'grpc',
    addressEnv: 'AD_SERVICE_ADDR', calls: [], env: {},
    resources: { cpu: '200m', memory: '180Mi', cpuLimit: '300m', memoryLimit: '300Mi' }, probe: { grpc: true } },
  { name: 'redis-cart', image: { external: 'redis:alpine' }, containerPort: 6379, servicePort: 6379, protocol: 'tcp',
    addressEnv: 'REDIS_ADDR', calls: [], env: {}, resources: { cpu: '70m', memory: '200Mi', cpuLimit: '125m', memoryLimit: '256Mi' },
    probe: { tcp: true } },
  { name: 'loadgenerator', image: { boutique: 'loadgenerator' }, containerPort: 8089, protocol: 'http',
    calls: ['frontend'], env: { USERS: '10', RATE: '1' }, resources: { cpu: '300m', memory: '256Mi', cpuLimit: '500m', memoryLimit: '512Mi' },
    probe: { none: true } },
];

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
