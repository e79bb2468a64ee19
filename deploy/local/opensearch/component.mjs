// OpenSearch 2.19.6, single node on 127.0.0.1:9200 (HTTP) / 9300 (transport).
// The server jars are fetched from Maven Central with this folder's pom.xml into .infra/opensearch/lib
// (Maven's own cache: .infra/m2), Launcher.java is compiled once into .infra/opensearch/classes, and
// the launcher runs the node in the foreground (it subclasses org.opensearch.node.Node and passes the
// plugin classes directly: no distribution layout, security manager or jar-hell check).
// Data streams are part of OpenSearch core: no extra module is needed for them.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkJava, fetchJars, jdkBin, outputTail, sha256 } from '../jvm.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const POM = path.join(HERE, 'pom.xml');
const LAUNCHER = path.join(HERE, 'Launcher.java');
const LOG4J2 = path.join(HERE, 'config', 'log4j2.properties');
const HOST = '127.0.0.1';
const HTTP_PORT = 9200;
const TRANSPORT_PORT = 9300;
const DEFAULT_ENDPOINT = `http://${HOST}:${HTTP_PORT}`;

function fetchServerJars(ctx) {
  return fetchJars(ctx, {
    pom: POM,
    who: 'OpenSearch 2.19.6',
    expect: ['opensearch-2.19.6.jar', 'transport-netty4-client-2.19.6.jar', 'log4j-core-'],
    size: '~50 MB',
  });
}

/** Compiles Launcher.java into <dir>/classes unless the same source was compiled already. */
function compileLauncher(ctx) {
  const classes = path.join(ctx.dir, 'classes');
  const stampFile = path.join(classes, '.launcher-sha256');
  const stamp = sha256(LAUNCHER, path.join(ctx.dir, 'lib', '.pom-sha256'));
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  const javac = jdkBin(ctx.env, 'javac');
  ctx.progress('compiling the OpenSearch launcher');
  rmSync(classes, { recursive: true, force: true });
  mkdirSync(classes, { recursive: true });
  const res = spawnSync(javac, ['-d', classes, '-cp', `${path.join(ctx.dir, 'lib')}${path.sep}*`, LAUNCHER], {
    encoding: 'utf8',
    env: ctx.env,
  });
  if (res.error) {
    throw new Error(
      `\`${javac}\` could not run (${res.error.code ?? res.error.message}): OpenSearch's launcher needs a JDK, not only a JRE. ` +
        `Install one (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.`,
    );
  }
  if (res.status !== 0) throw new Error(`javac ${LAUNCHER} failed:\n${outputTail(res)}`);
  writeFileSync(stampFile, stamp);
}

/** Node settings (the launcher's defaults are the same; passing them keeps this file the reference). */
export function nodeSettings(ctx) {
  return {
    'path.home': ctx.dir,
    'path.data': ctx.dataDir,
    'path.logs': path.join(ctx.dir, 'logs'),
    'cluster.name': 'aio-local',
    'node.name': 'aio-local-1',
    'discovery.type': 'single-node',
    'network.host': HOST,
    'http.port': String(HTTP_PORT),
    'transport.port': String(TRANSPORT_PORT),
    // Tests run on nearly full disks too: never turn indices read-only because of free space.
    'cluster.routing.allocation.disk.threshold_enabled': 'false',
    // Data streams are created on the first bulk `create` into a name matching a data-stream template.
    'action.auto_create_index': 'true',
  };
}

/** JVM flags of the distribution's jvm.options that matter outside its launcher, plus a small heap. */
function jvmArgs(ctx) {
  const heap = ctx.env.AIO_OPENSEARCH_HEAP || '512m';
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:-OmitStackTraceInFastThrow',
    '-Xss1m',
    '-Djava.awt.headless=true',
    '-Dfile.encoding=UTF-8',
    '-Djna.nosys=true',
    // OpenSearch's date handling relies on its own CalendarDataProvider (SPI) like its distribution.
    '-Djava.locale.providers=SPI,COMPAT',
    '-Dlog4j2.disable.jmx=true',
    '-Dlog4j.shutdownHookEnabled=false',
    '-Dio.netty.noUnsafe=true',
    '-Dio.netty.noKeySetOptimization=true',
    '-Dio.netty.recycler.maxCapacityPerThread=0',
    '-Dio.netty.allocator.numDirectArenas=0',
    `-Djava.io.tmpdir=${path.join(ctx.dir, 'tmp')}`,
  ];
}

/** fetch() refuses URLs with credentials: move them into an Authorization header. */
export function endpointRequest(endpoint, pathAndQuery) {
  const url = new URL(pathAndQuery, endpoint.endsWith('/') ? endpoint : `${endpoint}/`);
  const headers = {};
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url: url.toString(), headers };
}

export default {
  name: 'opensearch',
  ports: [HTTP_PORT, TRANSPORT_PORT],
  endpointEnv: 'SEARCH_URL',
  defaultEndpoint: DEFAULT_ENDPOINT,
  readyTimeoutMs: 120_000,

  async prepare(ctx) {
    checkJava(ctx.env, 'OpenSearch');
    fetchServerJars(ctx);
    compileLauncher(ctx);
    for (const d of ['config', 'modules', 'plugins', 'logs', 'tmp']) mkdirSync(path.join(ctx.dir, d), { recursive: true });
    mkdirSync(ctx.dataDir, { recursive: true });
    copyFileSync(LOG4J2, path.join(ctx.dir, 'config', 'log4j2.properties'));
  },

  spawnSpec(ctx) {
    const settings = Object.entries(nodeSettings(ctx)).map(([k, v]) => `${k}=${v}`);
    return {
      command: jdkBin(ctx.env, 'java'),
      args: [
        ...jvmArgs(ctx),
        '-cp',
        [path.join(ctx.dir, 'classes'), `${path.join(ctx.dir, 'lib')}${path.sep}*`].join(path.delimiter),
        'Launcher',
        ...settings,
      ],
      env: ctx.env,
      cwd: ctx.dir,
    };
  },

  async probe(ctx) {
    const endpoint = ctx.env?.SEARCH_URL || DEFAULT_ENDPOINT;
    const { url, headers } = endpointRequest(endpoint, '_cluster/health?wait_for_status=yellow&timeout=1s');
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
      if (!res.ok) return false;
      const body = await res.json();
      return body.status === 'green' || body.status === 'yellow';
    } catch {
      return false;
    }
  },
};
