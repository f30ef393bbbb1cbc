// Istio, declared once as an IstioOperator object and installed from Istio's official Helm charts (base,
// istiod, and the gateway chart as the east-west gateway VMs reach istiod through), plus the Gateway and
// VirtualService that expose istiod on 15012/15017 (istio samples/multicluster/expose-istiod.yaml).
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  chartValues, EASTWEST_GATEWAY_NAME, EASTWEST_SELECTOR, IstioOperator, istioOperator, istioOperatorYaml, ISTIO_NAMESPACE,
} from './istio-operator';
import { ChartPin, ISTIO_RELEASES } from './charts';
import { helmSource } from './chart-cache';
import { stackPrefix } from './naming';
import { ISTIOD_WEBHOOK_PORT, ISTIOD_XDS_PORT } from './ports';

export const ISTIOD_HOST = `istiod.${ISTIO_NAMESPACE}.svc`;
/** The label that turns on sidecar injection for a namespace. */
export const INJECTION_LABELS = { 'istio-injection': 'enabled' };

export interface MeshArgs {
  stack: string;
  istioVersion: string;
  region: string;
  /** The subnet the east-west gateway's internal load balancer takes its reserved address from. */
  subnet: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
  /** host:port that sidecars in pods stream ALS to (the receiver's, or OAP's, in-cluster Service). */
  alsAddress: pulumi.Input<string>;
  labels: Record<string, string>;
}

export class Mesh extends pulumi.ComponentResource {
  readonly istioOperator: pulumi.Output<IstioOperator>;
  readonly istioOperatorYaml: pulumi.Output<string>;
  /** The east-west gateway's internal IP: VMs map istiod's name to it. */
  readonly eastwestGatewayIp: pulumi.Output<string>;
  readonly meshId: string;
  readonly network: string;
  readonly clusterName: pulumi.Output<string>;
  readonly istiodHost = ISTIOD_HOST;
  /** Everything a workload needs in place before its sidecar can start. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: MeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:Mesh', name, {}, opts);
    const child = { parent: this };
    const prefix = stackPrefix(args.stack);
    this.meshId = prefix;
    this.network = `${prefix}-network`;
    this.clusterName = pulumi.output(args.clusterName);

    // A reserved address, so the gateway keeps its IP across re-creation and VMs' istiod entry stays valid.
    const eastwestAddress = new gcp.compute.Address(`${name}-eastwest-ip`, {
      name: `${prefix}-eastwest`,
      addressType: 'INTERNAL',
      region: args.region,
      subnetwork: args.subnet,
      labels: args.labels,
    }, child);
    this.eastwestGatewayIp = eastwestAddress.address;

    this.istioOperator = pulumi.all([args.clusterName, args.alsAddress, eastwestAddress.address]).apply(
      ([clusterName, alsAddress, eastwestIp]) => istioOperator({
        istioVersion: args.istioVersion, meshId: this.meshId, network: this.network, clusterName, alsAddress, eastwestIp,
      }),
    );
    this.istioOperatorYaml = this.istioOperator.apply(istioOperatorYaml);
    const values = this.istioOperator.apply(chartValues);

    const namespace = new k8s.core.v1.Namespace(`${name}-ns`, {
      metadata: { name: ISTIO_NAMESPACE, labels: { 'topology.istio.io/network': this.network } },
    }, child);

    const charts = ISTIO_RELEASES[args.istioVersion];
    if (!charts) throw new Error(`Istio ${args.istioVersion} is not pinned in infra/charts.ts`);
    const chart = (pin: ChartPin, releaseName: string, vals: pulumi.Input<Record<string, unknown>>, dependsOn: pulumi.Resource[]) =>
      new k8s.helm.v3.Release(`${name}-${releaseName}`, {
        name: releaseName,
        ...helmSource(pin),
        namespace: namespace.metadata.name,
        values: vals,
        // Helm waits for the workloads to be ready, so what follows finds a serving istiod.
        atomic: true,
        timeout: 600,
      }, { ...child, dependsOn });

    const base = chart(charts.base, 'istio-base', values.base, [namespace]);
    const istiod = chart(charts.istiod, 'istiod', values.istiod, [base]);
    const eastwest = chart(charts.gateway, EASTWEST_GATEWAY_NAME, values.eastwest, [istiod]);

    const gateway = new k8s.apiextensions.CustomResource(`${name}-istiod-gateway`, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'istiod-gateway', namespace: ISTIO_NAMESPACE },
      spec: {
        selector: EASTWEST_SELECTOR,
        servers: [
          { port: { name: 'tls-istiod', number: ISTIOD_XDS_PORT, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
          { port: { name: 'tls-istiodwebhook', number: ISTIOD_WEBHOOK_PORT, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
        ],
      },
    }, { ...child, dependsOn: [base, eastwest] });

    const istiodFqdn = `istiod.${ISTIO_NAMESPACE}.svc.cluster.local`;
    const virtualService = new k8s.apiextensions.CustomResource(`${name}-istiod-vs`, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'istiod-vs', namespace: ISTIO_NAMESPACE },
      spec: {
        hosts: ['*'],
        gateways: ['istiod-gateway'],
        tls: [
          { match: [{ port: ISTIOD_XDS_PORT, sniHosts: ['*'] }], route: [{ destination: { host: istiodFqdn, port: { number: ISTIOD_XDS_PORT } } }] },
          // istiod serves its webhooks on 443 of its Service (15017 in the pod).
          { match: [{ port: ISTIOD_WEBHOOK_PORT, sniHosts: ['*'] }], route: [{ destination: { host: istiodFqdn, port: { number: 443 } } }] },
        ],
      },
    }, { ...child, dependsOn: [gateway] });

    this.ready = [istiod, eastwest, gateway, virtualService];
    this.registerOutputs({ eastwestGatewayIp: this.eastwestGatewayIp, istioOperatorYaml: this.istioOperatorYaml });
  }
}

