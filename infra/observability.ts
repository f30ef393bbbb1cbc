// Apache SkyWalking (OAP, UI, BanyanDB storage) from its official chart, and our ALS receiver: image built
// from receiver/Dockerfile and pushed to Artifact Registry, run as a Deployment that scales on CPU, with a
// headless Service for pod sidecars and an internal load balancer on a reserved IP for VM sidecars.
import * as path from 'node:path';
import * as dockerBuild from '@pulumi/docker-build';
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { SKYWALKING_RELEASES } from './charts';
import { helmSource } from './chart-cache';
import { AlsTarget } from './config';
import { GKE_INTERNAL_LB_ANNOTATION } from './istio-operator';
import { stackPrefix } from './naming';
import { RECEIVER_ADMIN_PORT, RECEIVER_ALS_PORT } from './ports';

export const OBSERVABILITY_NAMESPACE = 'skywalking';
export const SKYWALKING_RELEASE = 'skywalking';
/** The chart names its objects `<fullname>-<component>`; we set the fullname, so names are known here. The
 * chart's default would be `<release>-skywalking-helm`, since the release name does not contain the chart's. */
const SKYWALKING_FULLNAME = 'skywalking';
const BANYANDB_FULLNAME = 'skywalking-banyandb';
export const SKYWALKING_NAMES = {
  oapService: `${SKYWALKING_FULLNAME}-oap`,
  uiService: `${SKYWALKING_FULLNAME}-ui`,
  /** The labels the chart puts on OAP pods (its `skywalking.oap.labels`). */
  oapSelector: { app: SKYWALKING_RELEASE, release: SKYWALKING_RELEASE, component: 'oap' },
  /** Ours, headless: one DNS address per ready OAP pod, so the receiver spreads its calls over all of them. */
  oapPodsService: `${SKYWALKING_FULLNAME}-oap-pods`,
} as const;
/** OAP's gRPC port (also its ALS and service-mesh receiver port). */
export const OAP_GRPC_PORT = 11800;
export const RECEIVER_NAME = 'meshscope-receiver';
const REPO_ROOT = path.resolve(__dirname, '..');
/**
 * V8's heap settings of every receiver process (on node's command line: cluster workers inherit them). V8
 * sizes its heap by allocation rate, not live data, so uncapped RSS grows with the rate; Node 24's V8 also
 * lets the young generation grow to 64 MiB semi-spaces (Node 20: 16), +30-50 MB RSS per process for no gain
 * (BENCHMARKS.md, round 4: 8 MiB semi-spaces were also the cheapest per entry). With a live set of ~20 MB,
 * V8's default growing factor leaves the old generation less headroom than the young generation, and V8
 * then marks almost without pause (40 mark-compacts per 300k entries); 100 % growth leaves 20 MB and cuts
 * that to 8 (BENCHMARKS.md, round 5). `--heap-growing-percent` is not allowed in NODE_OPTIONS, hence the
 * command line.
 */
const RECEIVER_OLD_SPACE_MIB = 128;
const RECEIVER_SEMI_SPACE_MIB = 8;
const RECEIVER_HEAP_GROWING_PERCENT = 100;
export const RECEIVER_NODE_FLAGS = [
  `--max-old-space-size=${RECEIVER_OLD_SPACE_MIB}`, `--max-semi-space-size=${RECEIVER_SEMI_SPACE_MIB}`,
  `--heap-growing-percent=${RECEIVER_HEAP_GROWING_PERCENT}`,
];
/**
 * The pod's memory, from BENCHMARKS.md: round 4 (Node 24, 2 workers at (b)'s load: primary 78-85 MB, each
 * worker 114-119 MB) and round 5 (with the heap-growing flag, 2 workers at 117k entries/s: the pod
 * 324-384 MB). The primary only serves admin HTTP; a worker may grow to its heap caps (128 + 3 × 8 MiB)
 * plus the ~80 MB it holds outside the heap. The request is the pod as measured, the limit the caps.
 */
