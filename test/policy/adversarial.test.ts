// Bad resources written as an attacker or a careless change would, each with the policy that must stop
// it, judged by the pack's own analyzer over gRPC as `pulumi preview`/`up` would ask it. Built from what the
// real program declares (captured by the harness) and the realistic VM of samples.ts, each broken one way.
import { strict as assert } from 'node:assert';
import { CLUSTER, FIREWALL, HMAC_KEY, INSTANCE, INSTANCE_FROM_MACHINE_IMAGE, INSTANCE_FROM_TEMPLATE, NODE_POOL, SERVICE_ACCOUNT_KEY } from '../../policy/gcp-types';
import { PUBLIC_ENTRY_POINT_MARK } from '../../policy/firewall';
import { runProgram } from '../infra/harness';
import { Analyzer, Diagnostic, startAnalyzer, UNKNOWN } from './analyzer';
import { checkoutVm, copy, jwt, Props } from './samples';

const DEFAULT_COMPUTE_SA = '123456789012-compute@developer.gserviceaccount.com';
// Credentials of the real shapes, made up here (never real ones).
const GITHUB_PAT = `ghp_${'A1b2C3d4E5'.repeat(4).slice(0, 36)}`;
const GOOGLE_ACCESS_TOKEN = `ya29.a0AfB_${'x9Y8z7W6v5'.repeat(5)}`;
const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

interface Base { firewall: Props; vm: Props; cluster: Props; nodePool: Props; workloadEntry: Props }

interface Case {
  what: string;
  type: string;
  props: (b: Base) => Props;
  policy: string;
  message: RegExp;
  /** A policy that says why it is advisory; everything else must block. */
  level?: 'advisory';
}

const firewallWith = (change: (r: Props) => void) => (b: Base) => { const r = copy(b.firewall); change(r); return r; };
const vmWith = (change: (v: Props) => void) => (b: Base) => { const v = copy(b.vm); change(v); return v; };
const clusterWith = (change: (c: Props) => void) => (b: Base) => { const c = copy(b.cluster); change(c); return c; };
/** An instance from a template outside the stack: only its own inputs can be judged. */
const fromTemplate = (change: (v: Props) => void) => vmWith((v) => { v.sourceInstanceTemplate = 'projects/p/global/instanceTemplates/t'; change(v); });

