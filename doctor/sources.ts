// Everything the checks read, fetched once each (several checks share a read) and kept as a promise, so
// a failed read fails every check that needs it with the same words.
import { EASTWEST_GATEWAY_NAME, ISTIO_NAMESPACE } from '../infra/istio-operator';
import { OBSERVABILITY_NAMESPACE, RECEIVER_NAME, SKYWALKING_NAMES } from '../infra/observability';
import { RECEIVER_ADMIN_PORT } from '../infra/ports';
import { readVmStatus, type VmStatusAnswer } from './guest-attributes';
import type { KubeApi } from './kube-api';
import { graphql, MESH_LAYER, minuteDuration, type Topology } from './oap-graphql';
import { readReceiverMetrics, type ReceiverCounters } from './receiver-metrics';
import type { StackLocation } from './stack-location';
import type { StackOutputs, VmOutput } from './stack-outputs';

/** The OAP Service's port for HTTP queries, named by the chart (skywalking-helm 4.9.0 values.yaml oap.ports.rest). */
export const OAP_REST_PORT_NAME = 'rest';
export const ISTIOD_NAME = 'istiod';

export interface DoctorContext {
  stack: string;
  outputs: StackOutputs;
  location: StackLocation;
  kube: KubeApi;
  computeUrl: string;
  accessToken: () => Promise<string>;
  /** How far back OAP's topology is read. */
  windowMinutes: number;
}

// Kubernetes REST shapes, only the fields read (kubernetes.io/docs/reference/kubernetes-api/).
export interface Condition { type: string; status: string; reason?: string; message?: string }
export interface WorkloadEntry { metadata?: { annotations?: Record<string, string> }; status?: { conditions?: Condition[] } }
export interface Deployment { spec?: { replicas?: number }; status?: { availableReplicas?: number; readyReplicas?: number; conditions?: Condition[] } }
export interface Service { spec?: { selector?: Record<string, string> }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }
export interface EndpointSliceList { items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }
export interface PodList { items: { metadata: { name: string }; status?: { phase?: string } }[] }

export interface ReceiverPod { pod: string; ready: { status: number; body: string }; counters?: ReceiverCounters; metricsError?: string }

