import { strict as assert } from 'node:assert';
import { BOUTIQUE_SERVICES } from '../../catalog/src/online-boutique';
import { firewallRules } from '../../infra/firewall-rules';
import { IAP_RANGE } from '../../infra/naming';
import { ProgramRun, RecordedResource, runProgram } from './harness';

const FIREWALL = 'gcp:compute/firewall:Firewall';

function rule(run: ProgramRun, name: string): RecordedResource {
  return run.one(FIREWALL, `-fw-${name}`);
}

describe('network', () => {
  let dev: ProgramRun;
  let prod: ProgramRun;
  before(async () => {
    dev = await runProgram({ stack: 'dev' });
    prod = await runProgram({ stack: 'prod' });
  });

  it('declares a custom-mode VPC with one subnet carrying the pods and services ranges of the stack', () => {
    const vpc = dev.one('gcp:compute/network:Network');
    assert.equal(vpc.inputs.autoCreateSubnetworks, false);
    const subnet = dev.one('gcp:compute/subnetwork:Subnetwork');
    assert.equal(subnet.inputs.network, vpc.id);
    assert.equal(subnet.inputs.ipCidrRange, '10.10.0.0/20');
    assert.deepEqual(subnet.inputs.secondaryIpRanges, [
      { rangeName: 'pods', ipCidrRange: '10.20.0.0/14' },
      { rangeName: 'services', ipCidrRange: '10.24.0.0/20' },
    ]);
    assert.equal(subnet.inputs.privateIpGoogleAccess, true);
  });

  it('gives VMs and nodes a way out through Cloud NAT on the VPC router', () => {
    const router = dev.one('gcp:compute/router:Router');
    assert.equal(router.inputs.network, dev.one('gcp:compute/network:Network').id);
    const nat = dev.one('gcp:compute/routerNat:RouterNat');
    assert.equal(nat.inputs.router, router.inputs.name);
    assert.equal(nat.inputs.sourceSubnetworkIpRangesToNat, 'ALL_SUBNETWORKS_ALL_IP_RANGES');
  });

  it('lets pods reach the VM services on exactly the ports of the VM workload table', () => {
    const r = rule(dev, 'pods-to-vms');
    assert.deepEqual(r.inputs.sourceRanges, ['10.20.0.0/14']);
    assert.deepEqual(r.inputs.targetTags, ['meshscope-dev-vm']);
    assert.deepEqual(r.inputs.allows, [{ protocol: 'tcp', ports: ['5050', '50051'] }]);
  });

  it('lets one VM workload call another on the VM service ports', () => {
    const r = rule(dev, 'vms-to-vms');
    assert.deepEqual(r.inputs.sourceTags, ['meshscope-dev-vm']);
    assert.equal(r.inputs.sourceRanges, undefined);
    assert.deepEqual(r.inputs.targetTags, ['meshscope-dev-vm']);
    assert.deepEqual(r.inputs.allows, [{ protocol: 'tcp', ports: ['5050', '50051'] }]);
  });

  it('lets VMs reach the pods of every Online Boutique service that stays in Kubernetes', () => {
    const r = rule(dev, 'vms-to-pods');
    const expected = BOUTIQUE_SERVICES.filter((s) => s.servicePort !== undefined && !['checkoutservice', 'paymentservice'].includes(s.name))
      .map((s) => s.containerPort);
    assert.deepEqual(r.inputs.sourceTags, ['meshscope-dev-vm']);
    assert.deepEqual(r.inputs.targetTags, ['meshscope-dev-gke-node']);
    assert.deepEqual(r.inputs.allows[0].ports, [...new Set(expected)].sort((a, b) => a - b).map(String));
  });

  it('lets VMs reach the east-west gateway (istiod 15012/15017) and the receiver ALS port, nothing more', () => {
    const r = rule(dev, 'vms-to-mesh-control');
    assert.deepEqual(r.inputs.sourceTags, ['meshscope-dev-vm']);
    assert.deepEqual(r.inputs.allows, [{ protocol: 'tcp', ports: ['11800', '15012', '15017', '15021', '15443'] }]);
  });

  it('allows SSH only from the IAP range', () => {
    const ssh = dev.ofType(FIREWALL).filter((r) => r.inputs.allows.some((a: { ports: string[] }) => a.ports.includes('22')));
    assert.deepEqual(ssh.map((r) => r.name), ['network-fw-iap-ssh']);
    assert.deepEqual(ssh[0].inputs.sourceRanges, [IAP_RANGE]);
    assert.equal(IAP_RANGE, '35.235.240.0/20');
  });

  it('opens the istiod webhook port to the control plane only on private clusters', () => {
    assert.equal(dev.ofType(FIREWALL).some((r) => r.name.endsWith('master-to-istiod-webhook')), false);
    const r = rule(prod, 'master-to-istiod-webhook');
    assert.deepEqual(r.inputs.sourceRanges, ['172.16.1.0/28']);
    assert.deepEqual(r.inputs.targetTags, ['meshscope-prod-gke-node']);
    assert.deepEqual(r.inputs.allows, [{ protocol: 'tcp', ports: ['15017'] }]);
  });

  it('never opens anything to 0.0.0.0/0, in any stack', () => {
    for (const run of [dev, prod]) {
      for (const r of run.ofType(FIREWALL)) {
        assert.ok(!(r.inputs.sourceRanges ?? []).includes('0.0.0.0/0'), `${run.stack} ${r.name}`);
        assert.ok((r.inputs.sourceRanges ?? []).length + (r.inputs.sourceTags ?? []).length > 0, `${r.name} has no source`);
      }
    }
  });

  it('explains every rule and keeps them all ingress on the stack VPC', () => {
    const vpc = dev.one('gcp:compute/network:Network');
    for (const r of dev.ofType(FIREWALL)) {
      assert.equal(r.inputs.direction, 'INGRESS');
      assert.equal(r.inputs.network, vpc.id);
      assert.ok(r.inputs.description.length > 20, r.name);
    }
  });

  it('opens the ports of a third VM workload when one is added to the table', async () => {
    const run = await runProgram({
      stack: 'dev',
      config: { 'meshscope:vmWorkloads': [
        { name: 'checkoutservice', port: 5050, protocol: 'grpc', machineType: 'e2-small' },
        { name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' },
        { name: 'currencyservice', port: 7000, protocol: 'grpc', machineType: 'e2-small' },
      ] },
    });
    assert.deepEqual(rule(run, 'pods-to-vms').inputs.allows[0].ports, ['5050', '7000', '50051']);
    assert.ok(!rule(run, 'vms-to-pods').inputs.allows[0].ports.includes('7000'));
  });
});

describe('firewall table', () => {
  it('drops a rule that would have no port, since GCE reads an empty port list as every TCP port', () => {
    const rules = firewallRules({ vmServicePorts: [], podServicePorts: [7070], meshControlPorts: [15012], alsPort: 11800, privateNodes: false });
    assert.deepEqual(rules.map((r) => r.name).sort(), ['iap-ssh', 'vms-to-mesh-control', 'vms-to-pods']);
    assert.ok(rules.every((r) => r.tcpPorts.length > 0));
  });
});
