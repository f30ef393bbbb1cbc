// The firewall of the hybrid mesh as a table (DESIGN.md section 4): each row names who may reach whom on
// which ports, and why. Sources and targets are symbolic here and resolved by the network component, so
// the table reads like the design and a test can check every row against it.
import { IAP_RANGE } from './naming';
import { ISTIOD_WEBHOOK_PORT } from './ports';

/** A source: one of the network's own ranges, a fixed outside range, or a network tag. */
export type FirewallSource =
  | { range: 'pods' | 'subnet' | 'master' }
  | { cidr: string; label: string }
  | { tag: 'vm' | 'node' };

export interface FirewallRuleSpec {
  name: string;
  why: string;
  sources: FirewallSource[];
  targets: ('vm' | 'node')[];
  tcpPorts: number[];
  /** Only a declared public entry point may take 0.0.0.0/0 as a source. */
  publicEntryPoint?: boolean;
}

export interface FirewallContext {
  /** Ports of the services that run on VMs (from the VM workload table). */
  vmServicePorts: number[];
  /** Container ports of the services in pods that VM workloads call. */
  podServicePorts: number[];
  /** Ports the east-west gateway and istiod expose to VMs. */
  meshControlPorts: number[];
  /** The receiver's ALS port, reached by VM sidecars through its internal load balancer. */
  alsPort: number;
  privateNodes: boolean;
}

const uniqueSorted = (ports: number[]) => [...new Set(ports)].sort((a, b) => a - b);

export function firewallRules(ctx: FirewallContext): FirewallRuleSpec[] {
  const rules: FirewallRuleSpec[] = [
    {
      name: 'pods-to-vms',
      why: 'pods (through their sidecars) call the services that run on VMs',
      sources: [{ range: 'pods' }],
      targets: ['vm'],
      tcpPorts: ctx.vmServicePorts,
    },
    {
      name: 'vms-to-vms',
      why: 'a VM workload calls another (checkoutservice -> paymentservice)',
      sources: [{ tag: 'vm' }],
      targets: ['vm'],
      tcpPorts: ctx.vmServicePorts,
    },
    {
      name: 'vms-to-pods',
      why: 'VM sidecars reach pod endpoints directly (one network, no gateway in between)',
      sources: [{ tag: 'vm' }],
      targets: ['node'],
      tcpPorts: ctx.podServicePorts,
    },
    {
      name: 'vms-to-mesh-control',
      why: 'VM sidecars fetch config and certificates from istiod through the east-west gateway, and stream ALS to the receiver',
      sources: [{ tag: 'vm' }],
      targets: ['node'],
      tcpPorts: [...ctx.meshControlPorts, ctx.alsPort],
    },
    {
      name: 'iap-ssh',
      why: 'SSH only through Identity-Aware Proxy TCP forwarding, never from the internet',
      sources: [{ cidr: IAP_RANGE, label: 'iap' }],
      targets: ['vm', 'node'],
      tcpPorts: [22],
    },
  ];
  if (ctx.privateNodes) {
    rules.push({
      name: 'master-to-istiod-webhook',
      why: "a private cluster's control plane may only reach nodes on 443/10250 unless allowed: istiod's webhooks listen on 15017",
      sources: [{ range: 'master' }],
      targets: ['node'],
      tcpPorts: [ISTIOD_WEBHOOK_PORT],
    });
  }
  // A rule with no port would open every TCP port (GCE's meaning of an empty list): drop it instead.
  return rules.map((r) => ({ ...r, tcpPorts: uniqueSorted(r.tcpPorts) })).filter((r) => r.tcpPorts.length > 0);
}
