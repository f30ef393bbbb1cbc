// Renders one VM's boot: the instance metadata that carries the launcher (GCE's startup-script), the agent
// and the bootstrap scripts, and the inputs the bootstrap reads. infra/ resolves its Outputs (pulumi.all) and
// calls renderVmBootstrap with plain values; the result goes to the instance as `metadata`, every key of
// which GCE updates in place (unlike the provider's metadataStartupScript, whose change replaces the VM).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { literalEnvFile } from "./env-file";
import { metadataKeys, scriptKeys, startupScriptKey } from "./metadata-keys";
import { defaultReadinessProbe, ReadinessProbe, readinessProbeOf } from "./readiness-probe";
import { clusterEnv, meshConfigYaml, SidecarConfigInput } from "./sidecar-config";
import {
    dnsLabelOf, dnsNameOf, endpointOf, envNameOf, envValueOf, fail, ipv4Of, istioIdOf, ipv4PortOf, labelsOf, oneOf,
    pemCertificateOf, portOf, sha256Of, versionOf,
} from "./validate";

export const workloadProtocols = ["grpc", "http", "http2", "tcp"] as const;
export type WorkloadProtocol = (typeof workloadProtocols)[number];

export interface VmWorkloadInput {
    /** Service and WorkloadGroup name, e.g. checkoutservice; also the image name. */
    name: string;
    port: number;
    /** Names the port (WorkloadEntry ports key), which tells Istio its protocol. */
    protocol: WorkloadProtocol;
    /** Kubernetes namespace of the WorkloadGroup and its service account. */
    namespace: string;
    /** Kubernetes service account the VM's istio-token is minted for. */
    serviceAccount: string;
    /** WorkloadGroup metadata labels. */
    labels: Record<string, string>;
    /** The container's env, taken as given (infra/ derives Online Boutique's from its catalog). */
    env: Record<string, string>;
    /** The WorkloadGroup's spec.probe, which the VM's agent runs and reports to istiod; default: TCP on port. */
    readinessProbe?: ReadinessProbe;
}

export interface VmBootstrapInput {
    workload: VmWorkloadInput;
    versions: {
        /** Istio release of istio-sidecar.deb, e.g. 1.31.0; should match the control plane. */
        istio: string;
        /** Online Boutique image tag, e.g. v0.10.6. */
        onlineBoutique: string;
        /** SHA-256 the VM requires of istio-sidecar.deb; unset or '': the checksum the release publishes next to it. */
        istioSidecarSha256?: string;
    };
    cluster: {
        /** GKE endpoint (IP, optionally :port), no scheme. */
        endpoint: string;
        /** The cluster CA as PEM (GKE's masterAuth.clusterCaCertificate, base64-decoded). */
        caCertPem: string;
        /** Istio cluster id (global.multiCluster.clusterName). */
        clusterId: string;
        meshId: string;
        /** Istio network name; empty for a single network. */
        network: string;
        /** Default cluster.local. */
        trustDomain?: string;
    };
    /** Internal IP of the east-west gateway, through which the VM reaches istiod. */
    eastWestGatewayIp: string;
    /** The ALS receiver's internal load balancer, IP:port. */
    receiverAlsAddress: string;
    /** Default istiod.istio-system.svc. */
    istiodHost?: string;
    /** Registry path the workload image `<repository>/<name>:<onlineBoutique version>` is pulled from. */
    imageRepository: string;
    /** Let istiod create the WorkloadEntry (ISTIO_META_AUTO_REGISTER_GROUP); default false. */
    autoRegister?: boolean;
}

export interface VmBootstrap {
    /** launcher.sh, the same small script for every VM; also metadata["startup-script"]. */
    startupScript: string;
    /** The instance's metadata: startup-script, the meshscope-* scripts and inputs, all non-secret. */
    metadata: Record<string, string>;
}

const istiodPort = 15012;
/** meshscope-istio-sidecar-sha256 when the stack pins none: bootstrap.sh then trusts the release's .sha256 file. */
export const publishedChecksum = "published";
const script = (name: string) => readFileSync(join(__dirname, name), "utf8");
const scripts = {
    launcher: script("launcher.sh"), agent: script("agent.sh"), bootstrap: script("bootstrap.sh"), statusReport: script("status-report.sh"),
};

