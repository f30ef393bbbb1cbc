// The GitHub workflows fill the chart cache (kept between runs per lock) before the tests, every preview and
// `up`, and each preview posts the object-level render diff of its stack.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../infra/harness';

type Step = { id?: string; if?: string; uses?: string; run?: string; with?: Record<string, string>; env?: Record<string, string> };
type Job = { steps?: Step[] };

const WORKFLOWS_DIR = path.join(REPO_ROOT, '.github', 'workflows');
const workflows = fs.readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.yml')).map((file) => ({
  file, jobs: (parse(fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8')) as { jobs: Record<string, Job> }).jobs,
}));
const ciRunFillsCache = /^npm run charts$/m.test(fs.readFileSync(path.join(REPO_ROOT, '.ci', 'run'), 'utf8'));

/** Every step that needs the charts: the test command, and Pulumi through the run script. */
const needsCharts = (s: Step) => s.run?.trim() === 'bash .ci/run' || /^bash \.github\/pulumi-run\.sh /.test(s.run?.trim() ?? '');

describe('chart cache in the workflows', () => {
  const users = workflows.flatMap((wf) => Object.entries(wf.jobs).flatMap(([name, job]) =>
    (job.steps ?? []).filter(needsCharts).map((step) => ({ at: `${wf.file}/${name}`, steps: job.steps!, step }))));

  it('finds the test command and the Pulumi steps', () => {
    assert.ok(users.some((u) => u.step.run === 'bash .ci/run') && users.some((u) => u.step.run?.includes('pulumi-run.sh preview')) && users.some((u) => u.step.run?.includes('pulumi-run.sh up')));
  });

  it('restores the cache, keyed on the lock, and fills and checks it before every step that reads charts', () => {
    for (const u of users) {
      const at = u.steps.indexOf(u.step);
      const cache = u.steps.findIndex((s) => s.uses?.startsWith('actions/cache@'));
      assert.ok(cache >= 0 && cache < at, `${u.at}: no actions/cache before ${u.step.run}`);
      assert.equal(u.steps[cache].with?.path, '.chart-cache', u.at);
      assert.match(String(u.steps[cache].with?.key), /hashFiles\('infra\/charts\.lock\.json'\)/, u.at);
      const fill = u.steps.findIndex((s) => s.run?.trim() === 'npm run charts');
      const filled = u.step.run === 'bash .ci/run' ? ciRunFillsCache : fill > cache && fill < at;
      assert.ok(filled, `${u.at}: npm run charts does not run between the cache and ${u.step.run}`);
    }
  });

  it('posts each preview\'s object-level diff against the pull request\'s base', () => {
    for (const u of users.filter((x) => x.step.run?.includes('pulumi-run.sh preview'))) {
      const diff = u.steps.find((s) => /^npm run render-diff -- --base "\$\{BASE_SHA\}" --stack "\$\{STACK\}"/.test(s.run ?? ''));
      assert.ok(diff?.id, `${u.at}: no render-diff step`);
      assert.equal(diff.env?.BASE_SHA, '${{ github.event.pull_request.base.sha }}');
      // Through the one-comment-per-stack script, as its own kind: edited in place on the next push.
      const post = u.steps.find((s) => /^bash \.github\/pr-comment\.sh .* objects$/.test(s.run?.trim() ?? '') && s.if?.includes(`steps.${diff.id}.outcome == 'success'`));
      assert.ok(post && u.steps.indexOf(post) > u.steps.indexOf(diff), `${u.at}: the render diff is not posted`);
      const checkout = u.steps.find((s) => s.uses?.startsWith('actions/checkout@'));
      assert.equal(String(checkout?.with?.['fetch-depth']), '0', `${u.at}: the base commit must be fetched to render it`);
    }
  });
});
