// What the Java-based components (Kafka, OpenSearch) share: finding and checking the JDK and Maven,
// and fetching a pom's runtime jars from Maven Central into a cache folder.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const MIN_JAVA = 17;

/** `java` / `javac` from JAVA_HOME when set, else from PATH. */
export function jdkBin(env, tool = 'java') {
  return env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', tool) : tool;
}

/** Parses the major version out of `java -version` output ("17.0.15", "1.8.0_392", "21"). */
export function parseJavaMajor(text) {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(text);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] ? Number(m[2]) : first;
}

/** The java binary, or an actionable error naming who needs it. */
export function checkJava(env, who) {
  const java = jdkBin(env, 'java');
  const res = spawnSync(java, ['-version'], { encoding: 'utf8', env });
  if (res.error) {
    throw new Error(
      `${who} needs Java ${MIN_JAVA}+ but \`${java}\` could not run (${res.error.code ?? res.error.message}). ` +
        `Install a JDK (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.`,
    );
  }
  const major = parseJavaMajor(`${res.stderr}${res.stdout}`);
  if (major === undefined || major < MIN_JAVA) {
    throw new Error(
      `${who} needs Java ${MIN_JAVA}+, found ${major ?? 'an unknown version'} at \`${java}\`. ` +
        `Install openjdk-17 (or newer) and put it first on PATH or set JAVA_HOME.`,
    );
  }
  return java;
}

export function sha256(...files) {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex');
}

export function outputTail(res, lines = 30) {
  return `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Copies the runtime jars of `pom` into <ctx.dir>/lib (Maven's cache: .infra/m2), checking that each
 * of `expect` (file-name prefixes) arrived. A stamp of the pom makes reruns instant; the folder is
 * swapped in whole, so an interrupted fetch never leaves a half-filled lib.
 */
export function fetchJars(ctx, { pom, who, expect, size }) {
  const lib = path.join(ctx.dir, 'lib');
  const stampFile = path.join(lib, '.pom-sha256');
  const stamp = sha256(pom);
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return lib;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8', env: ctx.env });
  if (mvn.error || mvn.status !== 0) {
    throw new Error(
      `Fetching ${who} needs Maven (\`mvn\`) on PATH the first time, to download its jars from Maven Central. ` +
        'Install it (Debian/Ubuntu: apt-get install maven) and retry.',
    );
  }
  ctx.progress(`fetching ${who} jars from Maven Central (once, ${size})`);
  const tmp = `${lib}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const res = spawnSync(
    'mvn',
    ['-q', '-B', '-f', pom, `-Dmaven.repo.local=${path.join(ctx.root, '.infra', 'm2')}`, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`],
    { encoding: 'utf8', env: ctx.env, maxBuffer: 64 * 1024 * 1024 },
  );
  if (res.error || res.status !== 0) {
    throw new Error(
      `mvn dependency:copy-dependencies failed (exit ${res.status ?? res.error?.message}). ` +
        `Maven Central must be reachable; see Maven's output:\n${outputTail(res)}`,
    );
  }
  const jars = readdirSync(tmp);
  for (const want of expect) {
    if (!jars.some((f) => f.startsWith(want))) throw new Error(`Maven finished but ${tmp} holds no ${want}*: check ${pom}`);
  }
  writeFileSync(path.join(tmp, '.pom-sha256'), stamp);
  rmSync(lib, { recursive: true, force: true });
  renameSync(tmp, lib);
  return lib;
}
