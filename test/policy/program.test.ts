// The real program, for every stack file, judged by every policy of the pack: no violations. The walk is
// over every resource the program registers, so components added later (VMs, images, secrets) are judged
// as soon as they exist.
import { strict as assert } from 'node:assert';
import { RESOURCE_RULES, STACK_RULES } from '../../policy/policies';
import { appliesTo, stackOfUrn, violations } from '../../policy/rule';
import { ensureHelm } from '../../tools/packaged-binaries';
import { ProgramRun, runProgram } from '../infra/harness';
import { stackFileNames } from './stacks';

function allViolations(run: ProgramRun, rule: (typeof RESOURCE_RULES)[number]): string[] {
  return run.resources.flatMap((r) =>
    violations(rule, r.type, r.inputs, { stack: stackOfUrn(r.urn) }).map((m) => `${r.type} ${r.name}: ${m}`));
}

/** Advisory findings the program is known to have, per rule, and why they are not fixed in the program yet: none. */
const KNOWN_ADVISORY: Record<string, string[]> = {};

describe('the program under the policy pack', () => {
  it('has stack files to judge (dev and prod at least)', () => {
    assert.ok(stackFileNames().includes('dev') && stackFileNames().includes('prod'), `found: ${stackFileNames().join(', ')}`);
  });

  for (const stack of stackFileNames()) {
    describe(`stack ${stack}`, () => {
      let run: ProgramRun;
      before(async () => {
        // The Kubernetes rules judge a Helm release by rendering its chart with the pinned helm.
        await ensureHelm();
        run = await runProgram({ stack });
      });

      it('records the stack in every URN, so the label policy knows which stack label to expect', () => {
        assert.deepEqual([...new Set(run.resources.map((r) => stackOfUrn(r.urn)))], [stack]);
      });

      for (const rule of RESOURCE_RULES) {
        it(`has something ${rule.name} judges, or is pending until such resources exist`, function () {
          const judged = run.resources.filter((r) => appliesTo(rule, r.type));
          if (judged.length === 0) this.skip();
          assert.ok(judged.length > 0);
        });

        if (rule.enforcement === 'advisory') {
          it(`has only the known advisory ${rule.name} findings`, () => {
            assert.deepEqual(allViolations(run, rule), KNOWN_ADVISORY[rule.name] ?? []);
          });
        } else {
          it(`violates no ${rule.name} policy`, () => {
            assert.deepEqual(allViolations(run, rule), []);
          });
        }
      }

      for (const rule of STACK_RULES) {
        it(`violates no ${rule.name} policy with its ${'outputs'}`, () => {
          assert.ok(Object.keys(run.outputs).length > 0, 'the program exports outputs');
          assert.deepEqual(rule.validate(run.outputs), []);
        });
      }
    });
  }
});
