// Online Boutique services that run on VMs, and the env each needs there (DESIGN.md section 4).
// On a VM, peers are named by FQDN: short names need a pod's resolv.conf search path, and the sidecar's
// DNS capture answers *.svc.cluster.local.

export const boutiqueImageRepository = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo";

/** Services a VM workload may call, with the env variable Online Boutique reads their address from. */
const boutiquePeers = {
    productcatalogservice: { addressEnv: "PRODUCT_CATALOG_SERVICE_ADDR", port: 3550 },
    shippingservice: { addressEnv: "SHIPPING_SERVICE_ADDR", port: 50051 },
    paymentservice: { addressEnv: "PAYMENT_SERVICE_ADDR", port: 50051 },
    emailservice: { addressEnv: "EMAIL_SERVICE_ADDR", port: 5000 },
    currencyservice: { addressEnv: "CURRENCY_SERVICE_ADDR", port: 7000 },
    cartservice: { addressEnv: "CART_SERVICE_ADDR", port: 7070 },
} as const;

export type BoutiquePeer = keyof typeof boutiquePeers;

export interface BoutiqueVmService {
    port: number;
    protocol: "grpc";
    peers: readonly BoutiquePeer[];
    extraEnv: Readonly<Record<string, string>>;
}

export const boutiqueVmServices = {
    checkoutservice: {
        port: 5050,
        protocol: "grpc",
        peers: ["productcatalogservice", "shippingservice", "paymentservice", "emailservice", "currencyservice", "cartservice"],
        extraEnv: {},
    },
    paymentservice: { port: 50051, protocol: "grpc", peers: [], extraEnv: { DISABLE_PROFILER: "1" } },
} as const satisfies Record<string, BoutiqueVmService>;

export type BoutiqueVmServiceName = keyof typeof boutiqueVmServices;

/** The env of an Online Boutique service on a VM whose peers live in `namespace` on the cluster. */
export function boutiqueVmEnv(service: string, namespace: string): Record<string, string> {
    const spec: BoutiqueVmService | undefined = (boutiqueVmServices as Record<string, BoutiqueVmService>)[service];
    if (spec === undefined) {
        throw new Error(`vm-bootstrap: Online Boutique service ${JSON.stringify(service)} has no VM env: expected one of ${Object.keys(boutiqueVmServices).join(", ")}`);
    }
    const env: Record<string, string> = { PORT: String(spec.port) };
    for (const peer of spec.peers) {
        const { addressEnv, port } = boutiquePeers[peer];
        env[addressEnv] = `${peer}.${namespace}.svc.cluster.local:${port}`;
    }
    return { ...env, ...spec.extraEnv };
}
