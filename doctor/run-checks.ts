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

/** The line of a failed or skipped prerequisite names the root cause: the failed row itself, or what it skipped for. */
function because(prerequisite: CheckLine): string {
  return prerequisite.status === 'SKIP' ? prerequisite.detail : `because ${prerequisite.name} failed`;
}

/**
 * Every row, VM rows once per VM; reads run concurrently, lines come back in table order. A row waits for the rows it
 * needs (`needs`) and is skipped, naming the failed one, unless they all passed: one root cause, one FAIL.
 */
export function runChecks(src: Sources): Promise<CheckLine[]> {
  const clusterIds = new Set(CLUSTER_CHECKS.map((r) => r.id));
  const lines = new Map<string, Promise<CheckLine>>();
  const run = <S>(row: CheckRow<S>, subject: S, key: string): Promise<CheckLine> => {
    const id = `${row.id}|${key}`;
    if (!lines.has(id)) {
      lines.set(id, (async () => {
        for (const need of row.needs ?? []) {
          const prerequisite = clusterIds.has(need)
            ? await run(CLUSTER_CHECKS.find((r) => r.id === need)!, null, '')
            : await run(VM_CHECKS.find((r) => r.id === need)! as CheckRow<S>, subject, key);
          if (prerequisite.status !== 'PASS') return { name: row.name(subject), status: 'SKIP', detail: because(prerequisite) } as CheckLine;
        }
        return runRow(row, src, subject);
      })());
    }
    return lines.get(id)!;
  };
  return Promise.all([
    ...src.ctx.outputs.vms.flatMap((vm) => VM_CHECKS.map((row) => run(row, vm, vm.name))),
    ...CLUSTER_CHECKS.map((row) => run(row, null, '')),
  ]);
}

export function formatLines(lines: readonly CheckLine[]): string {
  const out = lines.map((l) => `${l.status}  ${l.name} — ${l.detail}${l.hint ? `\n      next: ${l.hint}` : ''}`);
  const n = (s: CheckLine['status']) => lines.filter((l) => l.status === s).length;
  out.push(`${n('PASS')} passed, ${n('FAIL')} failed, ${n('SKIP')} skipped`);
  return out.join('\n') + '\n';
}
