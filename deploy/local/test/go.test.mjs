// go.mjs's up-to-date check (what decides whether a Go build, and its module downloads, happens at all)
// and the h2spec tool's pin. No Go needed: a build that is up to date must not even look for `go`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGoBinary, isUpToDate, sourceHash } from '../go.mjs';
import { h2spec } from '../h2spec/tool.mjs';

const dirs = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A module folder (go.mod, go.sum, main.go) and, with `binary`, a built program; mtimes in seconds. */
function fixture({ sources, binary }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aio-go-test-'));
  dirs.push(dir);
  const src = path.join(dir, 'src');
  const bin = path.join(dir, 'bin', 'prog');
  mkdirSync(src);
  for (const [f, text] of [['go.mod', 'module example.com/prog\n'], ['go.sum', ''], ['main.go', 'package main\n']]) {
    writeFileSync(path.join(src, f), text);
    utimesSync(path.join(src, f), sources, sources);
  }
  if (binary !== undefined) {
    mkdirSync(path.dirname(bin));
    writeFileSync(bin, 'binary');
    utimesSync(bin, binary, binary);
  }
  return { dir, src, bin };
}

const ARGS = ['-trimpath', '-ldflags', '-s -w'];

test('isUpToDate: missing binary, binary newer than the sources, sources newer without a stamp', () => {
  const missing = fixture({ sources: 1000 });
  assert.equal(isUpToDate(missing.bin, missing.src, ARGS), false);
  const fresh = fixture({ sources: 1000, binary: 2000 });
  assert.equal(isUpToDate(fresh.bin, fresh.src, ARGS), true);
  const stale = fixture({ sources: 2000, binary: 1000 });
  assert.equal(isUpToDate(stale.bin, stale.src, ARGS), false);
});

test('isUpToDate: a fresh checkout (new mtimes) with a stamp of the same sources and arguments is up to date', () => {
  const f = fixture({ sources: 2000, binary: 1000 });
  writeFileSync(`${f.bin}.sources-sha256`, `${sourceHash(f.src, ARGS)}\n`);
  assert.equal(isUpToDate(f.bin, f.src, ARGS), true);
  assert.equal(isUpToDate(f.bin, f.src, [...ARGS, '-tags', 'x']), false, 'other build arguments: rebuild');
  writeFileSync(path.join(f.src, 'main.go'), 'package main // changed\n');
  assert.equal(isUpToDate(f.bin, f.src, ARGS), false, 'changed sources: rebuild');
});

/** buildGoBinary for a fixture, with no go on PATH. */
function buildWithoutGo(f, progress) {
  return buildGoBinary({
    name: 'prog',
    root: f.dir,
    env: { PATH: '' },
    srcDir: f.src,
    bin: f.bin,
    buildArgs: ARGS,
    minGo: [1, 24],
    announce: () => 'building',
    label: 'compiling',
    progress,
  });
}

test('buildGoBinary does not look for go when the binary is up to date', async () => {
  const f = fixture({ sources: 1000, binary: 2000 });
  const progress = [];
  // No go on PATH: any attempt to build would throw.
  const built = await buildWithoutGo(f, (msg) => progress.push(msg));
  assert.equal(built, false);
  assert.deepEqual(progress, []);
});

test('buildGoBinary names what to install when go is missing', async () => {
  const f = fixture({ sources: 2000, binary: 1000 });
  await assert.rejects(
    buildWithoutGo(f, () => {}),
    /^Error: prog: the 'go' command was not found .*install Go >= 1\.24/,
  );
});

test('h2spec: the pinned version comes from go.mod, the binary lives under .infra/h2spec/bin', () => {
  assert.equal(h2spec.version, '2.2.1');
  assert.equal(h2spec.binPath('/repo'), '/repo/.infra/h2spec/bin/h2spec');
});