const RECEIVER_PRIMARY_MEMORY_MIB = 96;
const RECEIVER_WORKER_MEMORY_MIB = 240;
const RECEIVER_MEASURED_MEMORY_MIB = 384;
/**
 * ALS connections live this long (±10 %), then get a GOAWAY and the receiver moves their streams, so a
 * replica the HPA adds takes its share within age + grace (receiver/README.md, "Scale-out"); the grace
 * must be at least a fifth of the age. The receiver's own defaults, written out so the manifest says them.
 */
export const RECEIVER_MAX_CONNECTION_AGE_MS = 300_000;
export const RECEIVER_MAX_CONNECTION_AGE_GRACE_MS = 90_000;
/** Cores per receiver pod: it runs one worker process per core of its CPU limit (RECEIVER_WORKERS), each
 * with the worker's memory budget above. */
const RECEIVER_CPU_LIMIT = 2;

export interface ObservabilityArgs {
  stack: string;
  project: string;
  region: string;
  subnet: pulumi.Input<string>;
  skywalkingVersion: string;
  skywalkingChartVersion: string;
  oapReplicas: number;
  alsTarget: AlsTarget;
  receiverReplicas: number;
  receiverMaxReplicas: number;
  labels: Record<string, string>;
}

/**
 * Values for the SkyWalking chart. Storage is BanyanDB, the chart's own subchart: standalone with one OAP,
 * and the subchart's cluster mode (liaison + data nodes) when OAP is replicated, so storage is not the one
 * pod the OAP replicas were meant to stop depending on.
 */
export function skywalkingValues(a: { skywalkingVersion: string; banyandbVersion: string; oapReplicas: number; alsTarget: AlsTarget }): Record<string, unknown> {
  const clustered = a.oapReplicas > 1;
  return {
    fullnameOverride: SKYWALKING_FULLNAME,
    oap: {
      image: { tag: a.skywalkingVersion },
      replicas: a.oapReplicas,
      storageType: 'banyandb',
      // The chart runs OAP in its Kubernetes cluster mode, so replicas > 1 form one OAP cluster.
      antiAffinity: clustered ? 'hard' : 'soft',
      env: oapEnv(a.alsTarget),
      resources: { requests: { cpu: '500m', memory: '1Gi' } },
    },
    // Requests, so the scheduler places OAP by what it needs (the chart leaves them unset; the oap-init Job reuses OAP's).
    ui: { image: { tag: a.skywalkingVersion }, resources: { requests: { cpu: '100m', memory: '256Mi' } } },
    // The published chart also carries Elasticsearch and PostgreSQL subcharts, Elasticsearch on by default.
    elasticsearch: { enabled: false },
    postgresql: { enabled: false },
    banyandb: {
      enabled: true,
      fullnameOverride: BANYANDB_FULLNAME,
      image: { tag: a.banyandbVersion },
      // The subchart makes every HTTP Service an external load balancer by default (with BanyanDB's auth off):
      // ClusterIP, so only OAP (and a port-forward) reaches BanyanDB.
      standalone: {
        enabled: !clustered,
        httpSvc: { type: 'ClusterIP' },
        resources: { requests: banyandbRequests('500m', '1Gi') },
      },
      // Liaison and data nodes found by DNS, schema kept in BanyanDB itself (no etcd). Two of each: skywalking-helm's
      // own values cut the subchart's liaison default to one, which would carry all of OAP's storage traffic.
      cluster: {
        enabled: clustered,
        liaison: {
          replicas: BANYANDB_CLUSTER_NODES.liaison,
          httpSvc: { type: 'ClusterIP' },
          resources: { requests: banyandbRequests('250m', '512Mi') },
        },
        data: { nodeTemplate: { replicas: BANYANDB_CLUSTER_NODES.data, resources: { requests: banyandbRequests('500m', '1Gi') } } },
        ui: { standalone: { httpSvc: { type: 'ClusterIP' } } },
        // FODC's images (ghcr.io/apache/skywalking-banyandb-fodc-{agent,proxy}) fall back to BanyanDB's tag, but
        // BanyanDB's publish workflow at v0.10.1 pushes them only from main, tagged by commit: 0.10.1 is not shown
        // to exist, so the data and liaison pods (which carry the agent) could never start. Off until it is.
        fodc: { enabled: false, proxy: { httpSvc: { type: 'ClusterIP' } } },
      },
    },
  };
}

