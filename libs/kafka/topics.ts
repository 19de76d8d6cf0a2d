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

export interface TopicDeclaration {
  topic: string;
  numPartitions: number;
  configEntries: { name: string; value: string }[];
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
    plain(names.dlq(names.auth), 1),
    plain(names.dlq(names.wallet), 1),
    plain(names.dlq(names.flags), 1),
  ];
}
