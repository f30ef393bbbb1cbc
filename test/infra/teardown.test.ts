// `pulumi destroy` deletes a resource only after everything that depends on it (explicitly, through an
// input, or through its provider) is gone. These tests read that order from the recorded program: what
// must go first so that the network can be deleted last, and nothing GKE made is left holding it.
import { strict as assert } from 'node:assert';
import { ProgramRun, RecordedResource, runProgram } from './harness';

/** Everything `r` depends on, transitively: explicit and input dependencies, its provider, and theirs. */
function dependencies(run: ProgramRun, r: RecordedResource): Set<string> {
  const seen = new Set<string>();
  const stack = [r];
  while (stack.length) {
    const x = stack.pop()!;
    const next = [...x.dependsOn, ...(run.providerOf(x) ? [run.providerOf(x)!.urn] : [])];
    for (const urn of next) {
      if (seen.has(urn)) continue;
      seen.add(urn);
      const dep = run.resources.find((y) => y.urn === urn);
      // A component stands for its children: depending on it is depending on each of them.
      if (dep) stack.push(dep, ...run.resources.filter((c) => c.parent === urn));
    }
  }
  return seen;
}

/** Pulumi deletes `first` before `then` when `first` depends on `then`. */
function deletedBefore(run: ProgramRun, first: RecordedResource, then: RecordedResource): boolean {
  return dependencies(run, first).has(then.urn);
}

describe('teardown order (pulumi destroy)', () => {
  const runs: Record<string, ProgramRun> = {};
  before(async () => {
    for (const stack of ['dev', 'prod']) runs[stack] = await runProgram({ stack });
  });

  for (const stack of ['dev', 'prod']) {
    describe(stack, () => {
      const run = () => runs[stack];
      const one = (type: string) => run().one(type);

      it('deletes every Kubernetes object and Helm release before the node pool and the cluster', () => {
        const cluster = one('gcp:container/cluster:Cluster');
        const pool = one('gcp:container/nodePool:NodePool');
        const inCluster = run().resources.filter((r) => r.custom && !r.read && r.type.startsWith('kubernetes:'));
        assert.ok(inCluster.length > 40);
        for (const r of inCluster) {
          assert.ok(deletedBefore(run(), r, pool), `${r.type} ${r.name} goes before the nodes`);
          assert.ok(deletedBefore(run(), r, cluster), `${r.type} ${r.name} goes before the cluster`);
        }
        assert.ok(!deletedBefore(run(), cluster, inCluster[0]), 'the cluster outlives what runs in it');
      });

      it('deletes each LoadBalancer Service of its own before the reserved address it holds', () => {
        const lbs = run().ofType('kubernetes:core/v1:Service').filter((s) => s.inputs.spec?.type === 'LoadBalancer');
        const addresses = run().ofType('gcp:compute/address:Address');
        for (const svc of lbs.filter((s) => s.inputs.spec.loadBalancerIP)) {
          const address = addresses.find((a) => a.state.address === svc.inputs.spec.loadBalancerIP);
          assert.ok(address, `${svc.name}'s address is reserved by the stack`);
          assert.ok(deletedBefore(run(), svc, address!), `${svc.name} goes before ${address!.name}`);
        }
      });

      it('deletes the cluster, the VMs and every reserved address before the subnet and the network', () => {
        const network = one('gcp:compute/network:Network');
        const subnet = one('gcp:compute/subnetwork:Subnetwork');
        const users = ['gcp:container/cluster:Cluster', 'gcp:compute/instance:Instance', 'gcp:compute/address:Address']
          .flatMap((t) => run().ofType(t));
        for (const r of users) {
          assert.ok(deletedBefore(run(), r, subnet), `${r.type} ${r.name} goes before the subnet`);
          assert.ok(deletedBefore(run(), r, network), `${r.type} ${r.name} goes before the network`);
        }
        // And not the other way round: the order is a real one, not everything depending on everything.
        assert.ok(!deletedBefore(run(), network, one('gcp:container/cluster:Cluster')), 'the network outlives the cluster');
        for (const r of ['gcp:compute/firewall:Firewall', 'gcp:compute/router:Router', 'gcp:compute/routerNat:RouterNat'].flatMap((t) => run().ofType(t))) {
          assert.ok(deletedBefore(run(), r, network), `${r.type} ${r.name} goes before the network`);
        }
      });

      it('asks GKE for no network endpoint groups, which a Service deletion would not remove', () => {
        const cluster = one('gcp:container/cluster:Cluster');
        assert.notEqual(cluster.inputs.enableL4IlbSubsetting, true, 'L4 ILB subsetting makes GKE create GCE_VM_IP NEGs');
        for (const svc of run().ofType('kubernetes:core/v1:Service')) {
          assert.equal(svc.inputs.metadata?.annotations?.['cloud.google.com/neg'], undefined, `${svc.name} asks for a NEG`);
        }
      });
    });
  }

  it('protects prod\'s cluster from deletion, and not dev\'s', () => {
    assert.equal(runs.prod.one('gcp:container/cluster:Cluster').inputs.deletionProtection, true);
    assert.equal(runs.dev.one('gcp:container/cluster:Cluster').inputs.deletionProtection, false);
  });
});
