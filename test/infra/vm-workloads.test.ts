import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VM_IMAGE, vmRoleId } from '../../infra/vm-workloads';
import { metadataKeys } from '../../vm-bootstrap/metadata-keys';
import { MOCK_CLUSTER_CA_PEM, ProgramRun, RecordedResource, runProgram } from './harness';

const INSTANCE = 'gcp:compute/instance:Instance';
const THREE_VMS = { 'meshscope:vmWorkloads': [
  { name: 'checkoutservice', port: 5050, protocol: 'grpc', machineType: 'e2-small' },
  { name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' },
  { name: 'shippingservice', port: 50051, protocol: 'grpc', machineType: 'e2-medium' },
] };

function instance(run: ProgramRun, workload: string): RecordedResource {
  return run.one(INSTANCE, `vm-${workload}`);
}
function cr(run: ProgramRun, kind: string, name: string): RecordedResource {
  return run.one(`kubernetes:networking.istio.io/v1:${kind}`, `vm-${name}-${kind === 'WorkloadGroup' ? 'group' : 'entry'}`);
}

describe('VM workloads', () => {
  let dev: ProgramRun;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
  });

  it('declares one VM, Service, WorkloadGroup and WorkloadEntry per table row', () => {
    assert.deepEqual(dev.ofType(INSTANCE).map((i) => i.inputs.name).sort(), ['meshscope-dev-checkoutservice', 'meshscope-dev-paymentservice']);
    for (const w of ['checkoutservice', 'paymentservice']) {
      assert.ok(cr(dev, 'WorkloadGroup', w));
      assert.ok(cr(dev, 'WorkloadEntry', w));
      assert.ok(dev.one('kubernetes:core/v1:Service', `vm-${w}-svc`));
    }
  });

  it('runs shielded Debian 12 VMs with no public IP, tagged for the firewall table', () => {
    for (const i of dev.ofType(INSTANCE)) {
      assert.equal(i.inputs.bootDisk.initializeParams.image, VM_IMAGE);
      assert.equal(VM_IMAGE, 'debian-cloud/debian-12');
      assert.deepEqual(i.inputs.networkInterfaces.map((n: Record<string, unknown>) => n.accessConfigs ?? []), [[]]);
      assert.deepEqual(i.inputs.shieldedInstanceConfig, { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true });
      assert.deepEqual(i.inputs.tags, ['meshscope-dev-vm']);
      assert.equal(i.inputs.networkInterfaces[0].subnetwork, dev.one('gcp:compute/subnetwork:Subnetwork').id);
    }
  });

  it('runs each VM as its own service account', () => {
    const checkout = instance(dev, 'checkoutservice');
    const sa = dev.one('gcp:serviceaccount/account:Account', 'vm-checkoutservice-sa');
    assert.equal(checkout.inputs.serviceAccount.email, sa.state.email);
    assert.notEqual(sa.state.email, instance(dev, 'paymentservice').inputs.serviceAccount.email);
  });

  it('grants each VM account one project role, the stack custom role, and nothing else', () => {
    for (const w of ['checkoutservice', 'paymentservice']) {
      const sa = dev.one('gcp:serviceaccount/account:Account', `vm-${w}-sa`);
      const grants = dev.ofType('gcp:projects/iAMMember:IAMMember').filter((m) => m.inputs.member === `serviceAccount:${sa.state.email}`);
      assert.deepEqual(grants.map((g) => g.inputs.role), [`projects/${grants[0]?.inputs.project}/roles/${vmRoleId('dev')}`]);
    }
  });

  it('lets the VM role do only what GKE needs to accept a Google identity: container.clusters.get', () => {
    const role = dev.one('gcp:projects/iAMCustomRole:IAMCustomRole');
    assert.deepEqual(role.inputs.permissions, ['container.clusters.get']);
    assert.equal(role.inputs.roleId, 'meshscope_dev_vm');
  });

  it('lets each VM Google identity mint only its own istio-token and read only the root cert', () => {
    const sa = dev.one('gcp:serviceaccount/account:Account', 'vm-checkoutservice-sa');
    const role = dev.one('kubernetes:rbac.authorization.k8s.io/v1:Role', 'vm-checkoutservice-token-role');
    assert.deepEqual(role.inputs.rules, [
      { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['checkoutservice'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['istio-ca-root-cert'], verbs: ['get'] },
    ]);
    const binding = dev.one('kubernetes:rbac.authorization.k8s.io/v1:RoleBinding', 'vm-checkoutservice-token-binding');
    assert.deepEqual(binding.inputs.subjects, [{ kind: 'User', name: sa.state.email, apiGroup: 'rbac.authorization.k8s.io' }]);
    assert.equal(binding.inputs.roleRef.name, role.inputs.metadata.name);
    assert.equal(role.inputs.metadata.namespace, 'boutique');
  });

  it('puts no secret in instance metadata: the VM mints its token at boot', () => {
    for (const i of dev.ofType(INSTANCE)) {
      for (const [key, value] of Object.entries(i.inputs.metadata as Record<string, string>)) {
        assert.ok(!/token|secret|password|private/i.test(key), key);
        assert.ok(!/BEGIN [A-Z ]*PRIVATE KEY/.test(value), `${key} holds a private key`);
        assert.ok(!/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(value), `${key} holds a JWT`);
      }
    }
  });

  it('feeds the boot script from the outputs of the cluster, the mesh and the receiver', () => {
    const md = instance(dev, 'checkoutservice').inputs.metadata as Record<string, string>;
    const cluster = dev.one('gcp:container/cluster:Cluster');
    // The internal address: the IP endpoint admits only the VPC's ranges (infra/cluster.ts).
    assert.equal(md[metadataKeys.clusterEndpoint], cluster.state.privateClusterConfig.privateEndpoint);
    assert.equal(md[metadataKeys.clusterCaCert], MOCK_CLUSTER_CA_PEM);
    assert.equal(md[metadataKeys.eastWestGatewayIp], dev.outputs.eastwestGatewayIp);
    assert.equal(md[metadataKeys.istioVersion], '1.30.3');
    assert.equal(md[metadataKeys.workloadImage], 'us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/checkoutservice:v0.10.6');
    const mesh = parse(md[metadataKeys.meshConfig]);
    assert.equal(mesh.defaultConfig.envoyAccessLogService.address, dev.outputs.receiverInternalAddress);
    assert.match(md[metadataKeys.clusterEnv], /meshscope-dev-network/);
  });

  it('delivers the launcher, the agent and the bootstrap in metadata, which GCE updates in place', () => {
    const script = (name: string) => readFileSync(join(__dirname, '../../vm-bootstrap', name), 'utf8');
    for (const i of dev.ofType(INSTANCE)) {
      assert.equal(i.inputs.metadata['startup-script'], script('launcher.sh'));
      assert.equal(i.inputs.metadata['meshscope-agent'], script('agent.sh'));
      assert.equal(i.inputs.metadata['meshscope-bootstrap'], script('bootstrap.sh'));
    }
  });

  it('sets no metadataStartupScript, whose every change would replace the VM', () => {
    for (const i of dev.ofType(INSTANCE)) assert.equal(i.inputs.metadataStartupScript, undefined);
  });

  it('gives checkoutservice on its VM the FQDN of every service it calls', () => {
    const env = instance(dev, 'checkoutservice').inputs.metadata[metadataKeys.workloadEnv] as string;
    for (const line of ['PRODUCT_CATALOG_SERVICE_ADDR=productcatalogservice.boutique.svc.cluster.local:3550',
      'PAYMENT_SERVICE_ADDR=paymentservice.boutique.svc.cluster.local:50051', 'EMAIL_SERVICE_ADDR=emailservice.boutique.svc.cluster.local:5000',
      'CART_SERVICE_ADDR=cartservice.boutique.svc.cluster.local:7070', 'PORT=5050']) {
      assert.ok(env.split('\n').includes(line), `${line} in\n${env}`);
    }
  });

  it('registers each VM at its reserved IP, with the WorkloadGroup labels its Service selects', () => {
    const address = dev.one('gcp:compute/address:Address', 'vm-paymentservice-ip');
    const entry = cr(dev, 'WorkloadEntry', 'paymentservice');
    assert.equal(entry.inputs.spec.address, address.state.address);
    assert.equal(instance(dev, 'paymentservice').inputs.networkInterfaces[0].networkIp, address.state.address);
    assert.equal(entry.inputs.spec.serviceAccount, 'paymentservice');
    assert.deepEqual(entry.inputs.spec.ports, { grpc: 50051 });
    const svc = dev.one('kubernetes:core/v1:Service', 'vm-paymentservice-svc');
    for (const [k, v] of Object.entries(svc.inputs.spec.selector as Record<string, string>)) assert.equal(entry.inputs.spec.labels[k], v);
    assert.deepEqual(cr(dev, 'WorkloadGroup', 'paymentservice').inputs.spec.metadata.labels, entry.inputs.spec.labels);
    const vms = dev.outputs.vms as { name: string; internalIp: string }[];
    assert.deepEqual(vms.find((v) => v.name === 'paymentservice')?.internalIp, address.state.address);
  });

  it('gives the VM mesh config the same readiness probe as its WorkloadGroup', () => {
    for (const w of ['checkoutservice', 'paymentservice']) {
      const mesh = parse(instance(dev, w).inputs.metadata[metadataKeys.meshConfig]);
      const probe = cr(dev, 'WorkloadGroup', w).inputs.spec.probe;
      assert.deepEqual(mesh.defaultConfig.readinessProbe, probe);
      assert.ok(probe.tcpSocket.port > 0);
    }
  });

  it('has each VM proxy name its WorkloadEntry, so istiod applies its health reports to it', () => {
    const mesh = parse(instance(dev, 'paymentservice').inputs.metadata[metadataKeys.meshConfig]);
    assert.equal(mesh.defaultConfig.proxyMetadata.ISTIO_META_WORKLOAD_ENTRY, cr(dev, 'WorkloadEntry', 'paymentservice').inputs.metadata.name);
  });

  it('turns on istiod health checks for each WorkloadEntry', () => {
    for (const w of ['checkoutservice', 'paymentservice']) {
      assert.deepEqual(cr(dev, 'WorkloadEntry', w).inputs.metadata.annotations, { 'proxy.istio.io/health-checks-enabled': 'true' });
    }
  });

  it('declares each WorkloadEntry without waiting for its VM, so the VM proxy never names a missing entry', () => {
    const entry = cr(dev, 'WorkloadEntry', 'checkoutservice');
    assert.ok(!entry.dependsOn.includes(instance(dev, 'checkoutservice').urn), entry.dependsOn.join('\n'));
    assert.ok(entry.dependsOn.includes(cr(dev, 'WorkloadGroup', 'checkoutservice').urn));
  });

  it('adds a third VM workload from config alone', async () => {
    const run = await runProgram({ stack: 'dev', config: THREE_VMS });
    const shipping = instance(run, 'shippingservice');
    assert.equal(shipping.inputs.machineType, 'e2-medium');
    assert.ok(cr(run, 'WorkloadEntry', 'shippingservice'));
    assert.ok(!run.ofType('kubernetes:apps/v1:Deployment').some((d) => d.inputs.metadata.name === 'shippingservice'));
    assert.equal(shipping.inputs.metadata[metadataKeys.workload], 'shippingservice');
    assert.match(shipping.inputs.metadata[metadataKeys.workloadEnv], /^PORT=50051$/m);
  });

  it('keeps the cluster component\u2019s endpoint and the metadata server out of the VM sidecar\u2019s capture (cluster.env)', () => {
    // The VMs call the control plane's internal IP endpoint (the DNS endpoint is for people and CI).
    const endpoint = dev.outputs.clusterInternalEndpoint as string;
    assert.match(endpoint, /^\d+\.\d+\.\d+\.\d+$/);
    for (const w of ['checkoutservice', 'paymentservice']) {
      const metadata = instance(dev, w).inputs.metadata;
      assert.equal(metadata[metadataKeys.clusterEndpoint], endpoint);
      assert.match(metadata[metadataKeys.clusterEnv], new RegExp(`^ISTIO_SERVICE_EXCLUDE_CIDR=169\\.254\\.169\\.254/32,${endpoint.replace(/\./g, '\\.')}/32$`, 'm'));
    }
  });

  it('passes meshscope:versions.istioSidecarSha256 to the VMs, and "published" when it is unset', async () => {
    assert.equal(instance(dev, 'checkoutservice').inputs.metadata[metadataKeys.istioSidecarSha256], 'published');
    const sha = 'ab'.repeat(32);
    const run = await runProgram({ stack: 'dev', config: { 'meshscope:versions': { istio: '1.30.3', skywalking: '10.4.0', skywalkingChart: '4.9.0', onlineBoutique: 'v0.10.6', istioSidecarSha256: sha } } });
    assert.equal(instance(run, 'paymentservice').inputs.metadata[metadataKeys.istioSidecarSha256], sha);
    await assert.rejects(runProgram({ stack: 'dev', config: { 'meshscope:versions': { istio: '1.30.3', skywalking: '10.4.0', skywalkingChart: '4.9.0', onlineBoutique: 'v0.10.6', istioSidecarSha256: 'ABC' } } }),
      /meshscope:versions\.istioSidecarSha256: got "ABC"; allowed: 64 lowercase hex digits/);
  });

  it('sends VM ALS to OAP internal address when als.target is oap', async () => {
    const run = await runProgram({ stack: 'dev', config: { 'meshscope:observability': { alsTarget: 'oap' } } });
    const mesh = parse(instance(run, 'checkoutservice').inputs.metadata[metadataKeys.meshConfig]);
    assert.equal(mesh.defaultConfig.envoyAccessLogService.address, run.outputs.alsAddressForVms);
    assert.notEqual(run.outputs.alsAddressForVms, run.outputs.receiverInternalAddress);
  });
});
