// The VPC the cluster and the VMs share: one subnet with secondary ranges for pods and services, Cloud NAT
// (VMs and private nodes have no public IP) and the firewall table of firewall-rules.ts.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { FirewallRuleSpec, FirewallSource } from './firewall-rules';
import { networkTags, stackPrefix } from './naming';

export const PODS_RANGE_NAME = 'pods';
/** Starts the description of a declared public entry point's rule: how the policy pack tells it apart. */
export const PUBLIC_ENTRY_POINT_MARK = 'public entry point: ';
export const SERVICES_RANGE_NAME = 'services';

export interface NetworkArgs {
  stack: string;
  region: string;
  subnetCidr: string;
  podsCidr: string;
  servicesCidr: string;
  /** The GKE control plane's /28 (private clusters), a source in the firewall table. */
  masterCidr: string;
  firewall: FirewallRuleSpec[];
}

export class Network extends pulumi.ComponentResource {
  readonly network: gcp.compute.Network;
  readonly subnet: gcp.compute.Subnetwork;
  readonly firewallRules: gcp.compute.Firewall[];
  /** Network tags VM and node instances must carry for the firewall table to apply to them. */
  readonly tags: { node: string; vm: string };
  readonly podsRangeName = PODS_RANGE_NAME;
  readonly servicesRangeName = SERVICES_RANGE_NAME;
  readonly podsCidr: pulumi.Output<string>;
  readonly subnetCidr: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:Network', name, {}, opts);
    const child = { parent: this };
    const prefix = stackPrefix(args.stack);
    this.tags = networkTags(args.stack);

    this.network = new gcp.compute.Network(`${name}-vpc`, {
      name: `${prefix}-vpc`,
      autoCreateSubnetworks: false,
      routingMode: 'REGIONAL',
    }, child);

    this.subnet = new gcp.compute.Subnetwork(`${name}-subnet`, {
      name: `${prefix}-subnet`,
      network: this.network.id,
      region: args.region,
      ipCidrRange: args.subnetCidr,
      secondaryIpRanges: [
        { rangeName: PODS_RANGE_NAME, ipCidrRange: args.podsCidr },
        { rangeName: SERVICES_RANGE_NAME, ipCidrRange: args.servicesCidr },
      ],
      // VMs have no public IP; they still reach Google APIs (metadata, Artifact Registry, GKE endpoint).
      privateIpGoogleAccess: true,
    }, child);

    const router = new gcp.compute.Router(`${name}-router`, {
      name: `${prefix}-router`,
      network: this.network.id,
      region: args.region,
    }, child);

    new gcp.compute.RouterNat(`${name}-nat`, {
      name: `${prefix}-nat`,
      router: router.name,
      region: args.region,
      natIpAllocateOption: 'AUTO_ONLY',
      sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES',
      logConfig: { enable: true, filter: 'ERRORS_ONLY' },
    }, child);

    const resolveRanges = (sources: FirewallSource[]): string[] =>
      sources.flatMap((s) => {
        if ('range' in s) return [{ pods: args.podsCidr, subnet: args.subnetCidr, master: args.masterCidr }[s.range]];
        if ('cidr' in s) return [s.cidr];
        return [];
      });
    const resolveTags = (sources: FirewallSource[]): string[] =>
      sources.flatMap((s) => ('tag' in s ? [this.tags[s.tag]] : []));

    this.firewallRules = args.firewall.map((rule) => {
      const ranges = resolveRanges(rule.sources);
      if (ranges.includes('0.0.0.0/0') && !rule.publicEntryPoint) {
        throw new Error(`firewall rule "${rule.name}" opens 0.0.0.0/0 but is not a declared public entry point`);
      }
      const sourceTags = resolveTags(rule.sources);
      return new gcp.compute.Firewall(`${name}-fw-${rule.name}`, {
        name: `${prefix}-${rule.name}`,
        description: rule.publicEntryPoint ? `${PUBLIC_ENTRY_POINT_MARK}${rule.why}` : rule.why,
        network: this.network.id,
        direction: 'INGRESS',
        sourceRanges: ranges.length ? ranges : undefined,
        sourceTags: sourceTags.length ? sourceTags : undefined,
        targetTags: rule.targets.map((t) => this.tags[t]),
        allows: [{ protocol: 'tcp', ports: rule.tcpPorts.map(String) }],
      }, child);
    });

    this.podsCidr = this.subnet.secondaryIpRanges.apply(
      (r) => r.find((x) => x.rangeName === PODS_RANGE_NAME)?.ipCidrRange ?? args.podsCidr,
    );
    this.subnetCidr = this.subnet.ipCidrRange;

    this.registerOutputs({ networkId: this.network.id, subnetId: this.subnet.id });
  }
}