/** BanyanDB nodes in cluster mode (prod): a liaison or data pod may go without stopping storage. */
export const BANYANDB_CLUSTER_NODES = { liaison: 2, data: 2 } as const;

/** The BanyanDB subchart takes resources as lists of `{key, value}`, not as a map. */
function banyandbRequests(cpu: string, memory: string): { key: string; value: string }[] {
  return [{ key: 'cpu', value: cpu }, { key: 'memory', value: memory }];
}

/** OAP analyses ALS itself only when sidecars send to it (als.target = oap); else our receiver does. */
export function oapEnv(alsTarget: AlsTarget): Record<string, string> {
  return alsTarget === 'oap'
    ? { SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS: 'mx-mesh', SW_ENVOY_METRIC_ALS_TCP_ANALYSIS: 'mx-mesh' }
    : {};
}

export class Observability extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  /** host:port of OAP's gRPC Service, which the receiver forwards to. */
  readonly oapAddress: pulumi.Output<string>;
  readonly receiverImage: pulumi.Output<string>;
  /** host:port that sidecars in pods stream ALS to, per als.target. */
  readonly alsAddressForPods: pulumi.Output<string>;
  /** IP:port that VM sidecars stream ALS to: an internal load balancer, per als.target. */
  readonly alsAddressForVms: pulumi.Output<string>;
  readonly receiverInClusterAddress: pulumi.Output<string>;
  /** The receiver's OAP target: every OAP pod through our headless Service, resolved by gRPC (dns:///). */
  readonly oapPodsTarget: pulumi.Output<string>;
  readonly receiverInternalAddress: pulumi.Output<string>;
  readonly uiPortForwardCommand: pulumi.Output<string>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:Observability', name, {}, opts);
    const child = { parent: this };
    const prefix = stackPrefix(args.stack);

    // No injection label: neither OAP nor the receiver may carry a sidecar that would log to itself.
    const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: OBSERVABILITY_NAMESPACE } }, child);
    this.namespace = ns.metadata.name;

    const sw = SKYWALKING_RELEASES[args.skywalkingChartVersion];
    if (!sw) throw new Error(`SkyWalking chart ${args.skywalkingChartVersion} is not pinned in infra/charts.ts`);
    const skywalking = new k8s.helm.v3.Release(`${name}-skywalking`, {
      name: SKYWALKING_RELEASE,
      ...helmSource(sw.chart),
      namespace: this.namespace,
      values: skywalkingValues({ ...args, banyandbVersion: sw.banyandbVersion }),
      // No wait: the chart creates OAP's storage schema in a post-install hook (oap-init) while OAP itself
      // runs `no-init` and waits for that schema, and Helm runs post-install hooks only after its wait. So
      // Helm must not wait for readiness (and `atomic` would turn waiting back on); it still waits for the
      // hook Job to finish, and the receiver's Deployment below becomes ready only once OAP serves.
      skipAwait: true,
      timeout: 900,
    }, child);

    const oapService = k8s.core.v1.Service.get(`${name}-oap`,
      pulumi.interpolate`${this.namespace}/${SKYWALKING_NAMES.oapService}`, { ...child, dependsOn: [skywalking] });
    this.oapAddress = pulumi.interpolate`${oapService.metadata.name}.${oapService.metadata.namespace}.svc.cluster.local:${OAP_GRPC_PORT}`;

    // The chart's OAP Service is a ClusterIP: each of the receiver's connections would stick to one pod,
    // so two connections reach at most two of prod's three. Headless, a name resolves to every ready pod
    // and the receiver's round_robin channel calls each in turn (re-resolving as pods come and go).
    const oapPods = new k8s.core.v1.Service(`${name}-oap-pods`, {
      metadata: { name: SKYWALKING_NAMES.oapPodsService, namespace: this.namespace },
      spec: {
        clusterIP: 'None',
        selector: SKYWALKING_NAMES.oapSelector,
        ports: [{ name: 'grpc', port: OAP_GRPC_PORT, targetPort: OAP_GRPC_PORT }],
      },
    }, { ...child, dependsOn: [skywalking] });
    this.oapPodsTarget = pulumi.interpolate`dns:///${oapPods.metadata.name}.${oapPods.metadata.namespace}.svc.cluster.local:${OAP_GRPC_PORT}`;

    // The receiver image, built from this repository and pushed to the stack's registry.
    const registry = new gcp.artifactregistry.Repository(`${name}-registry`, {
      repositoryId: `${prefix}-images`,
      location: args.region,
      format: 'DOCKER',
      description: 'meshscope images (the ALS receiver)',
      labels: args.labels,
    }, child);
    const token = gcp.organizations.getClientConfigOutput(child).accessToken;
    const image = new dockerBuild.Image(`${name}-receiver-image`, {
      context: { location: REPO_ROOT },
      dockerfile: { location: path.join(REPO_ROOT, 'receiver', 'Dockerfile') },
      platforms: ['linux/amd64'],
      push: true,
      tags: [pulumi.interpolate`${registry.registryUri}/receiver:latest`],
      registries: [{
        address: `${args.region}-docker.pkg.dev`,
        username: 'oauth2accesstoken',
        password: pulumi.secret(token),
      }],
    }, child);
    // The digest-pinned reference: a new build rolls the Deployment, an unchanged one does not.
    this.receiverImage = image.ref;

    const receiverLabels = { app: RECEIVER_NAME };
    const receiver = new k8s.apps.v1.Deployment(`${name}-receiver`, {
      metadata: { name: RECEIVER_NAME, namespace: this.namespace, labels: receiverLabels },
      spec: {
        // No `replicas`: the HPA below owns the count; a value here would fight it on every update.
        selector: { matchLabels: receiverLabels },
        template: {
          metadata: { labels: receiverLabels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            // Spread replicas so one node's loss leaves the others streaming.
            topologySpreadConstraints: [{
              maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: receiverLabels },
            }],
            // SIGTERM ends the ALS streams at once (the connection age plays no part) and flushes the queue.
            terminationGracePeriodSeconds: 30,
            containers: [{
              name: 'receiver',
              image: this.receiverImage,
              // The image's entrypoint (node receiver/dist/main.js) with the V8 flags in front.
              command: ['node', ...RECEIVER_NODE_FLAGS, 'receiver/dist/main.js'],
              env: [
                { name: 'RECEIVER_LISTEN', value: `0.0.0.0:${RECEIVER_ALS_PORT}` },
                { name: 'RECEIVER_ADMIN', value: `0.0.0.0:${RECEIVER_ADMIN_PORT}` },
                { name: 'RECEIVER_SINK', value: 'oap' },
                { name: 'RECEIVER_OAP_ADDRESS', value: this.oapPodsTarget },
                { name: 'RECEIVER_MAX_CONNECTION_AGE_MS', value: String(RECEIVER_MAX_CONNECTION_AGE_MS) },
                { name: 'RECEIVER_MAX_CONNECTION_AGE_GRACE_MS', value: String(RECEIVER_MAX_CONNECTION_AGE_GRACE_MS) },
                // One worker per core of the CPU limit (the downward API rounds a fraction up).
                { name: 'RECEIVER_WORKERS', valueFrom: { resourceFieldRef: { containerName: 'receiver', resource: 'limits.cpu', divisor: '1' } } },
              ],
              ports: [
                { name: 'grpc-als', containerPort: RECEIVER_ALS_PORT },
                { name: 'http-admin', containerPort: RECEIVER_ADMIN_PORT },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: RECEIVER_ADMIN_PORT }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: RECEIVER_ADMIN_PORT }, periodSeconds: 10, failureThreshold: 3 },
              resources: {
                requests: { cpu: '250m', memory: `${RECEIVER_MEASURED_MEMORY_MIB}Mi` },
                limits: { cpu: String(RECEIVER_CPU_LIMIT), memory: `${RECEIVER_PRIMARY_MEMORY_MIB + RECEIVER_WORKER_MEMORY_MIB * RECEIVER_CPU_LIMIT}Mi` },
              },
              securityContext: {
                allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
              },
            }],
          },
        },
      },
    }, { ...child, dependsOn: [skywalking] });

    // Headless: each sidecar's Envoy resolves every replica (STRICT_DNS) and spreads its ALS streams.
    const receiverService = new k8s.core.v1.Service(`${name}-receiver-svc`, {
      metadata: { name: RECEIVER_NAME, namespace: this.namespace, labels: receiverLabels },
      spec: {
        clusterIP: 'None',
        selector: receiverLabels,
        ports: [
          { name: 'grpc-als', port: RECEIVER_ALS_PORT, targetPort: RECEIVER_ALS_PORT },
          { name: 'http-admin', port: RECEIVER_ADMIN_PORT, targetPort: RECEIVER_ADMIN_PORT },
        ],
      },
    }, child);
    this.receiverInClusterAddress =
      pulumi.interpolate`${receiverService.metadata.name}.${receiverService.metadata.namespace}.svc.cluster.local:${RECEIVER_ALS_PORT}`;

    // VM sidecars cannot resolve cluster DNS for Envoy's own connections: they get reserved internal IPs.
    const internalLb = (svcName: string, selector: Record<string, string>, port: number) => {
      const address = new gcp.compute.Address(`${name}-${svcName}-ip`, {
        name: `${prefix}-${svcName}`,
        addressType: 'INTERNAL',
        region: args.region,
        subnetwork: args.subnet,
        labels: args.labels,
      }, child);
      new k8s.core.v1.Service(`${name}-${svcName}-ilb`, {
        metadata: { name: `${svcName}-ilb`, namespace: this.namespace, annotations: GKE_INTERNAL_LB_ANNOTATION },
        spec: {
          type: 'LoadBalancer',
          loadBalancerIP: address.address,
          externalTrafficPolicy: 'Local',
          selector,
          ports: [{ name: 'grpc-als', port, targetPort: port }],
        },
      }, child);
      return pulumi.interpolate`${address.address}:${port}`;
    };
    this.receiverInternalAddress = internalLb('receiver', receiverLabels, RECEIVER_ALS_PORT);

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-receiver-hpa`, {
      metadata: { name: RECEIVER_NAME, namespace: this.namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: receiver.metadata.name },
        minReplicas: args.receiverReplicas,
        maxReplicas: args.receiverMaxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    }, child);

    new k8s.policy.v1.PodDisruptionBudget(`${name}-receiver-pdb`, {
      metadata: { name: RECEIVER_NAME, namespace: this.namespace },
      spec: { maxUnavailable: 1, selector: { matchLabels: receiverLabels } },
    }, child);

    if (args.alsTarget === 'oap') {
      this.alsAddressForPods = this.oapAddress;
      this.alsAddressForVms = internalLb('oap', SKYWALKING_NAMES.oapSelector, OAP_GRPC_PORT);
    } else {
      this.alsAddressForPods = this.receiverInClusterAddress;
      this.alsAddressForVms = this.receiverInternalAddress;
    }

    this.uiPortForwardCommand = pulumi.interpolate`kubectl -n ${this.namespace} port-forward svc/${SKYWALKING_NAMES.uiService} 8080:80  # then open http://localhost:8080`;
    this.registerOutputs({ oapAddress: this.oapAddress, receiverImage: this.receiverImage });
  }
}
