// The mesh's settings as one IstioOperator object (install.istio.io/v1alpha1), and the one mapping from it
// to the values of Istio's Helm charts. The in-cluster operator is gone since Istio 1.24, so the charts
// install it; the same object, rendered as YAML, still works with `istioctl install -f` and
// `istioctl manifest translate`. Mapping (istio/istio operator/pkg/render/manifest.go): spec.meshConfig →
// istiod `meshConfig`; spec.values.global → `global` of every chart; spec.values.pilot → istiod top level.
import { stringify } from 'yaml';
import { EASTWEST_PORTS, ISTIOD_WEBHOOK_PORT, ISTIOD_XDS_PORT } from './ports';

export const ISTIO_NAMESPACE = 'istio-system';
export const EASTWEST_GATEWAY_NAME = 'istio-eastwestgateway';
/** Label value the istiod Gateway selects and GKE's ILB annotation keeps internal. */
export const EASTWEST_SELECTOR = { istio: 'eastwestgateway' };
export const GKE_INTERNAL_LB_ANNOTATION = { 'networking.gke.io/load-balancer-type': 'Internal' };

export interface MeshSettings {
  istioVersion: string;
  meshId: string;
  clusterName: string;
  network: string;
  /** host:port of the ALS collector that sidecars in pods stream to. */
  alsAddress: string;
  /** The reserved internal IP the east-west gateway's load balancer takes. */
  eastwestIp: string;
}

export interface ServicePort { name: string; port: number; targetPort: number }

export interface IstioOperator {
  apiVersion: 'install.istio.io/v1alpha1';
  kind: 'IstioOperator';
  metadata: { name: string; namespace: string };
  spec: {
    profile: 'default';
    tag: string;
    meshConfig: {
      enableEnvoyAccessLogService: boolean;
      defaultConfig: {
        envoyAccessLogService: { address: string };
        proxyMetadata: Record<string, string>;
      };
    };
    values: {
      global: { meshID: string; multiCluster: { clusterName: string }; network: string };
      pilot: { env: Record<string, string> };
    };
    components: {
      ingressGateways: {
        name: string;
        enabled: boolean;
        label: Record<string, string>;
        k8s: {
          env: { name: string; value: string }[];
          serviceAnnotations: Record<string, string>;
          service: { type: 'LoadBalancer'; loadBalancerIP: string; ports: ServicePort[] };
        };
      }[];
    };
  };
}

const EASTWEST_PORT_NAMES: Record<number, string> = {
  15021: 'status-port',
  15443: 'tls',
  [ISTIOD_XDS_PORT]: 'tls-istiod',
  [ISTIOD_WEBHOOK_PORT]: 'tls-webhook',
};

export function istioOperator(s: MeshSettings): IstioOperator {
  return {
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    metadata: { name: 'meshscope', namespace: ISTIO_NAMESPACE },
    spec: {
      profile: 'default',
      tag: s.istioVersion,
      meshConfig: {
        // Mesh-wide ALS through meshConfig rather than the Telemetry API: the same ProxyConfig field is
        // what a VM's own mesh file overrides with an address it can reach (cluster DNS does not resolve
        // for Envoy's own connections there), and Istio's default filter-state list on this path carries
        // both peer-metadata forms (wasm.* FlatNode and the 1.24+ Struct), which the receiver reads.
        enableEnvoyAccessLogService: true,
        defaultConfig: {
          envoyAccessLogService: { address: s.alsAddress },
          // DNS capture lets VM workloads resolve cluster services without dnsmasq. (Address auto-allocation
          // is istiod's since 1.25, PILOT_ENABLE_IP_AUTOALLOCATE on by default; the proxy-side
          // ISTIO_META_DNS_AUTO_ALLOCATE is deprecated.)
          proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' },
        },
      },
      values: {
        global: { meshID: s.meshId, multiCluster: { clusterName: s.clusterName }, network: s.network },
        // WorkloadEntry auto-registration and health checks are istiod's defaults; nothing to turn on.
        pilot: { env: {} },
      },
      components: {
        ingressGateways: [{
          name: EASTWEST_GATEWAY_NAME,
          enabled: true,
          label: { ...EASTWEST_SELECTOR, app: EASTWEST_GATEWAY_NAME, 'topology.istio.io/network': s.network },
          k8s: {
            env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: s.network }],
            serviceAnnotations: GKE_INTERNAL_LB_ANNOTATION,
            service: {
              type: 'LoadBalancer',
              loadBalancerIP: s.eastwestIp,
              ports: EASTWEST_PORTS.map((port) => ({ name: EASTWEST_PORT_NAMES[port], port, targetPort: port })),
            },
          },
        }],
      },
    },
  };
}

export interface IstioChartValues {
  base: Record<string, unknown>;
  istiod: Record<string, unknown>;
  eastwest: Record<string, unknown>;
}

/** The one mapping from the IstioOperator object to the values of the base, istiod and gateway charts. */
export function chartValues(iop: IstioOperator): IstioChartValues {
  const { global, pilot } = iop.spec.values;
  const gw = iop.spec.components.ingressGateways.find((g) => g.name === EASTWEST_GATEWAY_NAME && g.enabled);
  if (!gw) throw new Error(`IstioOperator has no enabled ingress gateway named ${EASTWEST_GATEWAY_NAME}`);
  // The gateway chart turns `networkGateway` into the network label, the requested-network-view env and
  // the four east-west ports (its networkGatewayPorts); the IstioOperator spells them out for istioctl,
  // whose gateway template derives nothing. Passing them again would duplicate the label and the env.
  const derivedEnv = new Set(['ISTIO_META_REQUESTED_NETWORK_VIEW']);
  const derivedLabels = new Set(['topology.istio.io/network']);
  const chartPorts = [15021, 15443, ISTIOD_XDS_PORT, ISTIOD_WEBHOOK_PORT];
  const ports = gw.k8s.service.ports.map((p) => p.port);
  if (ports.join() !== chartPorts.join() || gw.k8s.service.ports.some((p) => p.port !== p.targetPort)) {
    throw new Error(`east-west gateway ports ${ports.join(', ')} differ from the gateway chart's network-gateway ports ${chartPorts.join(', ')}`);
  }
  const env = Object.fromEntries(gw.k8s.env.filter((e) => !derivedEnv.has(e.name)).map((e) => [e.name, e.value]));
  return {
    // The base chart (CRDs, the default-revision webhook) reads none of the mesh's global settings.
    base: {},
    istiod: { ...(Object.keys(pilot.env).length ? pilot : {}), meshConfig: iop.spec.meshConfig, global },
    eastwest: {
      name: gw.name,
      labels: Object.fromEntries(Object.entries(gw.label).filter(([k]) => !derivedLabels.has(k))),
      ...(Object.keys(env).length ? { env } : {}),
      networkGateway: global.network,
      service: {
        type: gw.k8s.service.type,
        loadBalancerIP: gw.k8s.service.loadBalancerIP,
        annotations: gw.k8s.serviceAnnotations,
      },
      global,
    },
  };
}

export function istioOperatorYaml(iop: IstioOperator): string {
  return stringify(iop, { lineWidth: 0 });
}
