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
  // createTopics answers false when all of them already existed and throws for anything else;
  // when only some existed it returns early without waiting for the new ones' leaders, hence the
  // explicit wait below in every case.
  await admin.createTopics({
    waitForLeaders: true,
    timeout: timeoutMs,
    topics: unique.map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: options.replicationFactor ?? -1,
      configEntries,
    })),
  });
  await waitForLeaders(admin, unique, timeoutMs);
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
