/**
 * The one declaration of Bulwark's topics (contract section 1). Provisioning, services and tests all take
 * names from here; a prefix isolates a test's topics from every other's.
 */
export interface TopicNames {
  auth: string;
  wallet: string;
  flags: string;
  control: string;
  audit: string;
  dlq(topic: string): string;
}

export function topicNames(prefix = ''): TopicNames {
  return {
    auth: `${prefix}auth.events.v1`,
    wallet: `${prefix}wallet.events.v1`,
    flags: `${prefix}risk.flags.v1`,
    control: `${prefix}withdrawals.control.v1`,
    audit: `${prefix}withdrawals.audit.v1`,
    dlq: (topic: string) => `${topic}.dlq`,
  };
}

/**
 * The largest dead-letter record (key and value) Bulwark writes: it holds any value within the default
 * 64 KiB limit whole, even one whose JSON escaping makes six bytes of each; bigger values go to the DLQ as
 * an excerpt with their size and SHA-256 (libs/events/dead-letter.ts).
 */
export const DLQ_LETTER_MAX_BYTES = 512 * 1024;
/**
 * `max.message.bytes` of every DLQ topic: the largest letter plus record-batch overhead, stated on the topic
 * so that a broker whose default is lower still takes every letter. Start-up refuses a smaller one.
 */
export const DLQ_MAX_MESSAGE_BYTES = DLQ_LETTER_MAX_BYTES + 64 * 1024;

export interface TopicDeclaration {
  topic: string;
  numPartitions: number;
  configEntries: { name: string; value: string }[];
  /** Numeric settings an existing topic must have at least; ensureTopics refuses a topic below them. */
  minimums?: Record<string, number>;
}

/**
 * Both input topics get the same partition count so that a user's auth and wallet events (keyed by userId,
 * murmur2 as Java and kafkajs partition) land on the same partition number.
 */
export function topicDeclarations(names: TopicNames, partitions: number): TopicDeclaration[] {
  const plain = (topic: string, numPartitions = partitions): TopicDeclaration => ({
    topic,
    numPartitions,
    configEntries: [],
  });
  const dlq = (source: string): TopicDeclaration => ({
    topic: names.dlq(source),
    numPartitions: 1,
    configEntries: [{ name: 'max.message.bytes', value: String(DLQ_MAX_MESSAGE_BYTES) }],
    minimums: { 'max.message.bytes': DLQ_MAX_MESSAGE_BYTES },
  });
  return [
    plain(names.auth),
    plain(names.wallet),
    plain(names.flags),
    {
      topic: names.control,
      numPartitions: 1,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'min.cleanable.dirty.ratio', value: '0.1' },
        { name: 'segment.ms', value: '3600000' },
      ],
    },
    {
      // The audit trail's durable copy: never deleted, one partition so the topic holds the chain in order.
      topic: names.audit,
      numPartitions: 1,
      configEntries: [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: '-1' },
        { name: 'retention.bytes', value: '-1' },
      ],
    },
    dlq(names.auth),
    dlq(names.wallet),
    dlq(names.flags),
  ];
}
