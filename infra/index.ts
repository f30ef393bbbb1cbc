// meshscope: the architecture, top to bottom. Every address, range and credential flows from one
// component's outputs into the next; nothing is copied by hand.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { Boutique } from './boutique';
import { BOUTIQUE_SERVICES } from '../catalog/src/online-boutique';
import { Cluster } from './cluster';
import { readStackConfig } from './config';
import { firewallRules } from './firewall-rules';
import { GoogleApis } from './google-apis';
import { projectLabels } from './naming';
import { INJECTION_LABELS, Mesh } from './mesh';
import { Network } from './network';
import { NetworkPolicies } from './network-policies';
import { Observability } from './observability';
import { VmWorkloads } from './vm-workloads';
import { EASTWEST_PORTS, RECEIVER_ALS_PORT } from './ports';

const config = readStackConfig();
const labels = projectLabels(config.stack);

const gcpProvider = new gcp.Provider('gcp', {
  project: config.gcp.project,
  region: config.gcp.region,
  zone: config.gcp.zone,
});

// The APIs first; every resource that calls one waits for it (GoogleApis.dependOnApis).
const apis = new GoogleApis('apis', { project: config.gcp.project }, { providers: [gcpProvider] });
const onGcp = { providers: [gcpProvider], transformations: [apis.dependOnApis] };

const vmNames = new Set(config.vmWorkloads.map((w) => w.name));
const network = new Network('network', {
  stack: config.stack,
  region: config.gcp.region,
  ...config.network,
  firewall: firewallRules({
    vmServicePorts: config.vmWorkloads.map((w) => w.port),
    podServicePorts: BOUTIQUE_SERVICES.filter((s) => s.servicePort !== undefined && !vmNames.has(s.name)).map((s) => s.containerPort),
    meshControlPorts: EASTWEST_PORTS,
    alsPort: RECEIVER_ALS_PORT,
    privateNodes: config.cluster.privateNodes,
  }),
}, onGcp);

const cluster = new Cluster('cluster', {
  stack: config.stack,
  project: config.gcp.project,
  zone: config.gcp.zone,
  network: network.network.id,
  subnet: network.subnet.id,
  podsRangeName: network.podsRangeName,
  servicesRangeName: network.servicesRangeName,
  masterCidr: config.network.masterCidr,
  // The VPC's own ranges: VMs and nodes (the subnet), pods (istiod and others call the API).
  authorizedNetworks: [
    { cidr: config.network.subnetCidr, name: 'subnet: VMs and nodes' },
    { cidr: config.network.podsCidr, name: 'pods' },
  ],
  nodeTag: network.tags.node,
  ...config.cluster,
  labels,
}, onGcp);

const inCluster = { ...onGcp, providers: [gcpProvider, cluster.provider] };

const observability = new Observability('observability', {
  stack: config.stack,
  project: config.gcp.project,
  region: config.gcp.region,
  subnet: network.subnet.id,
  skywalkingVersion: config.versions.skywalking,
  skywalkingChartVersion: config.versions.skywalkingChart,
  ...config.observability,
  labels,
}, inCluster);

// Who may reach the receiver, OAP, BanyanDB and the UI (Dataplane V2 enforces it).
new NetworkPolicies('netpol', {
  alsTarget: config.observability.alsTarget,
  vmRange: config.network.subnetCidr,
  dependsOn: [observability],
}, inCluster);

const mesh = new Mesh('mesh', {
  stack: config.stack,
  istioVersion: config.versions.istio,
  region: config.gcp.region,
  subnet: network.subnet.id,
  clusterName: cluster.name,
  alsAddress: observability.alsAddressForPods,
  labels,
}, inCluster);

const boutique = new Boutique('boutique', {
  version: config.versions.onlineBoutique,
  vmWorkloads: [...vmNames],
  injectionLabels: INJECTION_LABELS,
  meshReady: mesh.ready,
}, inCluster);

const vmWorkloads = new VmWorkloads('vm', {
  stack: config.stack,
  project: config.gcp.project,
  region: config.gcp.region,
  zone: config.gcp.zone,
  subnet: network.subnet.id,
  vmTag: network.tags.vm,
  workloads: config.vmWorkloads,
  namespace: boutique.namespace,
  versions: { istio: config.versions.istio, onlineBoutique: config.versions.onlineBoutique, istioSidecarSha256: config.versions.istioSidecarSha256 },
  // The internal address: the VMs mint their tokens from inside the VPC, where the authorised networks admit them;
  // being an IP, it is also what the VMs exclude from the sidecar's capture (vm-bootstrap/control-paths.ts).
  cluster: { endpoint: cluster.internalEndpoint, caCertificateBase64: cluster.caCertificate, name: cluster.name },
  mesh: { meshId: mesh.meshId, network: mesh.network, eastwestGatewayIp: mesh.eastwestGatewayIp, istiodHost: mesh.istiodHost, ready: mesh.ready },
  alsAddress: observability.alsAddressForVms,
  labels,
}, inCluster);

export const networkName = network.network.name;
export const subnetName = network.subnet.name;
export const clusterName = cluster.name;
export const clusterEndpoint = cluster.dnsEndpoint;
export const clusterInternalEndpoint = cluster.internalEndpoint;
export const kubeconfig = cluster.kubeconfig;
export const getCredentialsCommand = cluster.name.apply(
  (n) => `gcloud container clusters get-credentials ${n} --dns-endpoint --zone ${config.gcp.zone} --project ${config.gcp.project}`,
);
export const boutiqueNamespace = boutique.namespace;
export const frontendAddress = boutique.frontendExternal.status.loadBalancer.ingress[0].ip;
export const skywalkingUi = observability.uiPortForwardCommand;
export const oapAddress = observability.oapAddress;
export const receiverImage = observability.receiverImage;
export const receiverInClusterAddress = observability.receiverInClusterAddress;
export const receiverInternalAddress = observability.receiverInternalAddress;
export const alsAddressForPods = observability.alsAddressForPods;
export const alsAddressForVms = observability.alsAddressForVms;
export const eastwestGatewayIp = mesh.eastwestGatewayIp;
export const istioOperatorYaml = mesh.istioOperatorYaml;
export const vms = pulumi.output(vmWorkloads.vms.map((v) => ({ name: v.name, instance: v.instanceName, internalIp: v.internalIp })));