const CASES: Case[] = [
  // Firewalls
  { what: 'a firewall rule with no source (GCE admits 0.0.0.0/0)', type: FIREWALL, props: firewallWith((r) => { delete r.sourceRanges; delete r.sourceTags; }),
    policy: 'no-world-open-firewall', message: /admits 0\.0\.0\.0\/0 \(no source given: GCE admits every address\)/ },
  { what: 'a firewall rule with empty source lists', type: FIREWALL, props: firewallWith((r) => { r.sourceRanges = []; r.sourceTags = []; }),
    policy: 'no-world-open-firewall', message: /admits 0\.0\.0\.0\/0 \(no source given/ },
  { what: 'the world in two halves, 0.0.0.0/1 + 128.0.0.0/1', type: FIREWALL, props: firewallWith((r) => { r.sourceRanges = ['0.0.0.0/1', '128.0.0.0/1']; }),
    policy: 'no-world-open-firewall', message: /admits 128\.0\.0\.0\/1, a public source/ },
  { what: 'a public /8', type: FIREWALL, props: firewallWith((r) => { r.sourceRanges = ['8.0.0.0/8']; }),
    policy: 'no-world-open-firewall', message: /admits 8\.0\.0\.0\/8, a public source/ },
  { what: 'a global IPv6 range', type: FIREWALL, props: firewallWith((r) => { r.sourceRanges = ['2000::/3']; }),
    policy: 'no-world-open-firewall', message: /admits 2000::\/3, a public source/ },
  { what: 'a "public entry point" opening every TCP port', type: FIREWALL,
    props: firewallWith((r) => { r.description = `${PUBLIC_ENTRY_POINT_MARK}shop`; r.sourceRanges = ['0.0.0.0/0']; r.allows = [{ protocol: 'tcp' }]; }),
    policy: 'no-world-open-firewall', message: /is declared a public entry point .* but it allows every TCP port/ },
  { what: 'a "public entry point" opening a database port', type: FIREWALL,
    props: firewallWith((r) => { r.description = `${PUBLIC_ENTRY_POINT_MARK}shop`; r.sourceRanges = ['0.0.0.0/0']; r.allows = [{ protocol: 'tcp', ports: ['443', '5432'] }]; }),
    policy: 'no-world-open-firewall', message: /but it allows TCP 5432/ },
  { what: 'a "public entry point" opening every protocol', type: FIREWALL,
    props: firewallWith((r) => { r.description = `${PUBLIC_ENTRY_POINT_MARK}shop`; r.sourceRanges = ['0.0.0.0/0']; r.allows = [{ protocol: 'all' }]; }),
    policy: 'no-world-open-firewall', message: /but it allows protocol "all"/ },
  { what: 'a "public entry point" on web ports with no target (every VM)', type: FIREWALL,
    props: firewallWith((r) => { r.description = `${PUBLIC_ENTRY_POINT_MARK}shop`; r.sourceRanges = ['0.0.0.0/0']; r.allows = [{ protocol: 'tcp', ports: ['443'] }]; delete r.targetTags; }),
    policy: 'no-world-open-firewall', message: /names no target tags or service accounts/ },
  { what: 'a "public entry point" opening SSH', type: FIREWALL,
    props: firewallWith((r) => { r.description = `${PUBLIC_ENTRY_POINT_MARK}shop`; r.sourceRanges = ['0.0.0.0/0']; r.allows = [{ protocol: 'tcp', ports: ['22'] }]; }),
    policy: 'ssh-only-from-iap', message: /opens port 22 to 0\.0\.0\.0\/0/ },
  // VMs made from templates and images
  { what: 'an instance from a template with a public IP', type: INSTANCE_FROM_TEMPLATE, props: fromTemplate((v) => { v.networkInterfaces[0].accessConfigs = [{}]; }),
    policy: 'vm-no-public-ip', message: /networkInterfaces\[0\]\.accessConfigs has 1 entry/ },
  { what: 'an instance from a template without shielding', type: INSTANCE_FROM_TEMPLATE, props: fromTemplate((v) => { delete v.shieldedInstanceConfig; }),
    policy: 'shielded-vms', message: /shieldedInstanceConfig\.enableSecureBoot is unset/ },
  { what: 'an instance from a template running as the default account', type: INSTANCE_FROM_TEMPLATE, props: fromTemplate((v) => { v.serviceAccount.email = DEFAULT_COMPUTE_SA; }),
    policy: 'dedicated-service-accounts', message: /the default compute account/ },
  { what: 'an instance from a machine image with a public IP', type: INSTANCE_FROM_MACHINE_IMAGE, props: vmWith((v) => { v.sourceMachineImage = 'img'; v.networkInterfaces[0].accessConfigs = [{}]; }),
    policy: 'vm-no-public-ip', message: /accessConfigs has 1 entry/ },
  // Keys
  { what: 'a service account key', type: SERVICE_ACCOUNT_KEY, props: () => ({ serviceAccountId: 'meshscope-dev-ci' }),
    policy: 'no-service-account-keys', message: /a service account key for meshscope-dev-ci is a long-lived credential/ },
  { what: 'an HMAC key for a service account', type: HMAC_KEY, props: () => ({ serviceAccountEmail: 'ci@p.iam.gserviceaccount.com' }),
    policy: 'no-service-account-keys', message: /an HMAC key for a service account for ci@p\.iam\.gserviceaccount\.com/ },
  // Secrets in metadata and startup scripts, by shape
  { what: 'a GitHub token under an innocent key', type: INSTANCE, props: vmWith((v) => { v.metadata['git-remote'] = `https://x:${GITHUB_PAT}@github.com/o/r`; }),
    policy: 'no-secrets-in-metadata', message: /metadata\["git-remote"\] holds a GitHub token/ },
  { what: 'a Google access token in the startup script', type: INSTANCE, props: vmWith((v) => { v.metadataStartupScript += `\nexport GCLOUD_AUTH=${GOOGLE_ACCESS_TOKEN}\n`; }),
    policy: 'no-secrets-in-metadata', message: /metadataStartupScript holds a Google OAuth access token/ },
  { what: 'an AWS access key id in metadata', type: INSTANCE, props: vmWith((v) => { v.metadata['backup-target'] = `s3://bucket?id=${AWS_KEY_ID}`; }),
    policy: 'no-secrets-in-metadata', message: /metadata\["backup-target"\] holds an AWS access key id/ },
  { what: 'an AWS secret key in the startup script', type: INSTANCE, props: vmWith((v) => { v.metadataStartupScript += `\ncat > ~/.aws/credentials <<EOF\naws_secret_access_key = ${AWS_SECRET}\nEOF\n`; }),
    policy: 'no-secrets-in-metadata', message: /metadataStartupScript holds an AWS secret access key/ },
  { what: 'a *_PASSWORD assignment in the startup script', type: INSTANCE, props: vmWith((v) => { v.metadataStartupScript += '\nexport DB_PASSWORD=hunter2hunter2\n'; }),
    policy: 'no-secrets-in-metadata', message: /metadataStartupScript holds a password assignment/ },
  { what: 'a metadata key db-pass with a value', type: INSTANCE, props: vmWith((v) => { v.metadata['db-pass'] = 'hunter2'; }),
    policy: 'no-secrets-in-metadata', message: /metadata\["db-pass"\] is named like a secret \("pass"\)/ },
  { what: 'a cloud-init user-data password', type: INSTANCE,
    props: vmWith((v) => { v.metadata['user-data'] = '#cloud-config\nusers:\n  - name: admin\n    plain_text_passwd: letmein123\n'; }),
    policy: 'no-secrets-in-metadata', message: /metadata\["user-data"\] holds a password assignment/ },
  { what: 'cloud-init chpasswd in user-data', type: INSTANCE,
    props: vmWith((v) => { v.metadata['user-data'] = '#cloud-config\nchpasswd:\n  list: |\n    root:letmein123\n'; }),
    policy: 'no-secrets-in-metadata', message: /metadata\["user-data"\] holds (a password assignment|cloud-init password settings)/ },
  { what: 'a database URL with a password in node pool metadata', type: NODE_POOL,
    props: (b) => { const p = copy(b.nodePool); p.nodeConfig.metadata['db-url'] = 'postgres://app:s3cr3tpw@10.0.0.5/app'; return p; },
    policy: 'no-secrets-in-metadata', message: /nodeConfig\.metadata\["db-url"\] holds a URL with a password/ },
  // GKE
  { what: 'a cluster with legacy ABAC', type: CLUSTER, props: clusterWith((c) => { c.enableLegacyAbac = true; }),
    policy: 'gke-hardening', message: /enableLegacyAbac is true/ },
  { what: 'a cluster with basic auth', type: CLUSTER, props: clusterWith((c) => { c.masterAuth = { username: 'admin', password: 'correct-horse-battery' }; }),
    policy: 'gke-hardening', message: /masterAuth\.username is set \(basic authentication/ },
  { what: 'a cluster issuing client certificates', type: CLUSTER, props: clusterWith((c) => { c.masterAuth.clientCertificateConfig.issueClientCertificate = true; }),
    policy: 'gke-hardening', message: /issueClientCertificate is true/ },
  { what: 'a cluster without Workload Identity', type: CLUSTER, props: clusterWith((c) => { delete c.workloadIdentityConfig; }),
    policy: 'gke-hardening', message: /workloadIdentityConfig\.workloadPool is unset/ },
  { what: 'a cluster with shielded nodes off', type: CLUSTER, props: clusterWith((c) => { c.enableShieldedNodes = false; }),
    policy: 'gke-hardening', message: /enableShieldedNodes is false/ },
  { what: 'a node pool exposing the node metadata server to pods', type: NODE_POOL,
    props: (b) => { const p = copy(b.nodePool); p.nodeConfig.workloadMetadataConfig.mode = 'GCE_METADATA'; return p; },
    policy: 'gke-hardening', message: /nodeConfig\.workloadMetadataConfig\.mode is "GCE_METADATA"; allowed: "GKE_METADATA"/ },
  { what: 'a node pool that leaves the metadata mode unset', type: NODE_POOL,
    props: (b) => { const p = copy(b.nodePool); delete p.nodeConfig.workloadMetadataConfig; return p; },
    policy: 'gke-hardening', message: /workloadMetadataConfig\.mode is unset/ },
  { what: 'an external IP endpoint with no authorised networks', type: CLUSTER, props: clusterWith((c) => { delete c.masterAuthorizedNetworksConfig; delete c.privateClusterConfig; }),
    policy: 'gke-authorized-networks', message: /external IP endpoint and no masterAuthorizedNetworksConfig/ },
  { what: 'an external IP endpoint authorising 0.0.0.0/0', type: CLUSTER,
    props: clusterWith((c) => { c.privateClusterConfig.enablePrivateEndpoint = false; c.masterAuthorizedNetworksConfig.cidrBlocks.push({ cidrBlock: '0.0.0.0/0', displayName: 'all' }); }),
    policy: 'gke-authorized-networks', message: /cidrBlocks includes "0\.0\.0\.0\/0", a public range/ },
  { what: 'an external IP endpoint authorising an office\'s public /24', type: CLUSTER,
    props: clusterWith((c) => { c.privateClusterConfig.enablePrivateEndpoint = false; c.masterAuthorizedNetworksConfig.cidrBlocks = [{ cidrBlock: '203.0.113.0/24', displayName: 'office' }]; }),
    policy: 'gke-authorized-networks', message: /cidrBlocks includes "203\.0\.113\.0\/24", a public range/ },
  { what: 'an external IP endpoint open to every GCE public address', type: CLUSTER,
    props: clusterWith((c) => { delete c.privateClusterConfig; c.masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled = true; }),
    policy: 'gke-authorized-networks', message: /gcpPublicCidrsAccessEnabled is true, which admits the public address of any GCE VM/ },
  { what: 'a DNS endpoint that takes Kubernetes service account tokens from anywhere', type: CLUSTER,
    props: clusterWith((c) => { c.controlPlaneEndpointsConfig.dnsEndpointConfig.enableK8sTokensViaDns = true; }),
    policy: 'gke-authorized-networks', message: /enableK8sTokensViaDns is true on an endpoint open to external traffic/ },
  // Public IAM
  // Boot scripts and health
  { what: 'a boot script in metadataStartupScript (every edit replaces the VM)', type: INSTANCE, props: vmWith((v) => { v.metadataStartupScript = v.metadata['startup-script']; delete v.metadata['startup-script']; }),
    policy: 'startup-script-in-metadata', message: /metadataStartupScript is set .* any edit to it replaces the VM/ },
  { what: 'a WorkloadEntry istiod never health-checks', type: 'kubernetes:networking.istio.io/v1:WorkloadEntry',
    props: (b) => { const e = copy(b.workloadEntry); delete e.metadata.annotations['proxy.istio.io/health-checks-enabled']; return e; },
    policy: 'workload-entry-health-checked', message: /proxy\.istio\.io\/health-checks-enabled"\] is unset; allowed: "true"/ },
  { what: 'roles/owner for allUsers on the project', type: 'gcp:projects/iAMMember:IAMMember', props: () => ({ project: 'p', role: 'roles/owner', member: 'allUsers' }),
    policy: 'no-public-iam', message: /member grants roles\/owner to allUsers, which is anyone on the internet/ },
  { what: 'a public bucket by IAM member', type: 'gcp:storage/bucketIAMMember:BucketIAMMember', props: () => ({ bucket: 'b', role: 'roles/storage.objectViewer', member: 'allUsers' }),
    policy: 'no-public-iam', message: /grants roles\/storage\.objectViewer to allUsers/ },
  { what: 'a secret readable by any Google account', type: 'gcp:secretmanager/secretIamBinding:SecretIamBinding',
    props: () => ({ secretId: 's', role: 'roles/secretmanager.secretAccessor', members: ['user:a@example.com', 'allAuthenticatedUsers'] }),
    policy: 'no-public-iam', message: /members grants roles\/secretmanager\.secretAccessor to allAuthenticatedUsers, which is anyone with a Google account/ },
  { what: 'a project IAM policy with a public binding', type: 'gcp:projects/iAMPolicy:IAMPolicy',
    props: () => ({ project: 'p', policyData: JSON.stringify({ bindings: [{ role: 'roles/viewer', members: ['allUsers'] }] }) }),
    policy: 'no-public-iam', message: /policyData grants roles\/viewer to allUsers/ },
  { what: 'a public bucket by ACL', type: 'gcp:storage/bucketACL:BucketACL', props: () => ({ bucket: 'b', roleEntities: ['OWNER:user-a@example.com', 'READER:allUsers'] }),
    policy: 'no-public-iam', message: /roleEntities grants READER to allUsers/ },
  { what: 'public objects by default object ACL', type: 'gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl',
    props: () => ({ bucket: 'b', role: 'READER', entity: 'allUsers' }), policy: 'no-public-iam', message: /entity grants READER to allUsers/ },
];

/** Stack outputs that hold a credential. */
const OUTPUT_CASES: { what: string; outputs: Record<string, unknown>; message: RegExp }[] = [
  { what: 'a bearer token', outputs: { apiAuthHeader: `Bearer ${GOOGLE_ACCESS_TOKEN.slice(5)}` }, message: /stack output "apiAuthHeader" holds a bearer token/ },
  { what: 'a URL with a password', outputs: { oapDashboard: 'https://admin:s3cr3tpw@oap.example.com/' }, message: /stack output "oapDashboard" holds a URL with a password/ },
  { what: 'a Google access token', outputs: { deployer: { note: GOOGLE_ACCESS_TOKEN } }, message: /stack output "deployer" holds a Google OAuth access token/ },
  { what: 'a GitHub token', outputs: { ciLink: GITHUB_PAT }, message: /stack output "ciLink" holds a GitHub token/ },
];

const show = (ds: Diagnostic[]) => JSON.stringify(ds, null, 1);

describe('the policy pack against bad resources, through its analyzer', function () {
  this.timeout(60000);
  let analyzer: Analyzer;
  let base: Base;
  before(async () => {
    analyzer = await startAnalyzer();
    const dev = await runProgram({ stack: 'dev' });
    base = {
      firewall: dev.one(FIREWALL, '-fw-pods-to-vms').inputs, vm: checkoutVm(dev), cluster: dev.one(CLUSTER).inputs, nodePool: dev.one(NODE_POOL).inputs,
      workloadEntry: dev.ofType('kubernetes:networking.istio.io/v1:WorkloadEntry')[0].inputs,
    };
  });
  after(() => analyzer?.close());

  it('lets the good resources the bad ones are made from pass every mandatory policy', async () => {
    for (const [type, props] of [[FIREWALL, base.firewall], [INSTANCE, base.vm], [INSTANCE_FROM_TEMPLATE, base.vm], [CLUSTER, base.cluster], [NODE_POOL, base.nodePool],
      ['kubernetes:networking.istio.io/v1:WorkloadEntry', base.workloadEntry]] as const) {
      const blocking = (await analyzer.analyze(type, props)).filter((d) => d.level === 'mandatory');
      assert.deepEqual(blocking, [], `${type}: ${show(blocking)}`);
    }
  });

  for (const c of CASES) {
    it(`${c.level === 'advisory' ? 'warns on' : 'stops'} ${c.what} (${c.policy})`, async () => {
      const found = await analyzer.analyze(c.type, c.props(base));
      const hit = found.find((d) => d.policy === c.policy && c.message.test(d.message));
      assert.ok(hit, `${c.policy} did not report ${c.message}; got ${show(found)}`);
      assert.equal(hit.level, c.level ?? 'mandatory');
    });
  }

  for (const c of OUTPUT_CASES) {
    it(`stops a stack output holding ${c.what} (no-secret-outputs)`, async () => {
      const found = await analyzer.analyzeStackOutputs({ clusterName: 'meshscope-dev-gke', ...c.outputs });
      assert.ok(found.some((d) => d.policy === 'no-secret-outputs' && d.level === 'mandatory' && c.message.test(d.message)), show(found));
    });
  }

  describe('at preview, with some inputs unknown', () => {
    it('still blocks a public IP on a VM whose metadata is built in an apply, and leaves only the metadata advisory', async () => {
      const v = copy(base.vm);
      v.metadata = UNKNOWN;
      v.metadataStartupScript = UNKNOWN;
      v.networkInterfaces[0].accessConfigs = [{}];
      const found = await analyzer.analyze(INSTANCE, v);
      assert.ok(found.some((d) => d.policy === 'vm-no-public-ip' && d.level === 'mandatory'), show(found));
      const metadata = found.filter((d) => d.policy === 'no-secrets-in-metadata');
      assert.deepEqual(metadata.map((d) => d.level), ['advisory'], show(found));
      assert.match(metadata[0].message, /metadata, metadataStartupScript are not known until the update/);
    });

    it('blocks a JWT in the known part of metadata while another entry is unknown', async () => {
      const v = copy(base.vm);
      v.metadata['meshscope-cluster-endpoint'] = UNKNOWN;
      v.metadata['istio-token'] = jwt();
      const found = (await analyzer.analyze(INSTANCE, v)).filter((d) => d.policy === 'no-secrets-in-metadata');
      assert.ok(found.some((d) => d.level === 'mandatory' && /metadata\["istio-token"\] holds a JWT/.test(d.message)), show(found));
      assert.ok(found.some((d) => d.level === 'advisory' && /metadata\.meshscope-cluster-endpoint is not known until the update/.test(d.message)), show(found));
    });

    it('blocks a world-open source next to a source range not known yet', async () => {
      const r = copy(base.firewall);
      r.sourceRanges = [UNKNOWN, '0.0.0.0/0'];
      const found = (await analyzer.analyze(FIREWALL, r)).filter((d) => d.policy === 'no-world-open-firewall');
      assert.ok(found.some((d) => d.level === 'mandatory' && /admits 0\.0\.0\.0\/0/.test(d.message)), show(found));
      assert.ok(found.some((d) => d.level === 'advisory' && /sourceRanges\[0\]/.test(d.message)), show(found));
    });

    it('does not take an unknown source list for "no source" (that default applies only when none is given)', async () => {
      const r = copy(base.firewall);
      r.sourceRanges = UNKNOWN;
      delete r.sourceTags;
      const found = (await analyzer.analyze(FIREWALL, r)).filter((d) => d.policy === 'no-world-open-firewall');
      assert.deepEqual(found.map((d) => d.level), ['advisory'], show(found));
    });

    it('judges a VM whose service account email comes from an account created in the same update on everything else', async () => {
      const v = copy(base.vm);
      v.serviceAccount.email = UNKNOWN;
      v.shieldedInstanceConfig.enableVtpm = false;
      const found = await analyzer.analyze(INSTANCE, v);
      assert.ok(found.some((d) => d.policy === 'shielded-vms' && d.level === 'mandatory'), show(found));
      assert.deepEqual(found.filter((d) => d.policy === 'dedicated-service-accounts').map((d) => d.level), ['advisory'], show(found));
    });
  });
});
