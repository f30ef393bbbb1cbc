import { strict as assert } from 'node:assert';
import { ConfigError, parseStackConfig, RawConfig } from '../../infra/config';
import { runProgram, stackFileConfig } from './harness';

/** A valid config (dev's file) with some keys replaced; objects are merged one level deep. */
function devWith(changes: Record<string, unknown>): RawConfig {
  const raw: RawConfig = stackFileConfig('dev');
  for (const [key, value] of Object.entries(changes)) {
    const [top, sub] = key.split('.');
    if (sub) {
      const obj = JSON.parse(raw[top] ?? '{}');
      if (value === undefined) delete obj[sub];
      else obj[sub] = value;
      raw[top] = JSON.stringify(obj);
    } else {
      raw[top] = value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return raw;
}

function problemsOf(raw: RawConfig): string[] {
  try {
    parseStackConfig(raw, 'dev');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail('expected the config to be rejected');
}

describe('stack config', () => {
  it('reads the dev stack file into typed values', () => {
    const c = parseStackConfig(stackFileConfig('dev'), 'dev');
    assert.equal(c.cluster.nodeCount, 3);
    assert.equal(c.cluster.privateNodes, false);
    assert.deepEqual(c.vmWorkloads.map((w) => [w.name, w.port, w.protocol]), [['checkoutservice', 5050, 'grpc'], ['paymentservice', 50051, 'grpc']]);
  });

  it('makes prod bigger and private', () => {
    const dev = parseStackConfig(stackFileConfig('dev'), 'dev');
    const prod = parseStackConfig(stackFileConfig('prod'), 'prod');
    assert.ok(prod.cluster.nodeCount > dev.cluster.nodeCount);
    assert.equal(prod.cluster.privateNodes, true);
    assert.equal(prod.cluster.deletionProtection, true);
    assert.ok(prod.observability.oapReplicas > 1);
  });

  it('fills documented defaults for optional settings', () => {
    const c = parseStackConfig(devWith({ 'meshscope:observability': undefined, 'meshscope:cluster.releaseChannel': undefined }), 'dev');
    assert.equal(c.observability.alsTarget, 'receiver');
    assert.equal(c.observability.oapStorage, 'banyandb');
    assert.equal(c.cluster.releaseChannel, 'REGULAR');
  });

  it('defaults a VM workload\'s port and protocol to the catalog\'s, their only valid values', () => {
    const c = parseStackConfig(devWith({ 'meshscope:vmWorkloads': [{ name: 'currencyservice' }, { name: 'paymentservice', machineType: 'e2-medium' }] }), 'dev');
    assert.deepEqual(c.vmWorkloads, [
      { name: 'currencyservice', port: 7000, protocol: 'grpc', machineType: 'e2-small' },
      { name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-medium' },
    ]);
  });

  it('runs checkoutservice and paymentservice on VMs when a stack names no VM workloads', () => {
    const c = parseStackConfig(devWith({ 'meshscope:vmWorkloads': undefined }), 'dev');
    assert.deepEqual(c.vmWorkloads.map((w) => [w.name, w.port, w.machineType]), [['checkoutservice', 5050, 'e2-small'], ['paymentservice', 50051, 'e2-small']]);
  });

  it('accepts any listed machine type in a region the table has not checked series for', () => {
    const c = parseStackConfig(devWith({ 'gcp:region': 'asia-east1', 'gcp:zone': 'asia-east1-a', 'meshscope:cluster.machineType': 'n2d-standard-8' }), 'dev');
    assert.equal(c.cluster.machineType, 'n2d-standard-8');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a missing project', { 'gcp:project': undefined }, /^gcp:project: missing; allowed: a GCP project ID/],
    ['a malformed project', { 'gcp:project': 'My_Project' }, /^gcp:project: got "My_Project"; allowed: a GCP project ID/],
    ['a zone outside the region', { 'gcp:zone': 'us-east1-b' }, /^gcp:zone: got "us-east1-b"; allowed: a zone of region europe-west1: europe-west1-b, europe-west1-c, europe-west1-d$/],
    ['a zone the region does not have (europe-west1 has no zone a)', { 'gcp:zone': 'europe-west1-a' }, /^gcp:zone: got "europe-west1-a"; allowed: a zone of region europe-west1: europe-west1-b, europe-west1-c, europe-west1-d$/],
    ['a region that does not exist, suggesting the nearest', { 'gcp:region': 'europe-west7', 'gcp:zone': 'europe-west7-b' }, /^gcp:region: got "europe-west7"; allowed a Compute Engine region \(infra\/gcp-locations.ts\): africa-south1, .*europe-west1, .* \(did you mean "europe-west1"\?\)$/],
    ['a zone with no region, without speaking of a region ""', { 'gcp:region': undefined, 'gcp:zone': 'mars-1a' }, /^gcp:zone: got "mars-1a"; allowed: a Compute Engine zone of gcp:region, such as europe-west1-b \(set a valid gcp:region first\)$/],
    ['a missing region, naming what is allowed', { 'gcp:region': undefined }, /^gcp:region: missing; allowed a Compute Engine region/],
    ['a node count of zero', { 'meshscope:cluster.nodeCount': 0 }, /^meshscope:cluster.nodeCount: got 0; allowed: a whole number from 1 to 100/],
    ['a node count given as text', { 'meshscope:cluster.nodeCount': 'three' }, /^meshscope:cluster.nodeCount: got "three"; allowed: a whole number/],
    ['an unknown release channel', { 'meshscope:cluster.releaseChannel': 'FAST' }, /^meshscope:cluster.releaseChannel: got "FAST"; allowed: RAPID, REGULAR, STABLE, EXTENDED/],
    ['privateNodes not a boolean', { 'meshscope:cluster.privateNodes': 'yes' }, /^meshscope:cluster.privateNodes: got "yes"; allowed: true or false/],
    ['a misspelt cluster setting, suggesting the nearest', { 'meshscope:cluster.nodeCont': 4 }, /^meshscope:cluster.nodeCont: got 4; unknown setting \(did you mean "nodeCount"\?\); allowed: machineType, nodeCount/],
    ['a misspelt network setting, suggesting the nearest', { 'meshscope:network.podCidr': '10.20.0.0/14' }, /^meshscope:network.podCidr: got "10.20.0.0\/14"; unknown setting \(did you mean "podsCidr"\?\)/],
    ['a misspelt VM workload setting, suggesting the nearest', { 'meshscope:vmWorkloads': [{ name: 'paymentservice', port: 50051, protocol: 'grpc', machinetype: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].machinetype: got "e2-small"; unknown setting \(did you mean "machineType"\?\)/],
    ['an unknown top-level key (prod\'s clustr typo), suggesting the nearest', { 'meshscope:clustr': { privateNodes: true } }, /^meshscope:clustr: unknown setting \(did you mean "meshscope:cluster"\?\); allowed: meshscope:network, meshscope:cluster, meshscope:versions, meshscope:observability, meshscope:vmWorkloads$/],
    ['an unknown top-level key (netwrok), suggesting the nearest', { 'meshscope:netwrok': { podsCidr: '10.120.0.0/14' } }, /^meshscope:netwrok: unknown setting \(did you mean "meshscope:network"\?\)/],
    ['a malformed CIDR', { 'meshscope:network.podsCidr': '10.20.0.0/33' }, /^meshscope:network.podsCidr: got "10.20.0.0\/33"; allowed: an IPv4 CIDR/],
    ['overlapping ranges', { 'meshscope:network.servicesCidr': '10.10.8.0/24' }, /^meshscope:network.servicesCidr: got "10.10.8.0\/24"; overlaps subnetCidr "10.10.0.0\/20"/],
    ['a master range that is not /28', { 'meshscope:network.masterCidr': '172.16.0.0/24' }, /^meshscope:network.masterCidr: got "172.16.0.0\/24"; allowed: a \/28 range/],
    ['a public master range', { 'meshscope:network.masterCidr': '8.8.8.0/28' }, /^meshscope:network.masterCidr: got "8.8.8.0\/28"; allowed: a private \(RFC 1918\) range inside 10.0.0.0\/8, 172.16.0.0\/12, 192.168.0.0\/16$/],
    ['a /30 pods range', { 'meshscope:network.podsCidr': '10.20.0.0/30' }, /^meshscope:network.podsCidr: got "10.20.0.0\/30"; allowed: \/22 or larger \(GKE gives each of the 3 nodes a \/24 of pod addresses\)$/],
    ['a subnet smaller than GCE allows', { 'meshscope:network.subnetCidr': '10.10.0.0/30' }, /^meshscope:network.subnetCidr: got "10.10.0.0\/30"; allowed: \/29 or larger/],
    ['an Istio older than the pinned charts', { 'meshscope:versions.istio': '1.22.3' }, /^meshscope:versions.istio: got "1.22.3"; allowed \(Istio releases pinned in infra\/charts.ts\): 1.30.3$/],
    ['an Istio newer than the pinned charts', { 'meshscope:versions.istio': '1.31.0' }, /^meshscope:versions.istio: got "1.31.0"; allowed \(Istio releases pinned in infra\/charts.ts\): 1.30.3$/],
    ['an Istio version that is not a version at all', { 'meshscope:versions.istio': 'latest' }, /^meshscope:versions.istio: got "latest"; allowed \(Istio releases pinned in infra\/charts.ts\): 1.30.3$/],
    ['a SkyWalking chart that is not pinned', { 'meshscope:versions.skywalkingChart': '4.8.0' }, /^meshscope:versions.skywalkingChart: got "4.8.0"; allowed \(apache\/skywalking-helm charts pinned in infra\/charts.ts\): 4.9.0$/],
    ['an OAP version its chart is not pinned with', { 'meshscope:versions.skywalking': '10.3.0' }, /^meshscope:versions.skywalking: got "10.3.0"; allowed \(the OAP release chart 4.9.0 is pinned with in infra\/charts.ts\): 10.4.0$/],
    ['an Online Boutique version without its v', { 'meshscope:versions.onlineBoutique': '0.10.6' }, /^meshscope:versions.onlineBoutique: got "0.10.6"; allowed \(Online Boutique releases pinned in infra\/charts.ts\): v0.10.6$/],
    ['more OAP replicas than nodes, with hard anti-affinity', { 'meshscope:observability.oapReplicas': 4 }, /^meshscope:observability.oapReplicas: got 4; allowed: at most meshscope:cluster.nodeCount \(3\); replicas are spread one per node \(hard anti-affinity\)$/],
    ['an unknown ALS target', { 'meshscope:observability.alsTarget': 'zipkin' }, /^meshscope:observability.alsTarget: got "zipkin"; allowed: receiver, oap/],
    ['H2 as OAP storage (gone from SkyWalking)', { 'meshscope:observability.oapStorage': 'h2' }, /^meshscope:observability.oapStorage: got "h2"; allowed: banyandb$/],
    ['Elasticsearch as OAP storage (not rendered or tested here)', { 'meshscope:observability.oapStorage': 'elasticsearch' }, /^meshscope:observability.oapStorage: got "elasticsearch"; allowed: banyandb$/],
    ['a receiver maximum below its replicas', { 'meshscope:observability.receiverReplicas': 4, 'meshscope:observability.receiverMaxReplicas': 2 }, /^meshscope:observability.receiverMaxReplicas: got 2; allowed: at least receiverReplicas \(4\)/],
    ['a misspelt cluster machine type, naming the nearest valid one', { 'meshscope:cluster.machineType': 'e2-standrd-4' }, /^meshscope:cluster.machineType: got "e2-standrd-4"; allowed: a Compute Engine machine type offered in europe-west1 \(infra\/machine-types.ts\); did you mean "e2-standard-4"\?$/],
    ['a machine type with a shape its series does not have', { 'meshscope:cluster.machineType': 'e2-standard-6' }, /^meshscope:cluster.machineType: got "e2-standard-6"; allowed: a Compute Engine machine type offered in europe-west1/],
    ['a misspelt VM machine type, naming the nearest valid one', { 'meshscope:vmWorkloads': [{ name: 'paymentservice', machineType: 'e2-smal' }] }, /^meshscope:vmWorkloads\[0\].machineType: got "e2-smal"; allowed: a Compute Engine machine type offered in europe-west1 \(infra\/machine-types.ts\); did you mean "e2-small"\?$/],
    ['an empty VM workload table (its firewall rules would open every port)', { 'meshscope:vmWorkloads': [] }, /^meshscope:vmWorkloads: got \[\]; allowed: a list of one or more/],
    ['a VM workload whose protocol contradicts the catalog', { 'meshscope:vmWorkloads': [{ name: 'checkoutservice', port: 5050, protocol: 'http', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].protocol: got "http"; allowed: grpc, the protocol checkoutservice speaks$/],
    ['a VM workload for a service that cannot run on a VM (redis-cart)', { 'meshscope:vmWorkloads': [{ name: 'redis-cart', port: 6379, protocol: 'tcp', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].name: got "redis-cart"; allowed: an Online Boutique service others call and whose release image a VM runs: (?!.*redis-cart)/],
    ['a VM workload table that is not a list', { 'meshscope:vmWorkloads': { name: 'x' } }, /^meshscope:vmWorkloads: got .*; expected a list/],
    ['a VM workload with a bad port', { 'meshscope:vmWorkloads': [{ name: 'checkoutservice', port: 70000, protocol: 'grpc', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].port: got 70000; allowed: a whole number from 1 to 65535/],
    ['a VM workload with an unknown protocol', { 'meshscope:vmWorkloads': [{ name: 'checkoutservice', port: 5050, protocol: 'udp', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].protocol: got "udp"; allowed: grpc, http, tcp/],
    ['a VM workload listed twice', { 'meshscope:vmWorkloads': [{ name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' }, { name: 'paymentservice', port: 50051, protocol: 'grpc', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads: got "paymentservice"; listed twice/],
    ['a VM workload that is not an Online Boutique service', { 'meshscope:vmWorkloads': [{ name: 'billing', port: 8080, protocol: 'http', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].name: got "billing"; allowed: an Online Boutique service others call and whose release image a VM runs: checkoutservice, paymentservice/],
    ['a VM workload on a port its service does not listen on', { 'meshscope:vmWorkloads': [{ name: 'shippingservice', port: 5050, protocol: 'grpc', machineType: 'e2-small' }] }, /^meshscope:vmWorkloads\[0\].port: got 5050; allowed: 50051, the port shippingservice listens on/],
    ['a settings object that is not JSON', { 'meshscope:cluster': '{nodeCount: 3' }, /^meshscope:cluster: got "\{nodeCount: 3"; expected an object of settings/],
  ];
  for (const [what, changes, message] of bad) {
    it(`rejects ${what}, naming the key, the value and what is allowed`, () => {
      const problems = problemsOf(devWith(changes));
      assert.ok(problems.some((p) => message.test(p)), `no problem matched ${message}:\n${problems.join('\n')}`);
    });
  }

  it('names the stack file the settings come from', () => {
    assert.throws(() => parseStackConfig(devWith({ 'meshscope:cluster.nodeCount': 0 }), 'dev'), (e: Error) => /^invalid stack configuration \(Pulumi\.dev\.yaml\):\n/.test(e.message));
  });

  it('reports every problem at once, in one message', () => {
    const raw = devWith({ 'gcp:project': undefined, 'meshscope:cluster.nodeCount': -1 });
    assert.throws(() => parseStackConfig(raw, 'dev'), (e: Error) => /gcp:project: missing/.test(e.message) && /nodeCount: got -1/.test(e.message));
  });

  it('accepts as many OAP replicas as nodes', () => {
    const c = parseStackConfig(devWith({ 'meshscope:observability.oapReplicas': 3 }), 'dev');
    assert.equal(c.observability.oapReplicas, 3);
  });

  it('sizes the pods range for the node count: a /22 holds 4 nodes, not 5', () => {
    assert.equal(parseStackConfig(devWith({ 'meshscope:network.podsCidr': '10.20.0.0/22', 'meshscope:cluster.nodeCount': 4 }), 'dev').network.podsCidr, '10.20.0.0/22');
    assert.ok(problemsOf(devWith({ 'meshscope:network.podsCidr': '10.20.0.0/22', 'meshscope:cluster.nodeCount': 5 })).some((p) => p.startsWith('meshscope:network.podsCidr')));
  });

  it('refuses a misspelt top-level key in the real program, which reads every meshscope: key Pulumi holds', async () => {
    await assert.rejects(runProgram({ stack: 'prod', config: { 'meshscope:clustr': { privateNodes: true } } }), /meshscope:clustr: unknown setting \(did you mean "meshscope:cluster"\?\)/);
  });

  it('does not repeat the value of an unknown top-level key, which may be a secret', () => {
    const problems = problemsOf(devWith({ 'meshscope:dbPasword': 'hunter2' }));
    assert.ok(problems.some((p) => p.startsWith('meshscope:dbPasword: unknown setting')));
    assert.ok(problems.every((p) => !p.includes('hunter2')));
  });

  it('leaves provider settings of the gcp namespace alone', () => {
    assert.equal(parseStackConfig({ ...stackFileConfig('dev'), 'gcp:impersonateServiceAccount': 'ci@p.iam.gserviceaccount.com' }, 'dev').gcp.zone, 'europe-west1-b');
  });

  it('stops the whole program before any resource is declared when the config is bad', async () => {
    await assert.rejects(runProgram({ stack: 'dev', config: { 'gcp:zone': 'mars-1a' } }), /gcp:zone: got "mars-1a"/);
  });
});
