// GCE instance metadata attributes that carry a VM's inputs to bootstrap.sh (one value each, all
// non-secret). The script's REQUIRED_ATTRS lists the same names without the prefix.

export const metadataPrefix = "meshscope-";

export const metadataKeys = {
    workload: "meshscope-workload",
    namespace: "meshscope-namespace",
    serviceAccount: "meshscope-service-account",
    workloadImage: "meshscope-workload-image",
    istioVersion: "meshscope-istio-version",
    clusterEndpoint: "meshscope-cluster-endpoint",
    clusterCaCert: "meshscope-cluster-ca-cert",
    eastWestGatewayIp: "meshscope-east-west-gateway-ip",
    istiodHost: "meshscope-istiod-host",
    clusterEnv: "meshscope-cluster-env",
    meshConfig: "meshscope-mesh-config",
    workloadEnv: "meshscope-workload-env",
} as const;

export type MetadataKey = (typeof metadataKeys)[keyof typeof metadataKeys];
