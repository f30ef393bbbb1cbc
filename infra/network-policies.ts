// Who may talk to whom inside the cluster, enforced by GKE Dataplane V2: one ingress NetworkPolicy per
// observability workload, built from the table below. Ingress only: egress (DNS included) stays open. What no
// policy blocks, by Kubernetes' own rules: traffic from the pod's own node (kubelet probes) and
// `kubectl port-forward`, which connects inside the pod's network namespace (so the UI stays reachable that way).
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { AlsTarget } from './config';
import { BOUTIQUE_NAMESPACE } from './boutique';
import { ISTIO_NAMESPACE } from './istio-operator';
import { OAP_GRPC_PORT, OBSERVABILITY_NAMESPACE, RECEIVER_NAME, SKYWALKING_NAMES, SKYWALKING_RELEASE } from './observability';
import { RECEIVER_ADMIN_PORT, RECEIVER_ALS_PORT } from './ports';

/** OAP's REST/GraphQL port (the UI's backend, and the doctor's GraphQL queries). */
export const OAP_REST_PORT = 12800;
/** BanyanDB's gRPC (OAP's storage client, and liaison to data nodes) and HTTP (OAP's wait-for-banyandb) ports. */
export const BANYANDB_PORTS = { grpc: 17912, http: 17913, liaisonGrpc: 18912 } as const;

/** Pods by namespace and labels. */
export interface PodGroup { namespace: string; labels: Record<string, string> }

/** Who a rule admits: pods of a group, every pod of some namespaces, or addresses outside the pod network. */
export type Peer = { pods: PodGroup } | { namespaces: string[] } | { cidr: string };

export interface Allow {
  /** The NetworkPolicy this row belongs to, one per workload: `<name>-ingress`. */
  policy: string;
  to: PodGroup;
  ports: number[];
  from: Peer[];
  why: string;
}

export const WORKLOADS = {
  receiver: { namespace: OBSERVABILITY_NAMESPACE, labels: { app: RECEIVER_NAME } },
  oap: { namespace: OBSERVABILITY_NAMESPACE, labels: { ...SKYWALKING_NAMES.oapSelector } },
  oapInit: { namespace: OBSERVABILITY_NAMESPACE, labels: { app: SKYWALKING_RELEASE, release: SKYWALKING_RELEASE, component: 'skywalking-job' } },
  ui: { namespace: OBSERVABILITY_NAMESPACE, labels: { app: SKYWALKING_RELEASE, release: SKYWALKING_RELEASE, component: 'ui' } },
  banyandb: { namespace: OBSERVABILITY_NAMESPACE, labels: { 'app.kubernetes.io/name': 'banyandb', 'app.kubernetes.io/instance': SKYWALKING_RELEASE } },
} as const satisfies Record<string, PodGroup>;

/** Namespaces whose pods carry sidecars that stream ALS: the shop's, and Istio's (its gateways log too). */
export const MESH_NAMESPACES = [BOUTIQUE_NAMESPACE, ISTIO_NAMESPACE];
/**
 * Where the API server's proxy (`kubectl proxy` …/pods/<pod>:<port>/proxy, what `npm run doctor` reads) comes from on
 * GKE: its Konnectivity agents in kube-system carry the control plane's connections to pods.
 */
export const API_SERVER_PROXY_NAMESPACE = 'kube-system';

export interface FlowArgs {
  alsTarget: AlsTarget;
  /** The subnet VMs live in: through the receiver's (or OAP's) internal load balancer with externalTrafficPolicy
   * Local, GKE keeps the VM's own address as the source. */
  vmRange: string;
}

