// Renderer inputs as infra/ would pass them for the seed's two VM workloads.
import { BOUTIQUE_REGISTRY, boutiqueEnv, boutiqueService } from "../../catalog/src/online-boutique";
import { VmBootstrapInput } from "../../vm-bootstrap/render";

export const namespace = "boutique";

/** The seed's VM workloads. */
export const VM_SERVICES = ["checkoutservice", "paymentservice"] as const;
export type VmServiceName = (typeof VM_SERVICES)[number];

export function vmInput(name: VmServiceName, cluster: { endpoint: string; caCertPem: string }): VmBootstrapInput {
    const service = boutiqueService(name);
    return {
        workload: {
            name,
            port: service.containerPort,
            protocol: "grpc",
            namespace,
            serviceAccount: name,
            labels: { app: name, version: "v0.10.6" },
            env: boutiqueEnv(service, namespace),
        },
        versions: { istio: "1.31.0", onlineBoutique: "v0.10.6" },
        cluster: { ...cluster, clusterId: "meshscope-dev", meshId: "mesh1", network: "" },
        eastWestGatewayIp: "10.128.0.20",
        receiverAlsAddress: "10.128.0.30:11800",
        imageRepository: BOUTIQUE_REGISTRY,
    };
}
