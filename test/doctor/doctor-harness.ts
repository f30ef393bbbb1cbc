// A deployed stack in miniature, for the doctor: the stack's outputs, its VMs' status documents behind a
// fake Compute API, a fake Kubernetes API whose pod proxy reaches REAL receivers (receiver/dist/main.js run
// as child processes, fed real ALS streams), and a fake OAP GraphQL API. Green by default; a scenario
// changes one thing.
import * as path from 'node:path';
import { stackPrefix } from '../../infra/naming';
import { EASTWEST_GATEWAY_NAME, ISTIO_NAMESPACE } from '../../infra/istio-operator';
import { OBSERVABILITY_NAMESPACE, RECEIVER_NAME, SKYWALKING_NAMES } from '../../infra/observability';
import { RECEIVER_ADMIN_PORT } from '../../infra/ports';
import { HEALTH_CHECKS_ANNOTATION, oapServiceName } from '../../doctor/checks';
import { calleeAddresses, outboundCluster, vmFacingServices, vmRelations } from '../../doctor/expectations';
import { MESH_LAYER } from '../../doctor/oap-graphql';
import { OAP_REST_PORT_NAME } from '../../doctor/sources';
import type { StackOutputs } from '../../doctor/stack-outputs';
import { VM_STATUS_KEY, VM_STATUS_NAMESPACE, VM_STATUS_SCHEMA, type VmStatus } from '../../doctor/vm-status';
import { httpCall, nodeOf, pod, vm, type WorkloadSpec } from '../fixtures/mesh-fixtures';
import { AlsStream, alsClient, waitFor } from '../receiver/harness';
import { NodeChild } from '../receiver/node-child';
import type { KubeObject } from './fake-kube-api';

export const STACK = 'dev';
// Pulumi.dev.yaml's project and zone: the doctor reads them from there.
export const PROJECT = 'meshscope-dev';
export const ZONE = 'europe-west1-b';
export const NS = 'boutique';
export const GOOGLE_TOKEN = 'ya29.doctor-test-token';

const VM_NAMES = ['checkoutservice', 'paymentservice'];

/** What `pulumi stack output --json --show-secrets=false` prints for the stack (infra/index.ts exports). */
export function stackOutputs(kubeconfig: string): StackOutputs & Record<string, unknown> {
  return {
    networkName: `${stackPrefix(STACK)}-vpc`,
    clusterName: `${stackPrefix(STACK)}-gke`,
    kubeconfig,
    boutiqueNamespace: NS,
    eastwestGatewayIp: '10.10.0.9',
    alsAddressForVms: '10.10.0.7:11800',
    receiverImage: '[secret]',
    vms: VM_NAMES.map((name, i) => ({ name, instance: `${stackPrefix(STACK)}-${name}`, internalIp: `10.10.0.${20 + i}` })),
  };
}

/** RFC 3339 to the second, as the VM writes times. */
export const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The document a healthy VM's status-report.sh writes. */
export function greenStatus(outputs: StackOutputs, name: string): VmStatus {
  const callees = calleeAddresses(name, outputs.boutiqueNamespace);
  return {
    schema: VM_STATUS_SCHEMA,
    workload: name,
    reportedAt: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    bootstrap: { phase: 'done', exitCode: 0, lastError: null },
    // Minted a quarter of an hour ago, valid for the rest of its hour.
    token: { mintedAt: isoSeconds(Date.now() - 15 * 60_000), expiresAt: isoSeconds(Date.now() + 45 * 60_000) },
    istiod: { host: 'istiod.istio-system.svc', expectedIp: outputs.eastwestGatewayIp, resolvedIp: outputs.eastwestGatewayIp, port: 15012, reachable: true },
    dns: callees.map((c, i) => ({ host: c.split(':')[0], resolvedIp: `10.24.0.${10 + i}` })),
    sidecar: { adminReachable: true, clusters: callees.map((c) => ({ name: outboundCluster(c), present: true, endpoints: 1, healthy: 1 })) },
    units: [{ name: 'istio.service', activeState: 'active' }, { name: `meshscope-${name}.service`, activeState: 'active' }],
    als: { address: outputs.alsAddressForVms, activeConnections: 1 },
  };
}

export function guestAttributesOf(status: VmStatus): Record<string, string> {
  return { [`${VM_STATUS_NAMESPACE}/${VM_STATUS_KEY}`]: JSON.stringify(status) };
}

export const RECEIVER_PODS = { green: 'meshscope-receiver-6f7d9c8b4-qx2lp', second: 'meshscope-receiver-6f7d9c8b4-z9k3t' };

