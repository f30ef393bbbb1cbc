// The VM's own control paths: what the agent, the bootstrap and GCE's guest agent must reach even when the
// sidecar cannot forward anything (after a restart, before istiod pushed its listeners), and how each is kept
// out of istio-iptables' capture. One table; cluster.env's two exclusion variables are derived from it.
//
// istio-iptables (istio 1.30.3, tools/istio-iptables/pkg/cmd/root.go, constants.go; capture/run.go) reads:
// - ISTIO_SERVICE_EXCLUDE_CIDR: ranges RETURNed in ISTIO_OUTPUT before the "*" redirect, for every process;
// - ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: groups (name or gid) whose connections are RETURNed (`--gid-owner`).
// Both come after the DNS redirect in ISTIO_OUTPUT, so the workload's DNS still goes to the agent's DNS proxy;
// the metadata guard (bootstrap.sh, filter table, the workload uid's conntrack original destination) is
// untouched by either, so the workload stays off the metadata server.
import { isIPv4 } from "node:net";

export interface ControlPath {
    /** What is reached. */
    path: string;
    /** Who needs it, and why it must not depend on the sidecar. */
    why: string;
    /** The range excluded for it, when it has a fixed one (derived from the stack's values). */
    cidr?: (values: ControlPathValues) => string | undefined;
    /** The group whose connections are excluded, when the destination has no fixed range. */
    ownerGroup?: string;
}

export interface ControlPathValues {
    /** meshscope-cluster-endpoint: the cluster component's endpoint output, host[:port]. */
    clusterEndpoint: string;
}

/** GCE's metadata server (also the VM's DNS resolver and NTP server). */
export const METADATA_SERVER_IP = "169.254.169.254";

export const CONTROL_PATHS: readonly ControlPath[] = [
    {
        path: `GCE metadata server ${METADATA_SERVER_IP}`,
        why: "the agent's attribute reads and wait_for_change, the Google access token, the guest-attribute status report, the guest agent",
        cidr: () => `${METADATA_SERVER_IP}/32`,
    },
    {
        path: "the cluster's control-plane endpoint (meshscope-cluster-endpoint)",
        why: "the bootstrap's TokenRequest and root-cert read: without them no istio-token, so no sidecar",
        // An IP endpoint gets its /32; a DNS-named endpoint (GKE's DNS-based endpoint) has no fixed range and is
        // covered by the owner-group row below, like the Google APIs.
        cidr: ({ clusterEndpoint }) => {
            const host = clusterEndpoint.replace(/:\d+$/, "");
            return isIPv4(host) ? `${host}/32` : undefined;
        },
    },
    {
        path: "Google APIs and package mirrors (storage.googleapis.com for istio-sidecar.deb, Debian's apt mirrors, Artifact Registry for podman's image pull)",
        why: "their addresses are many and change (no fixed range to exclude); every caller on the VM runs as root (the agent, the bootstrap, curl, apt-get with APT::Sandbox::User=root, podman's pull, the guest agent), the workload never does",
        ownerGroup: "root",
    },
];

/** cluster.env's exclusion variables, from the table: a change of a stack output reaches the VM through its metadata. */
export function captureExclusions(values: ControlPathValues): { ISTIO_SERVICE_EXCLUDE_CIDR: string; ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: string } {
    const cidrs = CONTROL_PATHS.map((row) => row.cidr?.(values)).filter((cidr): cidr is string => cidr !== undefined);
    const groups = CONTROL_PATHS.map((row) => row.ownerGroup).filter((group): group is string => group !== undefined);
    return { ISTIO_SERVICE_EXCLUDE_CIDR: [...new Set(cidrs)].join(","), ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: [...new Set(groups)].join(",") };
}
