// The pack is self-contained (it runs as its own program under the Pulumi CLI), so the facts it shares with
// infra/ are written twice; these tests keep the two copies equal, and keep the label table in step with
// @pulumi/gcp's declarations for every GCP type the program uses.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { IAP_RANGE as INFRA_IAP_RANGE, projectLabels as infraProjectLabels } from '../../infra/naming';
import { Network, PUBLIC_ENTRY_POINT_MARK as INFRA_MARK } from '../../infra/network';
import { PUBLIC_ENTRY_POINT_MARK } from '../../policy/firewall';
import { IAP_RANGE } from '../../policy/firewall-ssh';
import { noWorldOpenFirewall } from '../../policy/firewall-world';
import { FIREWALL } from '../../policy/gcp-types';
import { LABELLED_TYPES, requiredLabels } from '../../policy/labels';
import { violations } from '../../policy/rule';
import { REPO_ROOT, runProgram } from '../infra/harness';
import { stackFileNames } from './stacks';

const GCP_PACKAGE = path.join(REPO_ROOT, 'node_modules', '@pulumi', 'gcp');
const LABEL_INPUTS = ['labels', 'resourceLabels'];

/** The top-level label inputs `<Type>Args` declares in @pulumi/gcp, for a token like `gcp:compute/instance:Instance`. */
function declaredLabelInputs(token: string): string[] {
  const m = /^gcp:([^/]+)\/([^:]+):(.+)$/.exec(token);
  if (!m) throw new Error(`not a GCP type token: ${token}`);
  const [, module, file, resource] = m;
  const dir = path.join(GCP_PACKAGE, module);
  const dts = fs.readdirSync(dir).find((f) => f.toLowerCase() === `${file.toLowerCase()}.d.ts`);
  if (!dts) throw new Error(`no declaration for ${token} in ${dir}`);
  const text = fs.readFileSync(path.join(dir, dts), 'utf8');
  const start = text.indexOf(`export interface ${resource}Args {`);
  if (start < 0) throw new Error(`no ${resource}Args in ${dts}`);
  const body = text.slice(start, text.indexOf('\n}', start));
  return LABEL_INPUTS.filter((input) => new RegExp(`^ {4}${input}\\?:`, 'm').test(body));
}

describe('policy pack agreement with the program', () => {
  it('allows SSH from the same IAP range the firewall table uses', () => {
    assert.equal(IAP_RANGE, INFRA_IAP_RANGE);
  });

  for (const stack of [...stackFileNames(), 'Staging.EU']) {
    it(`requires exactly the labels the program gives a resource of stack ${stack}`, () => {
      assert.deepEqual(requiredLabels(stack), infraProjectLabels(stack));
    });
  }

  it('recognises a public entry point by the same description mark network.ts writes', () => {
    assert.equal(PUBLIC_ENTRY_POINT_MARK, INFRA_MARK);
  });

  it('accepts the firewall rule network.ts declares for a public entry point open to 0.0.0.0/0', async () => {
    const firewalls: Record<string, any>[] = [];
    await pulumi.runtime.setMocks({
      newResource: (args) => {
        if (args.type === FIREWALL) firewalls.push(args.inputs);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    }, 'meshscope', 'dev', false);
    const net = new Network('n', {
      stack: 'dev', region: 'europe-west1', subnetCidr: '10.10.0.0/20', podsCidr: '10.20.0.0/14', servicesCidr: '10.24.0.0/20', masterCidr: '172.16.0.32/28',
      firewall: [{ name: 'frontend-lb', why: 'the shop is public', sources: [{ cidr: '0.0.0.0/0', label: 'internet' }], targets: ['node'], tcpPorts: [80], publicEntryPoint: true }],
    });
    await new Promise((resolve) => net.firewallRules[0].urn.apply(resolve));
    assert.equal(firewalls.length, 1);
    assert.deepEqual(firewalls[0].sourceRanges, ['0.0.0.0/0']);
    assert.deepEqual(violations(noWorldOpenFirewall, FIREWALL, firewalls[0]), []);
    // The same rule without the mark is what the policy refuses.
    assert.equal(violations(noWorldOpenFirewall, FIREWALL, { ...firewalls[0], description: 'the shop is public' }).length, 1);
  });

  it('lists every label input the table names as declared by @pulumi/gcp', () => {
    const wrong = Object.entries(LABELLED_TYPES)
      .filter(([type, input]) => !input.includes('.') && !declaredLabelInputs(type).includes(input))
      .map(([type, input]) => `${type}.${input}`);
    assert.deepEqual(wrong, []);
  });

  for (const stack of stackFileNames()) {
    it(`knows the label input of every labellable GCP type the ${stack} stack declares`, async () => {
      const run = await runProgram({ stack });
      const types = [...new Set(run.resources.map((r) => r.type).filter((t) => t.startsWith('gcp:') && !t.startsWith('pulumi:providers:')))];
      assert.ok(types.length > 0);
      const missing = types.filter((t) => declaredLabelInputs(t).length > 0 && !(t in LABELLED_TYPES));
      assert.deepEqual(missing, [], 'add these types and their label input to policy/labels.ts LABELLED_TYPES');
    });
  }
});
