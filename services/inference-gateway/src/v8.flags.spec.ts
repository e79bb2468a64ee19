import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Objects from one literal site that all stay alive: V8 decides to allocate that site in the old
// generation, which --trace-pretenuring-statistics reports as "=> tenure". Small semi-spaces make the
// scavenges (where V8 decides) many; with its default ones it decided in 13 runs of 20, with 1 MiB in 60 of 60.
const WORKLOAD = 'const keep = []; const make = (i) => ({ i, list: [i] }); for (let i = 0; i < 2e6; i++) keep.push(make(i));';

function pretenuringDecisions(preload: string[]): string[] {
  const out = execFileSync(process.execPath, ['--trace-pretenuring-statistics', '--max-semi-space-size=1', ...preload, '-e', WORKLOAD], { encoding: 'utf8', timeout: 60_000 });
  return out.split('\n').filter((line) => line.includes('=> tenure'));
}

describe('the gateway process V8 settings (v8.flags.ts)', () => {
  it('turns allocation-site pretenuring off for the process that imports it', () => {
    // Control: without the module V8 does pretenure this workload, so the assertion below can fail.
    expect(pretenuringDecisions([]).length).toBeGreaterThan(0);
    expect(pretenuringDecisions(['--import', new URL('./v8.flags.ts', import.meta.url).href])).toEqual([]);
  });
});