/** The green cluster's objects, in the shape the Kubernetes REST API returns them. */
export function greenCluster(outputs: StackOutputs): KubeObject[] {
  const meta = (namespace: string, name: string, labels?: Record<string, string>) => ({ name, namespace, ...(labels ? { labels } : {}) });
  const deployment = (namespace: string, name: string): KubeObject => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(namespace, name),
    spec: { replicas: 1 }, status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [{ type: 'Available', status: 'True' }] },
  });
  const slice = (namespace: string, service: string, ip: string): KubeObject => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta(namespace, `${service}-abc12`, { 'kubernetes.io/service-name': service }),
    addressType: 'IPv4', endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
  });
  const receiverLabels = { app: RECEIVER_NAME };
  return [
    ...outputs.vms.map((v): KubeObject => ({
      apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry',
      metadata: { ...meta(NS, v.name), annotations: { [HEALTH_CHECKS_ANNOTATION]: 'true' } },
      spec: { address: v.internalIp, labels: { app: v.name }, serviceAccount: v.name },
      status: { conditions: [{ type: 'Healthy', status: 'True', lastProbeTime: '2026-12-02T02:00:00Z', lastTransitionTime: '2026-12-02T01:00:00Z' }] },
    })),
    deployment(ISTIO_NAMESPACE, 'istiod'),
    slice(ISTIO_NAMESPACE, 'istiod', '10.20.1.5'),
    deployment(ISTIO_NAMESPACE, EASTWEST_GATEWAY_NAME),
    { apiVersion: 'v1', kind: 'Service', metadata: meta(ISTIO_NAMESPACE, EASTWEST_GATEWAY_NAME),
      spec: { type: 'LoadBalancer', loadBalancerIP: outputs.eastwestGatewayIp }, status: { loadBalancer: { ingress: [{ ip: outputs.eastwestGatewayIp, ipMode: 'VIP' }] } } },
    slice(ISTIO_NAMESPACE, EASTWEST_GATEWAY_NAME, '10.20.1.6'),
    { apiVersion: 'v1', kind: 'Service', metadata: meta(OBSERVABILITY_NAMESPACE, RECEIVER_NAME, receiverLabels),
      spec: { clusterIP: 'None', selector: receiverLabels, ports: [{ name: 'http-admin', port: RECEIVER_ADMIN_PORT }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: meta(OBSERVABILITY_NAMESPACE, RECEIVER_PODS.green, receiverLabels), status: { phase: 'Running' } },
    { apiVersion: 'v1', kind: 'Service', metadata: meta(OBSERVABILITY_NAMESPACE, SKYWALKING_NAMES.oapService),
      spec: { ports: [{ name: 'grpc', port: 11800 }, { name: OAP_REST_PORT_NAME, port: 12800 }] } },
  ];
}

/** The proxy key of a receiver pod's admin port, and of OAP's REST port. */
export const receiverProxyKey = (podName: string) => `${OBSERVABILITY_NAMESPACE}/pods/${podName}:${RECEIVER_ADMIN_PORT}`;
export const OAP_PROXY_KEY = `${OBSERVABILITY_NAMESPACE}/services/${SKYWALKING_NAMES.oapService}:${OAP_REST_PORT_NAME}`;

/** What OAP shows when every VM service and relation arrived. */
export function greenOap(outputs: StackOutputs) {
  const names = outputs.vms.map((v) => v.name);
  return {
    timezone: '+0000',
    services: { [MESH_LAYER]: vmFacingServices(names).map((s) => oapServiceName(s, outputs.boutiqueNamespace)) },
    relations: { [MESH_LAYER]: vmRelations(names).map((r) => `${oapServiceName(r.source, NS)}->${oapServiceName(r.target, NS)}`) },
  };
}

const MAIN = path.join(__dirname, '..', '..', 'receiver', 'dist', 'main.js');

/** The built receiver as a process on loopback, the way its image runs it. */
export class ReceiverProcess extends NodeChild {
  constructor(oapAddress: string) {
    super(MAIN, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--sink', 'oap', '--oap-address', oapAddress,
      '--flush-interval-ms', '20', '--shutdown-timeout-ms', '1000'], { killAfterMs: 170_000 });
  }

  async started(): Promise<{ grpcPort: number; adminUrl: string }> {
    const line = () => this.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'receiver started');
    await waitFor(() => line() !== undefined || !this.running, 'the receiver to start', 15_000);
    const l = line();
    if (!l) throw new Error(`the receiver exited: ${this.stderr}`);
    return { grpcPort: l.grpcPort as number, adminUrl: `http://127.0.0.1:${l.adminPort as number}` };
  }
}

export const MAIN_JS = MAIN;

/** The mesh's sidecars, VMs at the stack's VM addresses. */
export function sidecars(outputs: StackOutputs) {
  const ipOf = (name: string) => outputs.vms.find((v) => v.name === name)!.internalIp;
  return {
    frontend: pod('frontend', NS),
    checkout: vm('checkoutservice', NS, { ip: ipOf('checkoutservice'), port: 5050 }),
    payment: vm('paymentservice', NS, { ip: ipOf('paymentservice'), port: 50051 }),
  };
}

/**
 * Opens each sidecar's ALS stream and sends its side of frontend→checkoutservice→paymentservice, leaving the
 * streams open as Envoy does (the receiver lists open streams only). Returns a function that ends them.
 */
export function streamTraffic(grpcPort: number, outputs: StackOutputs, who: ('frontend' | 'checkout' | 'payment')[]): () => Promise<void> {
  const s = sidecars(outputs);
  const order = httpCall(s.frontend, s.checkout, { method: 'POST', path: '/hipstershop.CheckoutService/PlaceOrder' });
  const charge = httpCall(s.checkout, s.payment, { method: 'POST', path: '/hipstershop.PaymentService/Charge' });
  const entries: Record<string, { w: WorkloadSpec; http: ReturnType<typeof httpCall>['client'][] }> = {
    frontend: { w: s.frontend, http: [order.client] },
    checkout: { w: s.checkout, http: [order.server, charge.client] },
    payment: { w: s.payment, http: [charge.server] },
  };
  const client = alsClient(grpcPort);
  const streams = who.map((k) => new AlsStream(client).send({ identifier: { node: nodeOf(entries[k].w), log_name: 'envoy_accesslog_service' }, http_logs: { log_entry: entries[k].http } }));
  return async () => {
    await Promise.all(streams.map((st) => st.end()));
    client.close();
  };
}

/** A counter of the receiver's /metrics, summed over its label sets. */
export async function receiverCounter(adminUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
