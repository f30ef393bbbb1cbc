// What `istioctl x workload entry configure` would write for one VM (istio/istio
// istioctl/pkg/workload/workload.go: createMeshConfig, createClusterEnv), built from plain values.
import YAML from "yaml";
import { captureExclusions } from "./control-paths";
import { shellEnvFile } from "./env-file";
import { ReadinessProbe } from "./readiness-probe";

export interface SidecarConfigInput {
    workloadName: string;
    namespace: string;
    serviceAccount: string;
    port: number;
    protocol: string;
    labels: Record<string, string>;
    clusterId: string;
    meshId: string;
    network: string;
    trustDomain: string;
    discoveryAddress: string;
    alsAddress: string;
    autoRegister: boolean;
    /** The WorkloadGroup's probe, run by the VM's agent and reported to istiod. */
    readinessProbe: ReadinessProbe;
    /** The WorkloadEntry this VM is (infra/ declares it); unused with autoRegister, where istiod names it. */
    workloadEntryName: string;
    /** The cluster's control-plane endpoint (host[:port]), kept out of the sidecar's capture (control-paths.ts). */
    clusterEndpoint: string;
}

const canonicalNameLabel = "service.istio.io/canonical-name";
const canonicalRevisionLabel = "service.istio.io/canonical-revision";

/** Istio's canonical service rule (pkg/config/labels CanonicalService): first label present, else defaults. */
function canonicalService(labels: Record<string, string>, workloadName: string): { name: string; revision: string } {
    const first = (keys: string[], fallback: string) => keys.map((key) => labels[key]).find((value) => value) ?? fallback;
    return {
        name: first([canonicalNameLabel, "app.kubernetes.io/name", "app"], workloadName),
        revision: first([canonicalRevisionLabel, "app.kubernetes.io/version", "version"], "latest"),
    };
}

/** defaultConfig.proxyMetadata: the agent's env, which istioctl also copies into cluster.env. */
export function proxyMetadata(input: SidecarConfigInput): Record<string, string> {
    const canonical = canonicalService(input.labels, input.workloadName);
    const labels = { ...input.labels, [canonicalNameLabel]: canonical.name, [canonicalRevisionLabel]: canonical.revision };
    const metadata: Record<string, string> = {
        CANONICAL_SERVICE: canonical.name,
        CANONICAL_REVISION: canonical.revision,
        POD_NAMESPACE: input.namespace,
        SERVICE_ACCOUNT: input.serviceAccount,
        TRUST_DOMAIN: input.trustDomain,
        ISTIO_META_CLUSTER_ID: input.clusterId,
        ISTIO_META_MESH_ID: input.meshId,
        ISTIO_META_NETWORK: input.network,
        ISTIO_META_POD_PORTS: JSON.stringify([{ name: input.protocol, containerPort: input.port }]),
        ISTIO_META_WORKLOAD_NAME: input.workloadName,
        ISTIO_METAJSON_LABELS: JSON.stringify(labels),
        // The agent's DNS proxy answers cluster names on the VM (replaces the seed's dnsmasq). Addresses for
        // ServiceEntry hosts come from istiod itself (PILOT_ENABLE_IP_AUTOALLOCATE, on by default since 1.25),
        // which replaced the deprecated ISTIO_META_DNS_AUTO_ALLOCATE.
        ISTIO_META_DNS_CAPTURE: "true",
    };
    // istiod applies the agent's health reports to the entry the proxy names (or the one it registers).
    if (input.autoRegister) metadata.ISTIO_META_AUTO_REGISTER_GROUP = input.workloadName;
    else metadata.ISTIO_META_WORKLOAD_ENTRY = input.workloadEntryName;
    return metadata;
}

/** /etc/istio/config/mesh: a MeshConfig holding only defaultConfig, like istioctl's mesh.yaml. */
export function meshConfigYaml(input: SidecarConfigInput): string {
    const defaultConfig = {
        discoveryAddress: input.discoveryAddress,
        meshId: input.meshId,
        // Envoy's own ALS connection is not captured and cannot resolve cluster DNS: an IP:port it can reach.
        envoyAccessLogService: { address: input.alsAddress },
        proxyMetadata: proxyMetadata(input),
        // istioctl copies the WorkloadGroup's probe here; without it the agent reports no health.
        readinessProbe: input.readinessProbe,
    };
    return YAML.stringify({ defaultConfig }, { sortMapEntries: true });
}

/** /var/lib/istio/envoy/cluster.env: proxyMetadata plus the workload's own settings. */
export function clusterEnv(input: SidecarConfigInput): string {
    return shellEnvFile({
        ...proxyMetadata(input),
        ISTIO_INBOUND_PORTS: String(input.port),
        ISTIO_NAMESPACE: input.namespace,
        ISTIO_SERVICE: `${input.workloadName}.${input.namespace}`,
        // Capture all outbound traffic: the VM does not know the cluster's service range...
        ISTIO_SERVICE_CIDR: "*",
        // ...but the VM's own control paths, so a sidecar without listeners cannot cut the VM off from its recovery.
        ...captureExclusions({ clusterEndpoint: input.clusterEndpoint }),
        // ssh, Envoy's Prometheus port, the agent's health and status ports stay reachable.
        ISTIO_LOCAL_EXCLUDE_PORTS: "22,15090,15021,15020",
        SERVICE_ACCOUNT: input.serviceAccount,
    });
}