export class Sources {
  private readonly memo = new Map<string, Promise<unknown>>();
  constructor(readonly ctx: DoctorContext) {}

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (!this.memo.has(key)) this.memo.set(key, read());
    return this.memo.get(key) as Promise<T>;
  }

  /** The API server's version (GET /version): proves the cluster answers through the user's kubeconfig at all. */
  clusterVersion(): Promise<string> {
    return this.once('version', async () => {
      const v = await this.ctx.kube.object<{ gitVersion?: string }>('/version');
      if (typeof v.gitVersion !== 'string') throw new Error('GET /version: no gitVersion in the answer');
      return v.gitVersion;
    });
  }

  vmStatus(vm: VmOutput): Promise<VmStatusAnswer> {
    return this.once(`vm:${vm.name}`, async () => readVmStatus({
      computeUrl: this.ctx.computeUrl, ...this.ctx.location, instance: vm.instance, token: await this.ctx.accessToken(),
    }));
  }

  workloadEntry(vm: VmOutput): Promise<WorkloadEntry> {
    return this.once(`we:${vm.name}`, () => this.ctx.kube.object<WorkloadEntry>(
      `/apis/networking.istio.io/v1/namespaces/${this.ctx.outputs.boutiqueNamespace}/workloadentries/${vm.name}`));
  }

  deployment(ns: string, name: string): Promise<Deployment> {
    return this.once(`deploy:${ns}/${name}`, () => this.ctx.kube.object<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`));
  }

  service(ns: string, name: string): Promise<Service> {
    return this.once(`svc:${ns}/${name}`, () => this.ctx.kube.object<Service>(`/api/v1/namespaces/${ns}/services/${name}`));
  }

  /** Ready endpoint addresses behind a Service, from its EndpointSlices (label kubernetes.io/service-name). */
  readyEndpoints(ns: string, service: string): Promise<string[]> {
    return this.once(`eps:${ns}/${service}`, async () => {
      const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`);
      const list = await this.ctx.kube.object<EndpointSliceList>(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${selector}`);
      // A missing `ready` means ready (EndpointConditions: "nil should be interpreted as true").
      return list.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses);
    });
  }

  istiod(): Promise<{ deployment: Deployment; endpoints: string[] }> {
    return this.once('istiod', async () => ({
      deployment: await this.deployment(ISTIO_NAMESPACE, ISTIOD_NAME),
      endpoints: await this.readyEndpoints(ISTIO_NAMESPACE, ISTIOD_NAME),
    }));
  }

  eastwest(): Promise<{ deployment: Deployment; service: Service; endpoints: string[] }> {
    return this.once('eastwest', async () => ({
      deployment: await this.deployment(ISTIO_NAMESPACE, EASTWEST_GATEWAY_NAME),
      service: await this.service(ISTIO_NAMESPACE, EASTWEST_GATEWAY_NAME),
      endpoints: await this.readyEndpoints(ISTIO_NAMESPACE, EASTWEST_GATEWAY_NAME),
    }));
  }

  /** Every receiver replica (the pods its Service selects), each read through its own pod proxy. */
  receiverPods(): Promise<ReceiverPod[]> {
    return this.once('receiver', async () => {
      const ns = OBSERVABILITY_NAMESPACE;
      const selector = (await this.service(ns, RECEIVER_NAME)).spec?.selector ?? {};
      if (Object.keys(selector).length === 0) throw new Error(`Service ${ns}/${RECEIVER_NAME} selects no pods (no spec.selector)`);
      const query = encodeURIComponent(Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','));
      const pods = await this.ctx.kube.object<PodList>(`/api/v1/namespaces/${ns}/pods?labelSelector=${query}`);
      return Promise.all(pods.items.filter((p) => p.status?.phase === 'Running').map(async ({ metadata: { name } }) => {
        const base = `/api/v1/namespaces/${ns}/pods/${name}:${RECEIVER_ADMIN_PORT}/proxy`;
        const ready = await this.ctx.kube.get(`${base}/readyz`);
        const metrics = await this.ctx.kube.get(`${base}/metrics`);
        if (metrics.status !== 200) return { pod: name, ready, metricsError: `GET /metrics: HTTP ${metrics.status}` };
        try {
          return { pod: name, ready, counters: readReceiverMetrics(metrics.body) };
        } catch (err) {
          return { pod: name, ready, metricsError: (err as Error).message };
        }
      }));
    });
  }

  private oapPost = (body: { query: string; variables?: Record<string, unknown> }) =>
    this.ctx.kube.postJson(`/api/v1/namespaces/${OBSERVABILITY_NAMESPACE}/services/${SKYWALKING_NAMES.oapService}:${OAP_REST_PORT_NAME}/proxy/graphql`, body);

  oapServices(): Promise<string[]> {
    return this.once('oap:services', async () => {
      const d = await graphql<{ listServices: { id: string; name: string }[] }>(this.oapPost, 'services', { layer: MESH_LAYER });
      return d.listServices.map((s) => s.name);
    });
  }

  oapTimeZone(): Promise<{ timezone: string; now: number }> {
    return this.once('oap:time', async () => {
      const d = await graphql<{ getTimeInfo: { timezone: string; currentTimestamp: number } }>(this.oapPost, 'timeInfo');
      return { timezone: d.getTimeInfo.timezone, now: Number(d.getTimeInfo.currentTimestamp) };
    });
  }

  /** `source->target` service names OAP saw in the mesh layer within the window, in OAP's clock and zone. */
  oapRelations(): Promise<{ relations: Set<string>; timezone: string }> {
    return this.once('oap:topology', async () => {
      const { timezone, now } = await this.oapTimeZone();
      const duration = minuteDuration(now, timezone, this.ctx.windowMinutes);
      const d = await graphql<{ getGlobalTopology: Topology | null }>(this.oapPost, 'topology', { duration, layer: MESH_LAYER });
      const topo = d.getGlobalTopology ?? { nodes: [], calls: [] };
      const nameOf = new Map(topo.nodes.map((n) => [n.id, n.name]));
      return { relations: new Set(topo.calls.map((c) => `${nameOf.get(c.source) ?? c.source}->${nameOf.get(c.target) ?? c.target}`)), timezone };
    });
  }
}
