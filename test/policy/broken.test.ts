// Each policy fires, with its message, on a deliberately broken copy of a resource: captured from the real
// program where the program declares one, or the realistic VM of samples.ts.
import { strict as assert } from 'node:assert';
import { noWorldOpenFirewall } from '../../policy/firewall-world';
import { PUBLIC_ENTRY_POINT_MARK } from '../../policy/firewall';
import { IAP_RANGE, sshOnlyFromIap } from '../../policy/firewall-ssh';
import { CLUSTER, FIREWALL, INSTANCE, INSTANCE_TEMPLATE, NODE_POOL, PROJECT_METADATA_ITEM } from '../../policy/gcp-types';
import { gkeNetworkPolicy, gkeVpcNative } from '../../policy/gke-networking';
import { projectLabels } from '../../policy/labels';
import { noSecretsInMetadata } from '../../policy/metadata-secrets';
import { RESOURCE_RULES } from '../../policy/policies';
import { ResourceRule, violations } from '../../policy/rule';
import { dedicatedServiceAccounts } from '../../policy/service-accounts';
import { noSecretOutputs } from '../../policy/stack-outputs';
import { vmNoPublicIp } from '../../policy/vm-public-ip';
import { shieldedVms } from '../../policy/vm-shielded';
import { ProgramRun, runProgram } from '../infra/harness';
import { checkoutVm, copy, jwt, pemPrivateKey, Props } from './samples';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_COMPUTE_SA = '123456789012-compute@developer.gserviceaccount.com';

/** The messages of one rule for one resource of the dev stack. */
function fire(rule: ResourceRule, type: string, props: Props): string[] {
  return violations(rule, type, props, { stack: 'dev' });
}

/** Asserts the rule fires, each expected pattern matching one of its messages. */
function assertFires(rule: ResourceRule, type: string, props: Props, ...patterns: RegExp[]): void {
  const messages = fire(rule, type, props);
  assert.ok(messages.length > 0, `${rule.name} did not fire`);
  for (const p of patterns) assert.ok(messages.some((m) => p.test(m)), `${rule.name}: no message matches ${p}; got ${JSON.stringify(messages)}`);
}

