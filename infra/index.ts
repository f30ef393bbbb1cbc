// meshscope: the architecture, top to bottom. Every address, range and credential flows from one
// component's outputs into the next; nothing is copied by hand.
import * as gcp from '@pulumi/gcp';
import { BOUTIQUE_SERVICES } from './boutique-catalog';
import { Cluster } from './cluster';
import { readStackConfig } from './config';
import { firewallRules } from './firewall-rules';
import { projectLabels } from './naming';
import { Network } from './network';
import { EASTWEST_PORTS, RECEIVER_ALS_PORT } from './ports';

const config = readStackConfig();
const labels = projectLabels(config.stack);

const gcpProvider = new gcp.Provider('gcp', {
  project: config.gcp.project,
  region: config.gcp.region,
  zone: config.gcp.zone,
});

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
}, { providers: [gcpProvider] });

const cluster = new Cluster('cluster', {
  stack: config.stack,
  project: config.gcp.project,
  zone: config.gcp.zone,
  network: network.network.id,
  subnet: network.subnet.id,
  podsRangeName: network.podsRangeName,
  servicesRangeName: network.servicesRangeName,
  masterCidr: config.network.masterCidr,
  nodeTag: network.tags.node,
  ...config.cluster,
  labels,
}, { providers: [gcpProvider] });

export const networkName = network.network.name;
export const subnetName = network.subnet.name;
export const clusterName = cluster.name;
export const clusterEndpoint = cluster.endpoint;
export const kubeconfig = cluster.kubeconfig;
export const getCredentialsCommand = cluster.name.apply(
  (n) => `gcloud container clusters get-credentials ${n} --zone ${config.gcp.zone} --project ${config.gcp.project}`,
);
