import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { NODE_OAUTH_SCOPES, NODE_ROLES } from '../../infra/cluster';
import { ProgramRun, runProgram } from './harness';

const CLUSTER = 'gcp:container/cluster:Cluster';
const NODE_POOL = 'gcp:container/nodePool:NodePool';

describe('cluster', () => {
  let dev: ProgramRun;
  let prod: ProgramRun;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
    prod = await runProgram({ stack: 'prod' });
  });

  it('is a VPC-native cluster in our subnet, on the network pods and services ranges', () => {
    const c = dev.one(CLUSTER);
    assert.equal(c.inputs.networkingMode, 'VPC_NATIVE');
    assert.equal(c.inputs.network, dev.one('gcp:compute/network:Network').id);
    assert.equal(c.inputs.subnetwork, dev.one('gcp:compute/subnetwork:Subnetwork').id);
    const ranges = dev.one('gcp:compute/subnetwork:Subnetwork').inputs.secondaryIpRanges.map((r: { rangeName: string }) => r.rangeName);
    assert.deepEqual([c.inputs.ipAllocationPolicy.clusterSecondaryRangeName, c.inputs.ipAllocationPolicy.servicesSecondaryRangeName], ranges);
  });

  it('enforces network policy (Dataplane V2) and uses Workload Identity', () => {
    const c = dev.one(CLUSTER);
    assert.equal(c.inputs.datapathProvider, 'ADVANCED_DATAPATH');
    assert.equal(c.inputs.workloadIdentityConfig.workloadPool, 'meshscope-dev.svc.id.goog');
  });

  it('replaces the default node pool with a separately managed one of the configured size and type', () => {
    const c = dev.one(CLUSTER);
    assert.equal(c.inputs.removeDefaultNodePool, true);
    const pool = dev.one(NODE_POOL);
    assert.equal(pool.inputs.cluster, c.inputs.name);
    assert.equal(pool.inputs.nodeCount, 3);
    assert.equal(pool.inputs.nodeConfig.machineType, 'e2-standard-4');
    assert.equal(prod.one(NODE_POOL).inputs.nodeCount, 6);
    assert.equal(prod.one(NODE_POOL).inputs.nodeConfig.machineType, 'e2-standard-8');
  });

  it('runs nodes as their own service account with only the node roles, never cloud-platform', () => {
    const sa = dev.one('gcp:serviceaccount/account:Account', 'nodes-sa');
    const pool = dev.one(NODE_POOL);
    assert.equal(pool.inputs.nodeConfig.serviceAccount, sa.state.email);
    assert.deepEqual(pool.inputs.nodeConfig.oauthScopes, NODE_OAUTH_SCOPES);
    assert.ok(!NODE_OAUTH_SCOPES.some((s) => s.endsWith('/cloud-platform')));
    const grants = dev.ofType('gcp:projects/iAMMember:IAMMember').filter((m) => m.inputs.member === `serviceAccount:${sa.state.email}`);
    assert.deepEqual(grants.map((g) => g.inputs.role).sort(), [...NODE_ROLES].sort());
    assert.ok(grants.every((g) => pool.dependsOn.includes(g.urn)), 'the pool waits for its grants');
  });

  it('tags nodes for the firewall table and hardens them', () => {
    const pool = dev.one(NODE_POOL);
    assert.deepEqual(pool.inputs.nodeConfig.tags, ['meshscope-dev-gke-node']);
    assert.deepEqual(pool.inputs.nodeConfig.shieldedInstanceConfig, { enableSecureBoot: true, enableIntegrityMonitoring: true });
    assert.equal(pool.inputs.nodeConfig.workloadMetadataConfig.mode, 'GKE_METADATA');
  });

  it('has private nodes on prod, with the control plane in the configured /28, public nodes on dev, and no external IP endpoint on either', () => {
    assert.deepEqual(dev.one(CLUSTER).inputs.privateClusterConfig, { enablePrivateEndpoint: true });
    assert.deepEqual(prod.one(CLUSTER).inputs.privateClusterConfig, {
      enablePrivateNodes: true, enablePrivateEndpoint: true, masterIpv4CidrBlock: '172.16.1.0/28',
    });
    assert.equal(prod.one(CLUSTER).inputs.deletionProtection, true);
    assert.equal(dev.one(CLUSTER).inputs.deletionProtection, false);
  });

  it('follows the configured release channel and carries the project labels', () => {
    assert.deepEqual(dev.one(CLUSTER).inputs.releaseChannel, { channel: 'REGULAR' });
    assert.deepEqual(prod.one(CLUSTER).inputs.releaseChannel, { channel: 'STABLE' });
    assert.deepEqual(dev.one(CLUSTER).inputs.resourceLabels, { app: 'meshscope', stack: 'dev', 'managed-by': 'pulumi' });
  });

  describe('control plane access', () => {
    for (const stack of ['dev', 'prod'] as const) {
      const run = () => (stack === 'dev' ? dev : prod);

      it(`opens the DNS endpoint (IAM-guarded) to CI and laptops on ${stack}, taking no Kubernetes tokens or certificates there`, () => {
        assert.deepEqual(run().one(CLUSTER).inputs.controlPlaneEndpointsConfig, {
          dnsEndpointConfig: { allowExternalTraffic: true, enableK8sTokensViaDns: false, enableK8sCertsViaDns: false },
          ipEndpointsConfig: { enabled: true },
        });
      });

      it(`admits on the IP endpoint only the stack's subnet and pods ranges on ${stack}, internal address included, no GCE public range`, () => {
        const net = run().one('gcp:compute/subnetwork:Subnetwork').inputs;
        const pods = net.secondaryIpRanges.find((r: { rangeName: string }) => r.rangeName.endsWith('pods')).ipCidrRange;
        const mans = run().one(CLUSTER).inputs.masterAuthorizedNetworksConfig;
        assert.deepEqual(mans.cidrBlocks.map((b: { cidrBlock: string }) => b.cidrBlock), [net.ipCidrRange, pods]);
        assert.equal(mans.gcpPublicCidrsAccessEnabled, false);
        assert.equal(mans.privateEndpointEnforcementEnabled, true);
      });
    }

    it('exports the internal endpoint (which the VMs get) and the DNS endpoint (which the kubeconfig names)', () => {
      const c = prod.one(CLUSTER);
      assert.equal(prod.outputs.clusterInternalEndpoint, c.state.privateClusterConfig.privateEndpoint);
      assert.equal(prod.outputs.clusterEndpoint, c.state.controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint);
      assert.match(String(prod.outputs.clusterEndpoint), /\.gke\.goog$/);
    });
  });

  it('builds the Kubernetes provider on the DNS endpoint (publicly trusted certificate, no cluster CA), authenticating with gke-gcloud-auth-plugin', () => {
    const c = dev.one(CLUSTER);
    const provider = dev.one('pulumi:providers:kubernetes');
    const kubeconfig = parse(provider.inputs.kubeconfig);
    assert.equal(kubeconfig.clusters[0].cluster.server, `https://${c.state.controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint}`);
    assert.equal(kubeconfig.clusters[0].cluster['certificate-authority-data'], undefined);
    assert.equal(kubeconfig.users[0].user.exec.command, 'gke-gcloud-auth-plugin');
    assert.equal(kubeconfig.users[0].user.token, undefined);
    assert.ok(provider.dependsOn.includes(dev.one(NODE_POOL).urn), 'nothing lands in the cluster before its nodes');
  });

  it('uses the project from the stack for the gcp provider every component shares', () => {
    assert.equal(dev.one('pulumi:providers:gcp').inputs.project, 'meshscope-dev');
    assert.equal(prod.one('pulumi:providers:gcp').inputs.project, 'meshscope-prod');
  });

  it('exports what later parts and users need', () => {
    assert.equal(dev.outputs.clusterName, 'meshscope-dev-gke');
    assert.equal(dev.outputs.clusterEndpoint, dev.one(CLUSTER).state.controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint);
    assert.match(String(dev.outputs.getCredentialsCommand), /^gcloud container clusters get-credentials meshscope-dev-gke --dns-endpoint --zone europe-west1-b --project meshscope-dev$/);
  });
});
