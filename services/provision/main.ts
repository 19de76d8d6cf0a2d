import { z } from 'zod';
import { commonEnvSchema, kafkaSecurity, loadConfigOrExit } from '../../libs/config';
import { requireKafkaReachable } from '../../libs/config/reachable';
import { KafkaClient, topicDeclarations, topicNames } from '../../libs/kafka';
import { componentLogger } from '../../libs/logger';

/** Creates the contract's topics (idempotent). Services run the same at start; this is the script form. */
async function main(): Promise<void> {
  const cfg = loadConfigOrExit(commonEnvSchema.extend({}) as z.ZodType<z.infer<typeof commonEnvSchema>>);
  const security = kafkaSecurity(cfg);
  await requireKafkaReachable(cfg.BULWARK_KAFKA_BROKERS);
  const logger = componentLogger('provision');
  const kafka = new KafkaClient({
    brokers: cfg.BULWARK_KAFKA_BROKERS,
    clientId: 'bulwark-provision',
    logger,
    security,
  });
  const decls = topicDeclarations(topicNames(cfg.BULWARK_TOPIC_PREFIX), cfg.BULWARK_PARTITIONS);
  try {
    const created = await kafka.ensureTopics(decls);
    logger.info({ created, declared: decls.map((d) => d.topic) }, 'topics provisioned');
  } finally {
    // The client's admin connection would otherwise keep the process alive.
    await kafka.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bulwark provision: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
