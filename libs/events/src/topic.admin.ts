import type { Admin } from 'kafkajs';

export interface EnsureTopicsOptions {
  /** -1 lets the broker decide (default.replication.factor). */
  replicationFactor?: number;
  /** Per-topic settings, e.g. `{ 'retention.ms': '604800000' }`. */
  config?: Record<string, string>;
  /** How long to wait for every partition to have a leader. */
  timeoutMs?: number;
}

const leaderPollMs = 100;

/**
 * Creates the topics that do not exist yet and waits until every partition of every named topic
 * has a leader: producing or joining a group before that fails with LEADER_NOT_AVAILABLE.
 * Existing topics are left alone (never re-partitioned: that would move keys between partitions).
 */
export async function ensureTopics(
  admin: Admin,
  names: readonly string[],
  partitions = 3,
  options: EnsureTopicsOptions = {},
): Promise<void> {
  const unique = [...new Set(names)];
  if (unique.length === 0) return;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const configEntries = Object.entries(options.config ?? {}).map(([name, value]) => ({ name, value }));
  // Only the missing ones: asking the broker to create an existing topic makes kafkajs log an error.
  // (Another process may still create one meanwhile: createTopics then answers false, which is fine.)
  const existing = new Set(await admin.listTopics());
  const missing = unique.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    await createMissing(admin, missing, partitions, options.replicationFactor ?? -1, configEntries, timeoutMs);
  }
  await waitForLeaders(admin, unique, timeoutMs);
}

async function createMissing(
  admin: Admin,
  missing: string[],
  partitions: number,
  replicationFactor: number,
  configEntries: { name: string; value: string }[],
  timeoutMs: number,
): Promise<void> {
  // createTopics may return before the new topics' leaders exist; ensureTopics waits for them after.
  await admin.createTopics({
    waitForLeaders: true,
    timeout: timeoutMs,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor,
      configEntries,
    })),
  });
}

async function waitForLeaders(admin: Admin, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem: string;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      const leaderless = topics.flatMap((t) =>
        t.partitions.length === 0 ? [`${t.name}/*`] : t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}/${p.partitionId}`),
      );
      if (leaderless.length === 0 && topics.length === names.length) return;
      lastProblem = `partitions without a leader: ${leaderless.join(', ')}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(`ensureTopics: topics not ready after ${timeoutMs} ms (${lastProblem})`);
    }
    // Metadata propagates within milliseconds on a healthy cluster; poll rather than guess.
    await new Promise((resolve) => setTimeout(resolve, leaderPollMs));
  }
}