describe('policies on broken resources', () => {
  let dev: ProgramRun;
  let vm: Props;
  let cluster: Props;
  let nodePool: Props;
  let iapSsh: Props;
  let podsToVms: Props;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
    vm = checkoutVm(dev);
    cluster = dev.one(CLUSTER).inputs;
    nodePool = dev.one(NODE_POOL).inputs;
    iapSsh = dev.one(FIREWALL, '-fw-iap-ssh').inputs;
    podsToVms = dev.one(FIREWALL, '-fw-pods-to-vms').inputs;
  });

  it('passes the realistic VM (metadata from the real boot renderer) under every policy', () => {
    assert.deepEqual(RESOURCE_RULES.flatMap((r) => fire(r, INSTANCE, vm)), []);
  });

  describe(vmNoPublicIp.name, () => {
    it('fires on a VM whose interface has an access config', () => {
      const v = copy(vm);
      v.networkInterfaces[0].accessConfigs = [{ networkTier: 'PREMIUM' }];
      assertFires(vmNoPublicIp, INSTANCE, v, /networkInterfaces\[0\]\.accessConfigs has 1 entry .*external IP; allowed: none/);
    });

    it('fires on a VM whose interface has an IPv6 access config', () => {
      const v = copy(vm);
      v.networkInterfaces[0].ipv6AccessConfigs = [{ networkTier: 'PREMIUM' }];
      assertFires(vmNoPublicIp, INSTANCE, v, /networkInterfaces\[0\]\.ipv6AccessConfigs/);
    });

    it('fires on an instance template with an access config, the same shape as an instance', () => {
      const v = copy(vm);
      v.networkInterfaces[0].accessConfigs = [{}];
      assertFires(vmNoPublicIp, INSTANCE_TEMPLATE, v, /accessConfigs/);
    });
  });

  describe(shieldedVms.name, () => {
    it('fires on an unshielded VM, naming each missing setting', () => {
      const v = copy(vm);
      delete v.shieldedInstanceConfig;
      assertFires(shieldedVms, INSTANCE, v, /enableSecureBoot is unset/, /enableVtpm is unset/, /enableIntegrityMonitoring is unset/);
    });

    it('fires on a VM with its vTPM turned off', () => {
      const v = copy(vm);
      v.shieldedInstanceConfig.enableVtpm = false;
      assert.deepEqual(fire(shieldedVms, INSTANCE, v), ['shieldedInstanceConfig.enableVtpm is false; allowed: true (shielded VMs boot only signed, measured code)']);
    });

    it('fires on a node pool without secure boot', () => {
      const p = copy(nodePool);
      p.nodeConfig.shieldedInstanceConfig.enableSecureBoot = false;
      assertFires(shieldedVms, NODE_POOL, p, /nodeConfig\.shieldedInstanceConfig\.enableSecureBoot is false/);
    });
  });

  describe(dedicatedServiceAccounts.name, () => {
    it('fires on a VM running as the default compute account', () => {
      const v = copy(vm);
      v.serviceAccount.email = DEFAULT_COMPUTE_SA;
      assertFires(dedicatedServiceAccounts, INSTANCE, v, /serviceAccount\.email is "123456789012-compute@developer\.gserviceaccount\.com", the default compute account/);
    });

    it('fires on a VM whose account block leaves the email to the default', () => {
      const v = copy(vm);
      delete v.serviceAccount.email;
      assertFires(dedicatedServiceAccounts, INSTANCE, v, /serviceAccount\.email is unset, so the default compute account is used/);
    });

    it('fires on a VM with no service account at all', () => {
      const v = copy(vm);
      delete v.serviceAccount;
      assertFires(dedicatedServiceAccounts, INSTANCE, v, /serviceAccount is unset/);
    });

    it('leaves the cloud-platform scope to a VM that runs as its own account', () => {
      assert.ok(vm.serviceAccount.scopes.includes(CLOUD_PLATFORM));
      assert.deepEqual(fire(dedicatedServiceAccounts, INSTANCE, vm), []);
    });

    it('fires on a node pool with the cloud-platform scope', () => {
      const p = copy(nodePool);
      p.nodeConfig.oauthScopes = [...p.nodeConfig.oauthScopes, CLOUD_PLATFORM];
      assertFires(dedicatedServiceAccounts, NODE_POOL, p, /nodeConfig\.oauthScopes includes "https:\/\/www\.googleapis\.com\/auth\/cloud-platform"/);
    });

    it('fires on a node pool with the default compute account', () => {
      const p = copy(nodePool);
      p.nodeConfig.serviceAccount = DEFAULT_COMPUTE_SA;
      assertFires(dedicatedServiceAccounts, NODE_POOL, p, /nodeConfig\.serviceAccount is .*the default compute account/);
    });

    it('fires on a node pool that names no account (GKE falls back to the default)', () => {
      const p = copy(nodePool);
      delete p.nodeConfig.serviceAccount;
      assertFires(dedicatedServiceAccounts, NODE_POOL, p, /nodeConfig\.serviceAccount is unset/);
    });

    it('fires on a cluster whose own nodeConfig has the cloud-platform scope', () => {
      const c = copy(cluster);
      c.nodeConfig = { serviceAccount: nodePool.nodeConfig.serviceAccount, oauthScopes: [CLOUD_PLATFORM] };
      assertFires(dedicatedServiceAccounts, CLUSTER, c, /^nodeConfig\.oauthScopes includes/);
    });

    it('fires on a cluster that keeps its default node pool with no nodeConfig', () => {
      const c = copy(cluster);
      c.removeDefaultNodePool = false;
      assertFires(dedicatedServiceAccounts, CLUSTER, c, /default node pool is kept with no nodeConfig/);
    });
  });

  describe(noSecretsInMetadata.name, () => {
    it('fires on a token in VM metadata, by its JWT shape', () => {
      const v = copy(vm);
      v.metadata['istio-token'] = jwt();
      assertFires(noSecretsInMetadata, INSTANCE, v, /metadata\["istio-token"\] holds a JWT/);
    });

    it('fires on a JWT under an innocent-looking key', () => {
      const v = copy(vm);
      v.metadata['meshscope-workload-env'] += `AUTH=${jwt()}\n`;
      assertFires(noSecretsInMetadata, INSTANCE, v, /metadata\["meshscope-workload-env"\] holds a JWT/);
    });

    it('fires on a PEM private key in VM metadata', () => {
      const v = copy(vm);
      v.metadata['meshscope-cluster-ca-cert'] += pemPrivateKey();
      assertFires(noSecretsInMetadata, INSTANCE, v, /metadata\["meshscope-cluster-ca-cert"\] holds a PEM private key/);
    });

    it('fires on a key named like a password with a value, whatever the value looks like', () => {
      const v = copy(vm);
      v.metadata['redis-password'] = 'correct horse battery staple';
      assertFires(noSecretsInMetadata, INSTANCE, v, /metadata\["redis-password"\] is named like a secret \("password"\)/);
    });

    it('accepts a key named like a secret whose value is empty', () => {
      const v = copy(vm);
      v.metadata['istio-token'] = '';
      assert.deepEqual(fire(noSecretsInMetadata, INSTANCE, v), []);
    });

    it('fires on a private key embedded in the startup script', () => {
      const v = copy(vm);
      v.metadataStartupScript += `\ncat > /etc/key.pem <<'EOF'\n${pemPrivateKey()}EOF\n`;
      assertFires(noSecretsInMetadata, INSTANCE, v, /metadataStartupScript holds a PEM private key/);
    });

    it('fires on a token in node pool metadata', () => {
      const p = copy(nodePool);
      p.nodeConfig.metadata['api-token'] = 'abc123';
      assertFires(noSecretsInMetadata, NODE_POOL, p, /nodeConfig\.metadata\["api-token"\] is named like a secret \("token"\)/);
    });

    it('fires on a project-wide metadata item holding a secret', () => {
      assertFires(noSecretsInMetadata, PROJECT_METADATA_ITEM, { key: 'deployKey', value: 'xyz' }, /metadata\["deployKey"\] is named like a secret \("key"\)/);
    });
  });

  describe(noWorldOpenFirewall.name, () => {
    it('fires on a 0.0.0.0/0 source on a rule not declared public', () => {
      const r = copy(podsToVms);
      r.sourceRanges = ['0.0.0.0/0'];
      assertFires(noWorldOpenFirewall, FIREWALL, r, /firewall rule "meshscope-dev-pods-to-vms" admits 0\.0\.0\.0\/0, a public source, but is not a declared public entry point/);
    });

    it('fires on an IPv6 ::/0 source', () => {
      const r = copy(podsToVms);
      r.sourceRanges = [...r.sourceRanges, '::/0'];
      assertFires(noWorldOpenFirewall, FIREWALL, r, /admits ::\/0, a public source/);
    });

    it('accepts 0.0.0.0/0 on a rule declared the public entry point that opens only TCP 80 and 443 to a target tag', () => {
      const r = copy(podsToVms);
      r.sourceRanges = ['0.0.0.0/0'];
      r.allows = [{ protocol: 'tcp', ports: ['80', '443'] }];
      r.description = `${PUBLIC_ENTRY_POINT_MARK}${r.description}`;
      assert.ok(r.targetTags.length > 0);
      assert.deepEqual(fire(noWorldOpenFirewall, FIREWALL, r), []);
    });

    it('accepts Google health-check and private sources', () => {
      const r = copy(podsToVms);
      r.sourceRanges = ['35.191.0.0/16', '130.211.0.0/22', '10.0.0.0/8', '192.168.1.0/24'];
      assert.deepEqual(fire(noWorldOpenFirewall, FIREWALL, r), []);
    });

    it('accepts 0.0.0.0/0 on a deny rule, which only takes access away', () => {
      const r = copy(podsToVms);
      r.sourceRanges = ['0.0.0.0/0'];
      r.denies = r.allows;
      delete r.allows;
      assert.deepEqual(fire(noWorldOpenFirewall, FIREWALL, r), []);
    });
  });

  describe(sshOnlyFromIap.name, () => {
    it('fires on SSH from 0.0.0.0/0', () => {
      const r = copy(iapSsh);
      r.sourceRanges = ['0.0.0.0/0'];
      assertFires(sshOnlyFromIap, FIREWALL, r, /opens port 22 to 0\.0\.0\.0\/0; allowed: only 35\.235\.240\.0\/20/);
    });

    it('fires on SSH from 10.0.0.0/8 next to the IAP range', () => {
      const r = copy(iapSsh);
      r.sourceRanges = [IAP_RANGE, '10.0.0.0/8'];
      assert.deepEqual(fire(sshOnlyFromIap, FIREWALL, r), [
        'firewall rule "meshscope-dev-iap-ssh" opens port 22 to 10.0.0.0/8; allowed: only 35.235.240.0/20 (IAP TCP forwarding)',
      ]);
    });

    it('fires on SSH even from a rule declared the public entry point', () => {
      const r = copy(iapSsh);
      r.sourceRanges = ['0.0.0.0/0'];
      r.description = `${PUBLIC_ENTRY_POINT_MARK}ssh`;
      assertFires(sshOnlyFromIap, FIREWALL, r, /opens port 22 to 0\.0\.0\.0\/0/);
    });

    it('fires on a port range that contains 22', () => {
      const r = copy(podsToVms);
      r.allows = [{ protocol: 'tcp', ports: ['1-1024'] }];
      assertFires(sshOnlyFromIap, FIREWALL, r, /opens port 22 to 10\.20\.0\.0\/14/);
    });

    it('fires on a rule with no port list (every port) from a network tag', () => {
      const r = copy(dev.one(FIREWALL, '-fw-vms-to-vms').inputs);
      r.allows = [{ protocol: 'tcp' }];
      assertFires(sshOnlyFromIap, FIREWALL, r, /opens port 22 to tag:meshscope-dev-vm/);
    });

    it('fires on a rule allowing every protocol', () => {
      const r = copy(podsToVms);
      r.allows = [{ protocol: 'all' }];
      assertFires(sshOnlyFromIap, FIREWALL, r, /opens port 22/);
    });

    it('leaves a UDP rule on port 22 alone (SSH is TCP)', () => {
      const r = copy(podsToVms);
      r.allows = [{ protocol: 'udp', ports: ['22'] }];
      assert.deepEqual(fire(sshOnlyFromIap, FIREWALL, r), []);
    });
  });

  describe(gkeNetworkPolicy.name, () => {
    it('fires on a cluster without Dataplane V2 or network policy', () => {
      const c = copy(cluster);
      delete c.datapathProvider;
      assertFires(gkeNetworkPolicy, CLUSTER, c, /cluster "meshscope-dev-gke" enforces no NetworkPolicy .*allowed: datapathProvider "ADVANCED_DATAPATH" or networkPolicy\.enabled true/);
    });

    it('fires on the legacy datapath with network policy explicitly off', () => {
      const c = copy(cluster);
      c.datapathProvider = 'LEGACY_DATAPATH';
      c.networkPolicy = { enabled: false };
      assertFires(gkeNetworkPolicy, CLUSTER, c, /datapathProvider "LEGACY_DATAPATH", networkPolicy\.enabled false/);
    });

    it('accepts Calico network policy instead of Dataplane V2', () => {
      const c = copy(cluster);
      delete c.datapathProvider;
      c.networkPolicy = { enabled: true, provider: 'CALICO' };
      assert.deepEqual(fire(gkeNetworkPolicy, CLUSTER, c), []);
    });
  });

  describe(gkeVpcNative.name, () => {
    it('fires on a routes-based cluster', () => {
      const c = copy(cluster);
      c.networkingMode = 'ROUTES';
      assertFires(gkeVpcNative, CLUSTER, c, /networkingMode "ROUTES"; allowed: "VPC_NATIVE"/);
    });

    it('fires on a cluster without an IP allocation policy', () => {
      const c = copy(cluster);
      delete c.ipAllocationPolicy;
      assertFires(gkeVpcNative, CLUSTER, c, /has no ipAllocationPolicy/);
    });
  });

  describe(projectLabels.name, () => {
    it('fires on a cluster missing the app label', () => {
      const c = copy(cluster);
      delete c.resourceLabels.app;
      assert.deepEqual(fire(projectLabels, CLUSTER, c), ['resourceLabels.app is missing; allowed: "meshscope"']);
    });

    it('fires on a node pool labelled with another stack', () => {
      const p = copy(nodePool);
      p.nodeConfig.resourceLabels.stack = 'prod';
      assert.deepEqual(fire(projectLabels, NODE_POOL, p), ['nodeConfig.resourceLabels.stack is "prod"; allowed: "dev"']);
    });

    it('fires on a VM with no labels, naming each one', () => {
      const v = copy(vm);
      delete v.labels;
      assert.deepEqual(fire(projectLabels, INSTANCE, v), [
        'labels.app is missing; allowed: "meshscope"',
        'labels.stack is missing; allowed: "dev"',
        'labels.managed-by is missing; allowed: "pulumi"',
      ]);
    });

    it('fires on an Artifact Registry repository without labels', () => {
      assertFires(projectLabels, 'gcp:artifactregistry/repository:Repository', { repositoryId: 'meshscope-dev', format: 'DOCKER' }, /labels\.app is missing/);
    });
  });

  describe(noSecretOutputs.name, () => {
    it('fires on an output holding a token', () => {
      assert.deepEqual(noSecretOutputs.validate({ ...dev.outputs, vmBootToken: jwt() }), [
        'stack output "vmBootToken" holds a JWT; allowed: no credentials in outputs (export a Secret Manager secret id instead)',
      ]);
    });

    it('fires on a private key nested in an object output', () => {
      assert.match(noSecretOutputs.validate({ tls: { cert: 'x', key: pemPrivateKey() } }).join('\n'), /stack output "tls" holds a PEM private key/);
    });

    it('fires on an output named like a password', () => {
      assert.match(noSecretOutputs.validate({ grafanaAdminPassword: 'p4ss' }).join('\n'), /stack output "grafanaAdminPassword" is named like a credential \("password"\)/);
    });

    it('accepts an output that names where a secret lives', () => {
      assert.deepEqual(noSecretOutputs.validate({ istioTokenSecretId: 'projects/meshscope-dev/secrets/istio-token' }), []);
    });
  });
});
