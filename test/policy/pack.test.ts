// The pack as the Pulumi CLI sees it: every rule a mandatory policy, each wrapper reporting what its pure
// rule finds, and policy/index.ts starting the analyzer (it prints its loopback port, as the CLI expects).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from '@pulumi/policy';
import { CLUSTER, STACK } from '../../policy/gcp-types';
import { PACK_ARGS, POLICIES } from '../../policy/pack';
import { RESOURCE_RULES, STACK_RULES } from '../../policy/policies';
import { REPO_ROOT } from '../infra/harness';

const URN_PREFIX = 'urn:pulumi:dev::meshscope::';

function resourcePolicy(name: string): ResourceValidationPolicy {
  const p = POLICIES.find((x) => x.name === name);
  assert.ok(p && 'validateResource' in p, `no resource policy ${name}`);
  return p as ResourceValidationPolicy;
}

/** Calls a policy the way the analyzer does, collecting what it reports. */
async function runResourcePolicy(name: string, type: string, props: Record<string, any>, stack = 'dev'): Promise<string[]> {
  const reported: string[] = [];
  const args = { type, props, urn: `urn:pulumi:${stack}::meshscope::${type}::x`, name: 'x' } as ResourceValidationArgs;
  const validate = resourcePolicy(name).validateResource;
  for (const v of Array.isArray(validate) ? validate : [validate!]) await v(args, (m) => reported.push(m));
  return reported;
}

describe('policy pack', () => {
  it('holds one policy per rule, resource and stack rules alike', () => {
    assert.deepEqual(POLICIES.map((p) => p.name), [...RESOURCE_RULES, ...STACK_RULES].map((r) => r.name));
  });

  it('gives every policy a unique name', () => {
    assert.equal(new Set(POLICIES.map((p) => p.name)).size, POLICIES.length);
  });

  it('makes the pack and every policy mandatory (gke-authorized-networks too, since both stacks close the control plane)', () => {
    assert.equal(PACK_ARGS.enforcementLevel, 'mandatory');
    assert.deepEqual(POLICIES.filter((p) => p.enforcementLevel !== 'mandatory').map((p) => p.name), []);
    assert.deepEqual(RESOURCE_RULES.filter((r) => r.enforcement === 'advisory').map((r) => r.name), []);
  });

  it('reports what the rule finds, taking the stack for the label check from the URN', async () => {
    const props = { name: 'c', resourceLabels: { app: 'meshscope', stack: 'dev', 'managed-by': 'pulumi' } };
    assert.deepEqual(await runResourcePolicy('project-labels', CLUSTER, props, 'dev'), []);
    assert.deepEqual(await runResourcePolicy('project-labels', CLUSTER, props, 'prod'), ['resourceLabels.stack is "dev"; allowed: "prod"']);
  });

  it('leaves resources of types a policy does not read alone', async () => {
    assert.deepEqual(await runResourcePolicy('dedicated-service-accounts', 'gcp:compute/network:Network', { name: 'vpc' }), []);
  });

  it('judges the outputs of the root stack resource in the stack policy, against its URN', async () => {
    const policy = POLICIES.find((p) => p.name === 'no-secret-outputs') as StackValidationPolicy;
    const root = { type: STACK, urn: `${URN_PREFIX}${STACK}::meshscope-dev`, props: { clusterName: 'c', dbPassword: 'hunter2' } } as unknown as PolicyResource;
    const child = { type: STACK, urn: `${URN_PREFIX}child`, props: { apiToken: 'not the root' }, parent: root } as unknown as PolicyResource;
    const reported: { message: string; urn?: string }[] = [];
    await policy.validateStack({ resources: [root, child] } as unknown as StackValidationArgs, (message, urn) => reported.push({ message, urn }));
    assert.deepEqual(reported, [{ message: 'stack output "dbPassword" is named like a credential ("password"); allowed: no credentials in outputs (export a Secret Manager secret id instead)', urn: root.urn }]);
  });

  it('starts its analyzer from policy/index.ts and announces a port, as the Pulumi CLI expects', async function () {
    this.timeout(30000);
    const dir = path.join(REPO_ROOT, 'policy');
    const child = spawn(process.execPath, ['--import', 'tsx', 'index.ts'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no port announced in 25 s; stderr: ${err}`)), 25000);
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) { clearTimeout(timer); resolve(out.split('\n')[0]); }
        });
        child.stderr.on('data', (d) => { err += d; });
        child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code}; stderr: ${err}`)); });
      });
      assert.match(firstLine, /^\d+$/);
      assert.ok(Number(firstLine) > 0 && Number(firstLine) < 65536);
    } finally {
      child.kill();
    }
  });
});
