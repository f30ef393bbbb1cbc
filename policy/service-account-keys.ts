// No long-lived keys: a service account key (or an HMAC key, its Cloud Storage twin) is a credential that
// never expires, lands in the stack's state, and is the usual way such accounts leak. Workloads use their
// attached account, CI uses Workload Identity Federation, VMs mint their own mesh token.
import { HMAC_KEY, SERVICE_ACCOUNT_KEY } from './gcp-types';
import { ResourceRule } from './rule';

const WHAT: Record<string, string> = { [SERVICE_ACCOUNT_KEY]: 'a service account key', [HMAC_KEY]: 'an HMAC key for a service account' };

export const noServiceAccountKeys: ResourceRule = {
  name: 'no-service-account-keys',
  description: 'No service account keys or HMAC keys: workloads use attached accounts, CI uses Workload Identity Federation.',
  types: [SERVICE_ACCOUNT_KEY, HMAC_KEY],
  validate(type, props) {
    const account = typeof props.serviceAccountId === 'string' ? ` for ${props.serviceAccountId}` : typeof props.serviceAccountEmail === 'string' ? ` for ${props.serviceAccountEmail}` : '';
    return [`${WHAT[type]}${account} is a long-lived credential; allowed: none (attach the account to its workload, or use Workload Identity Federation)`];
  },
};