export function renderVmBootstrap(input: VmBootstrapInput): VmBootstrap {
    const { workload, versions, cluster } = input;
    const name = dnsLabelOf("workload.name", workload.name);
    const namespace = dnsLabelOf("workload.namespace", workload.namespace);
    const istiodHost = dnsNameOf("istiodHost", input.istiodHost ?? "istiod.istio-system.svc");
    const network = cluster.network === "" ? "" : istioIdOf("cluster.network", cluster.network);
    if (Object.keys(workload.env).length === 0) fail("workload.env", workload.env, "at least one variable (the VM passes it as an env file; Online Boutique needs PORT)");
    const env = Object.fromEntries(Object.entries(workload.env).map(([key, value]) =>
        [envNameOf("workload.env key", key), envValueOf(`workload.env[${key}]`, value)]));
    const repository = input.imageRepository;
    if (!/^[a-z0-9][a-z0-9.\-/:]*[a-z0-9]$/.test(repository)) fail("imageRepository", repository, "a registry path like us-central1-docker.pkg.dev/project/repo");

    const sidecar: SidecarConfigInput = {
        workloadName: name,
        namespace,
        serviceAccount: dnsNameOf("workload.serviceAccount", workload.serviceAccount),
        port: portOf("workload.port", workload.port),
        protocol: oneOf("workload.protocol", workload.protocol, workloadProtocols),
        labels: labelsOf("workload.labels", workload.labels),
        clusterId: istioIdOf("cluster.clusterId", cluster.clusterId),
        meshId: istioIdOf("cluster.meshId", cluster.meshId),
        network,
        trustDomain: dnsNameOf("cluster.trustDomain", cluster.trustDomain ?? "cluster.local"),
        discoveryAddress: `${istiodHost}:${istiodPort}`,
        alsAddress: ipv4PortOf("receiverAlsAddress", input.receiverAlsAddress),
        autoRegister: input.autoRegister ?? false,
        readinessProbe: readinessProbeOf("workload.readinessProbe", workload.readinessProbe ?? defaultReadinessProbe(workload.port)),
        // infra/ names the WorkloadEntry after its workload.
        workloadEntryName: name,
        clusterEndpoint: endpointOf("cluster.endpoint", cluster.endpoint),
    };

    const inputs: Record<(typeof metadataKeys)[keyof typeof metadataKeys], string> = {
        [metadataKeys.workload]: name,
        [metadataKeys.namespace]: namespace,
        [metadataKeys.serviceAccount]: sidecar.serviceAccount,
        [metadataKeys.workloadImage]: `${repository}/${name}:${versionOf("versions.onlineBoutique", versions.onlineBoutique, /^v\d+\.\d+\.\d+$/, "v0.10.6")}`,
        // Plain x.y.z: the .deb's version is the release's, and bootstrap.sh compares them.
        [metadataKeys.istioVersion]: versionOf("versions.istio", versions.istio, /^\d+\.\d+\.\d+$/, "1.31.0"),
        [metadataKeys.istioSidecarSha256]: versions.istioSidecarSha256
            ? sha256Of("versions.istioSidecarSha256", versions.istioSidecarSha256)
            : publishedChecksum,
        // The cluster component's endpoint output enters here, and from here the capture exclusions (control-paths.ts).
        [metadataKeys.clusterEndpoint]: sidecar.clusterEndpoint,
        [metadataKeys.clusterCaCert]: pemCertificateOf("cluster.caCertPem", cluster.caCertPem),
        [metadataKeys.eastWestGatewayIp]: ipv4Of("eastWestGatewayIp", input.eastWestGatewayIp),
        [metadataKeys.istiodHost]: istiodHost,
        [metadataKeys.clusterEnv]: clusterEnv(sidecar),
        [metadataKeys.meshConfig]: meshConfigYaml(sidecar),
        [metadataKeys.workloadEnv]: literalEnvFile(env),
    };
    const metadata = {
        [startupScriptKey]: scripts.launcher,
        [scriptKeys.agent]: scripts.agent,
        [scriptKeys.bootstrap]: scripts.bootstrap,
        [scriptKeys.statusReport]: scripts.statusReport,
        ...inputs,
    };
    return { startupScript: scripts.launcher, metadata };
}
