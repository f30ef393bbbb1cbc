// GKE networking the mesh relies on: NetworkPolicy enforced (Dataplane V2, or Calico through
// networkPolicy.enabled), and VPC-native pod addressing so pods get routable VPC addresses that VMs and
// the firewall table can name (the pods range is a firewall source).
import { CLUSTER } from './gcp-types';
import { at, isUnknown, nameOf, ResourceRule } from './rule';

export const gkeNetworkPolicy: ResourceRule = {
  name: 'gke-network-policy',
  description: 'GKE clusters enforce NetworkPolicy: datapathProvider ADVANCED_DATAPATH (Dataplane V2) or networkPolicy.enabled.',
  types: [CLUSTER],
  validate(_type, props, ctx) {
    const deciding = [props.enableAutopilot, props.datapathProvider, at(props, 'networkPolicy.enabled')].filter(isUnknown);
    if (deciding.length > 0) return (deciding.forEach((u) => ctx.undecided(u)), []);
    // Autopilot clusters always run Dataplane V2.
    if (props.enableAutopilot === true || props.datapathProvider === 'ADVANCED_DATAPATH' || at(props, 'networkPolicy.enabled') === true) return [];
    return [`cluster ${nameOf(props)} enforces no NetworkPolicy (datapathProvider ${JSON.stringify(props.datapathProvider) ?? 'unset'}, ` +
      `networkPolicy.enabled ${JSON.stringify(at(props, 'networkPolicy.enabled')) ?? 'unset'}); allowed: datapathProvider "ADVANCED_DATAPATH" or networkPolicy.enabled true`];
  },
};

export const gkeVpcNative: ResourceRule = {
  name: 'gke-vpc-native',
  description: 'GKE clusters are VPC-native: networkingMode VPC_NATIVE with an ipAllocationPolicy naming the secondary ranges.',
  types: [CLUSTER],
  validate(_type, props, ctx) {
    const problems: string[] = [];
    if (isUnknown(props.networkingMode)) ctx.undecided(props.networkingMode);
    else if (props.networkingMode !== 'VPC_NATIVE') {
      problems.push(`cluster ${nameOf(props)} has networkingMode ${JSON.stringify(props.networkingMode) ?? 'unset'}; allowed: "VPC_NATIVE" (routes-based clusters give pods no VPC addresses)`);
    }
    if (isUnknown(props.ipAllocationPolicy)) ctx.undecided(props.ipAllocationPolicy);
    else if (!props.ipAllocationPolicy || typeof props.ipAllocationPolicy !== 'object') {
      problems.push(`cluster ${nameOf(props)} has no ipAllocationPolicy; allowed: one naming the subnet's pods and services secondary ranges`);
    }
    return problems;
  },
};
