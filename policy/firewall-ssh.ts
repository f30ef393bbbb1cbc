// SSH only through Identity-Aware Proxy TCP forwarding: a rule that reaches port 22 admits nothing but
// IAP's range (not the VPC, not a tag, and never the internet, public entry point or not).
import { FIREWALL } from './gcp-types';
import { isAllowingIngress, reachesTcpPort, sourcesOf } from './firewall';
import { nameOf, ResourceRule } from './rule';

/** Google's IAP TCP forwarding range (infra/naming.ts IAP_RANGE; a test keeps the two equal). */
export const IAP_RANGE = '35.235.240.0/20';
const SSH_PORT = 22;

export const sshOnlyFromIap: ResourceRule = {
  name: 'ssh-only-from-iap',
  description: `A firewall rule that opens port ${SSH_PORT} admits only the IAP range ${IAP_RANGE}.`,
  types: [FIREWALL],
  validate(_type, props, ctx) {
    if (!isAllowingIngress(props, ctx) || !reachesTcpPort(props, SSH_PORT, ctx)) return [];
    return sourcesOf(props, ctx)
      .filter((s) => s !== IAP_RANGE)
      .map((s) => `firewall rule ${nameOf(props)} opens port ${SSH_PORT} to ${s}; allowed: only ${IAP_RANGE} (IAP TCP forwarding)`);
  },
};
