// Renderer inputs as infra/ would pass them for the seed's two VM workloads.
import { boutiqueVmEnv, boutiqueVmServices, BoutiqueVmServiceName } from "../../vm-bootstrap/boutique";
import { VmBootstrapInput } from "../../vm-bootstrap/render";

export const namespace = "boutique";

export function vmInput(name: BoutiqueVmServiceName, cluster: { endpoint: string; caCertPem: string }): VmBootstrapInput {
    const service = boutiqueVmServices[name];
    return {
        workload: {
            name,
            port: service.port,
            protocol: service.protocol,
            namespace,
            serviceAccount: name,
            labels: { app: name, version: "v0.10.6" },
            env: boutiqueVmEnv(name, namespace),
        },
        versions: { istio: "1.31.0", onlineBoutique: "v0.10.6" },
        cluster: { ...cluster, clusterId: "meshscope-dev", meshId: "mesh1", network: "" },
        eastWestGatewayIp: "10.128.0.20",
        receiverAlsAddress: "10.128.0.30:11800",
    };
}
