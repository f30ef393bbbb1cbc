// What the demo must show, from the stack's own sources rather than from the replayer: the call graph of
// catalog/src/online-boutique.ts in the boutique namespace, and the services the stack puts on VMs (DESIGN.md §1).
import { BOUTIQUE_SERVICES } from '../../catalog/src/online-boutique';

export const NAMESPACE = 'boutique';
export const VM_SERVICES = ['checkoutservice', 'paymentservice'];

export const serviceName = (name: string) => `${name}.${NAMESPACE}`;

export const EXPECTED_SERVICES: { name: string; platform: 'kubernetes' | 'vm' }[] = BOUTIQUE_SERVICES
  .map((s) => ({ name: serviceName(s.name), platform: VM_SERVICES.includes(s.name) ? 'vm' as const : 'kubernetes' as const }))
  .sort((a, b) => a.name.localeCompare(b.name));

/** `source->target` of every edge, with the protocol the analysis must report for it. */
export const EXPECTED_EDGES: { id: string; protocol: 'HTTP' | 'gRPC' | 'TCP' }[] = BOUTIQUE_SERVICES
  .flatMap((s) => s.calls.map((callee) => {
    const protocol = BOUTIQUE_SERVICES.find((c) => c.name === callee)!.protocol;
    return { id: `${serviceName(s.name)}->${serviceName(callee)}`, protocol: protocol === 'grpc' ? 'gRPC' as const : protocol === 'tcp' ? 'TCP' as const : 'HTTP' as const };
  }))
  .sort((a, b) => a.id.localeCompare(b.id));
