// GCE instance metadata attributes that carry a VM's scripts and its inputs to bootstrap.sh (one value
// each, all non-secret, all updated in place). The script's REQUIRED_ATTRS lists the inputs without the prefix.

export const metadataPrefix = "meshscope-";

/** GCE runs this one at every boot: launcher.sh, which installs and starts the agent. */
export const startupScriptKey = "startup-script";

/** The two scripts, which the launcher and the agent read from metadata so an edit reaches running VMs. */
export const scriptKeys = {
    agent: "meshscope-agent",
    bootstrap: "meshscope-bootstrap",
    /** status-report.sh, which the agent runs after every bootstrap run and wake-up (for `npm run doctor`). */
    statusReport: "meshscope-status-report",
} as const;

export const metadataKeys = {
    workload: "meshscope-workload",
    namespace: "meshscope-namespace",
    serviceAccount: "meshscope-service-account",
    workloadImage: "meshscope-workload-image",
    istioVersion: "meshscope-istio-version",
    /** The SHA-256 istio-sidecar.deb must have, or "published": the .sha256 file the release serves next to it. */
    istioSidecarSha256: "meshscope-istio-sidecar-sha256",
    clusterEndpoint: "meshscope-cluster-endpoint",
    clusterCaCert: "meshscope-cluster-ca-cert",
    eastWestGatewayIp: "meshscope-east-west-gateway-ip",
    istiodHost: "meshscope-istiod-host",
    clusterEnv: "meshscope-cluster-env",
    meshConfig: "meshscope-mesh-config",
    workloadEnv: "meshscope-workload-env",
} as const;

export type MetadataKey = (typeof metadataKeys)[keyof typeof metadataKeys];
