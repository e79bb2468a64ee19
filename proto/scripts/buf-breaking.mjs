// `buf breaking` against the contracts as they were before this change. The baseline is main for a
// feature branch, HEAD for uncommitted edits on main, and HEAD~1 for a clean main (CI after a merge).
// Passes quietly when the baseline has no proto/ yet: the commit that introduces it breaks nothing.
// BUF_BREAKING_AGAINST=<git ref> overrides the choice.
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';

const git = (...args) => {
  const r = spawnSync('git', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

const top = git('rev-parse', '--show-toplevel');
if (!top) {
  console.log('buf breaking: not in a git checkout, skipped');
  process.exit(0);
}
const subdir = relative(top, process.cwd()) || '.';
const branch = git('rev-parse', '--abbrev-ref', 'HEAD');
const dirty = (git('status', '--porcelain', '--', '.') ?? '') !== '';
const against =
  process.env.BUF_BREAKING_AGAINST ??
  (branch !== 'main' && git('rev-parse', '--verify', '--quiet', 'main') ? 'main' : dirty ? 'HEAD' : 'HEAD~1');

if (git('cat-file', '-e', `${against}:${subdir}/buf.yaml`) === undefined) {
  console.log(`buf breaking: ${against} has no ${subdir}/buf.yaml, nothing to compare, skipped`);
  process.exit(0);
}
const gitDir = relative(process.cwd(), `${top}/.git`);
console.log(`buf breaking against ${against}`);
// The pinned buf, so the script also works when run with plain `node`.
const buf = join(import.meta.dirname, '..', 'node_modules', '.bin', 'buf');
const run = spawnSync(buf, ['breaking', '--against', `${gitDir}#ref=${against},subdir=${subdir}`], { stdio: 'inherit' });
process.exit(run.status ?? 1);
