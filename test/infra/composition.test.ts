import { strict as assert } from 'node:assert';
import { ProgramRun, runProgram } from './harness';

describe('composition', () => {
  const runs: Record<string, ProgramRun> = {};
  before(async () => {
    for (const stack of ['dev', 'prod']) runs[stack] = await runProgram({ stack });
  });

  for (const stack of ['dev', 'prod']) {
    it(`evaluates the whole ${stack} stack: every component with its resources`, () => {
      const components = runs[stack].resources.filter((r) => r.type.startsWith('meshscope:infra:')).map((r) => r.type).sort();
      assert.deepEqual(components, ['Boutique', 'Cluster', 'GoogleApis', 'Mesh', 'Network', 'NetworkPolicies', 'Observability', 'VmWorkloads'].map((c) => `meshscope:infra:${c}`));
      assert.ok(runs[stack].resources.length > 80, `${runs[stack].resources.length} resources`);
    });

    it(`parents every ${stack} resource to its component and gives it the right provider`, () => {
      const run = runs[stack];
      const gcpProvider = run.one('pulumi:providers:gcp');
      const k8sProvider = run.one('pulumi:providers:kubernetes');
      for (const r of run.resources.filter((x) => x.custom && !x.type.startsWith('pulumi:providers:'))) {
        assert.ok(r.parent && run.byUrn(r.parent).type.startsWith('meshscope:infra:'), `${r.type} ${r.name} is parented to a component`);
        const expected = r.type.startsWith('kubernetes:') ? k8sProvider : r.type.startsWith('gcp:') ? gcpProvider : undefined;
        if (expected) assert.equal(run.providerOf(r)?.urn, expected.urn, `${r.type} ${r.name} uses ${expected.name}`);
      }
    });
  }

  it('creates nothing in the cluster through a provider other than the one built from the cluster outputs', () => {
    const providers = runs.dev.ofType('pulumi:providers:kubernetes');
    assert.equal(providers.length, 1);
    assert.equal(providers[0].parent, runs.dev.one('meshscope:infra:Cluster').urn);
  });
});
