// Reads back the lines the doctor and preflight print (doctor/run-checks.ts formatLines): each check's
// status, detail and `next:` hint, by check name.
export interface Line { status: string; detail: string; next?: string }

export function parseLines(out: string): Map<string, Line> {
  const lines = new Map<string, Line>();
  let last: Line | undefined;
  for (const text of out.split('\n')) {
    const m = /^(PASS|FAIL|SKIP) {2}(.+?) — (.*)$/.exec(text);
    if (m) lines.set(m[2], (last = { status: m[1], detail: m[3] }));
    else if (text.startsWith('      next: ') && last) last.next = text.slice(12);
  }
  return lines;
}
