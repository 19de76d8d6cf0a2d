import { httpServerSettings } from '../../libs/config/http';
import { kafkaSecurity, loadConfigOrExit, redisConnection } from '../../libs/config';
import { requireKafkaReachable, requireRedisReachable } from '../../libs/config/reachable';
import { ServiceHttp } from '../../libs/http/server';
import { componentLogger, rootLogger } from '../../libs/logger';
import { createRegistry } from '../../libs/metrics';
import { loadRulesConfig } from '../../libs/rules';
import { ConfigError, errorMessage } from '../../libs/errors';
import { detectorEnvSchema } from './config';
import { Detector } from './detector';

/** `node dist/services/detector/main.js`: the detector service. */
async function main(): Promise<void> {
  process.env.BULWARK_SERVICE ??= 'detector';
  const config = loadConfigOrExit(detectorEnvSchema);
  let rules;
  let httpSettings;
  try {
    httpSettings = httpServerSettings(config);
    rules = loadRulesConfig(config.BULWARK_RULES_CONFIG);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bulwark detector: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // An unreachable broker or Redis is one line naming the variable, not minutes of client retries.
  // Transport settings first: a bad one is a configuration error, whatever is reachable.
  kafkaSecurity(config);
  await requireKafkaReachable(config.BULWARK_KAFKA_BROKERS);
  await requireRedisReachable(redisConnection(config));
  const logger = rootLogger(config.BULWARK_LOG_LEVEL);
  const registry = createRegistry('detector');
  const detector = new Detector({
    config,
    rules,
    registry,
    logger,
    // The consumer crashed and could not be restarted: exit so that the supervisor starts a fresh process.
    onFatal: (err) => {
      logger.fatal({ err: errorMessage(err) }, 'detector cannot consume: exiting');
      process.exit(1);
    },
  });
  const http = new ServiceHttp({
    port: config.BULWARK_DETECTOR_PORT,
    host: config.BULWARK_DETECTOR_HOST,
    registry,
    logger: componentLogger('http', logger),
    ready: () => detector.readiness(),
    ...httpSettings,
  });

  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(130);
    logger.info({ signal }, 'shutting down: finishing the batch in hand');
    void Promise.all([detector.stop(), http.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const port = await http.listen();
  logger.info({ port }, 'http listening');
  await detector.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`bulwark detector: ${errorMessage(err)}\n`);
  process.exit(1);
});
