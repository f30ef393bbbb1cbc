// Runs the check table against one stack and prints one line per check, plus the next step under a failure.
import { CLUSTER_CHECKS, VM_CHECKS, type CheckRow, type Outcome } from './checks';
import type { Sources } from './sources';

export interface CheckLine { name: string; status: 'PASS' | 'FAIL' | 'SKIP'; detail: string; hint?: string }

async function runRow<S>(row: CheckRow<S>, src: Sources, subject: S): Promise<CheckLine> {
  const name = row.name(subject);
  let outcome: Outcome;
  try {
    outcome = await row.rule(src, subject);
  } catch (err) {
    // The read failed: the check fails with what went wrong and the row's own next step.
    return { name, status: 'FAIL', detail: (err as Error).message, hint: row.hint(subject) };
  }
  if ('skipped' in outcome) return { name, status: 'SKIP', detail: outcome.skipped };
  return outcome.ok ? { name, status: 'PASS', detail: outcome.detail } : { name, status: 'FAIL', detail: outcome.detail, hint: outcome.hint };
}

/** Every row, VM rows once per VM; reads run concurrently, lines come back in table order. */
export function runChecks(src: Sources): Promise<CheckLine[]> {
  return Promise.all([
    ...src.ctx.outputs.vms.flatMap((vm) => VM_CHECKS.map((row) => runRow(row, src, vm))),
    ...CLUSTER_CHECKS.map((row) => runRow(row, src, null)),
  ]);
}

export function formatLines(lines: readonly CheckLine[]): string {
  const out = lines.map((l) => `${l.status}  ${l.name} — ${l.detail}${l.hint ? `\n      next: ${l.hint}` : ''}`);
  const n = (s: CheckLine['status']) => lines.filter((l) => l.status === s).length;
  out.push(`${n('PASS')} passed, ${n('FAIL')} failed, ${n('SKIP')} skipped`);
  return out.join('\n') + '\n';
}
