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
          // DNS capture lets VM workloads resolve cluster services without dnsmasq.
          proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' },
        },
      },
      values: {
        global: { meshID: s.meshId, multiCluster: { clusterName: s.clusterName }, network: s.network },
        pilot: {
          env: {
            PILOT_ENABLE_WORKLOAD_ENTRY_AUTOREGISTRATION: 'true',
            PILOT_ENABLE_WORKLOAD_ENTRY_HEALTHCHECKS: 'true',
          },
        },
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
  return {
    base: { global },
    istiod: { ...pilot, meshConfig: iop.spec.meshConfig, global },
    eastwest: {
      name: gw.name,
      labels: gw.label,
      env: Object.fromEntries(gw.k8s.env.map((e) => [e.name, e.value])),
      networkGateway: global.network,
      service: {
        type: gw.k8s.service.type,
        loadBalancerIP: gw.k8s.service.loadBalancerIP,
        annotations: gw.k8s.serviceAnnotations,
        ports: gw.k8s.service.ports.map((p) => ({ ...p, protocol: 'TCP' })),
      },
      global,
    },
  };
}

export function istioOperatorYaml(iop: IstioOperator): string {
  return stringify(iop, { lineWidth: 0 });
}