/** Every flow allowed to the observability workloads; anything else to them is refused. */
export function allowedFlows(a: FlowArgs): Allow[] {
  const sidecars: Peer[] = [{ namespaces: MESH_NAMESPACES }, { cidr: a.vmRange }];
  const alsTo = a.alsTarget === 'oap' ? 'oap' : 'receiver';
  return [
    { policy: 'receiver', to: WORKLOADS.receiver, ports: [RECEIVER_ALS_PORT], from: alsTo === 'receiver' ? sidecars : [],
      why: 'sidecars in the mesh\'s pods and on VMs stream access logs' },
    { policy: 'receiver', to: WORKLOADS.receiver, ports: [RECEIVER_ADMIN_PORT], from: [{ namespaces: [OBSERVABILITY_NAMESPACE] }, { namespaces: [API_SERVER_PROXY_NAMESPACE] }],
      why: 'health, metrics and topology: its own namespace, and the API server\'s pod proxy (npm run doctor)' },
    { policy: 'oap', to: WORKLOADS.oap, ports: [OAP_GRPC_PORT], from: [{ pods: WORKLOADS.receiver }, { pods: WORKLOADS.oap }, ...(alsTo === 'oap' ? sidecars : [])],
      why: 'the receiver\'s metrics, OAP\'s own cluster peers, and sidecars when they send ALS to OAP' },
    { policy: 'oap', to: WORKLOADS.oap, ports: [OAP_REST_PORT], from: [{ pods: WORKLOADS.ui }, { namespaces: [API_SERVER_PROXY_NAMESPACE] }],
      why: 'the UI\'s backend calls, and the doctor\'s GraphQL through the API server\'s service proxy' },
    { policy: 'banyandb', to: WORKLOADS.banyandb, ports: [BANYANDB_PORTS.grpc, BANYANDB_PORTS.http, BANYANDB_PORTS.liaisonGrpc],
      from: [{ pods: WORKLOADS.oap }, { pods: WORKLOADS.oapInit }, { pods: WORKLOADS.banyandb }],
      why: 'OAP and its schema job store and read; liaison and data nodes talk to each other' },
    // No row for the UI: its policy selects it with no ingress at all (port-forward only).
  ].filter((r) => r.from.length > 0) as Allow[];
}

/** The UI: selected, nothing admitted. */
const DENY_ALL: Record<string, PodGroup> = { ui: WORKLOADS.ui };

function peerSpec(p: Peer): k8s.types.input.networking.v1.NetworkPolicyPeer {
  if ('cidr' in p) return { ipBlock: { cidr: p.cidr } };
  if ('namespaces' in p) {
    return { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: p.namespaces }] } };
  }
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.pods.namespace } },
    podSelector: { matchLabels: p.pods.labels },
  };
}

export interface NetworkPolicySpec { name: string; namespace: string; spec: k8s.types.input.networking.v1.NetworkPolicySpec }

/** The NetworkPolicies the table makes: one per workload, ingress only. */
export function networkPolicySpecs(a: FlowArgs): NetworkPolicySpec[] {
  const ingressOnly = ['Ingress'];
  const rows = allowedFlows(a);
  const byPolicy = new Map<string, Allow[]>();
  for (const r of rows) byPolicy.set(r.policy, [...(byPolicy.get(r.policy) ?? []), r]);
  const specs = [...byPolicy].map(([name, rs]) => ({
    name: `${name}-ingress`,
    namespace: rs[0].to.namespace,
    spec: {
      podSelector: { matchLabels: rs[0].to.labels },
      policyTypes: ingressOnly,
      ingress: rs.map((r) => ({ from: r.from.map(peerSpec), ports: r.ports.map((port) => ({ protocol: 'TCP', port })) })),
    },
  }));
  const denies = Object.entries(DENY_ALL).map(([name, g]) => ({
    name: `${name}-ingress`, namespace: g.namespace, spec: { podSelector: { matchLabels: g.labels }, policyTypes: ingressOnly, ingress: [] },
  }));
  return [...specs, ...denies];
}

export interface NetworkPoliciesArgs extends FlowArgs {
  /** Created once the namespace exists (the Observability component). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:NetworkPolicies', name, {}, opts);
    for (const p of networkPolicySpecs(args)) {
      new k8s.networking.v1.NetworkPolicy(`${name}-${p.name}`, {
        metadata: { name: `meshscope-${p.name}`, namespace: p.namespace },
        spec: p.spec,
      }, { parent: this, dependsOn: args.dependsOn });
    }
    this.registerOutputs({});
  }
}
