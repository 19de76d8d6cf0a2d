#!/usr/bin/env node
import { httpServerSettings } from '../../libs/config/http';
import { kafkaSecurity, loadConfigOrExit, redisConnection } from '../../libs/config';
import { requireKafkaReachable, requireRedisReachable } from '../../libs/config/reachable';
import { loadBreakerConfig } from '../../libs/breaker';
import { ConfigError, errorMessage } from '../../libs/errors';
import { rootLogger } from '../../libs/logger';
import { breakerEnvSchema } from './config';
import { JwtOperators, jwtSettingsFromEnv } from './jwt-operators';
import { OperatorFile, requireResumers } from './operator-file';
import { OperatorRegistry } from './operators';
import { startBreakerService, type RunningBreakerService } from './service';

/** `node dist/services/breaker/main.js`: the breaker service. Exit 1 with one line on bad configuration. */
function configOrExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bulwark breaker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  process.env.BULWARK_SERVICE ??= 'breaker';
  const env = loadConfigOrExit(breakerEnvSchema);
  const jwtSettings = configOrExit(() => jwtSettingsFromEnv(env));
  const jwt = jwtSettings ? configOrExit(() => new JwtOperators(jwtSettings)) : undefined;
  const operators = configOrExit(() => {
    const check = requireResumers(jwt !== undefined);
    if (env.BULWARK_OPERATORS_FILE && !env.BULWARK_OPERATORS)
      return OperatorFile.load(env.BULWARK_OPERATORS_FILE, check);
    // Inline (or none, with JWT operators): fixed for the life of the process.
    const ops = OperatorRegistry.fromEnv(env.BULWARK_OPERATORS, env.BULWARK_OPERATORS_FILE);
    check(ops);
    return ops;
  });
  const triggers = configOrExit(() => {
    try {
      return loadBreakerConfig(env.BULWARK_BREAKER_CONFIG);
    } catch (err) {
      if (err instanceof ConfigError && env.BULWARK_BREAKER_CONFIG !== undefined)
        throw new ConfigError(`BULWARK_BREAKER_CONFIG: ${err.message}`);
      throw err;
    }
  });
  configOrExit(() => httpServerSettings(env)); // a bad BULWARK_HTTP_* value or TLS file: stop before connecting
  // An unreachable broker or Redis is one line naming the variable, not minutes of client retries.
  // Transport settings first: a bad one is a configuration error, whatever is reachable.
  configOrExit(() => kafkaSecurity(env));
  const redisTarget = configOrExit(() => redisConnection(env));
  await requireKafkaReachable(env.BULWARK_KAFKA_BROKERS);
  await requireRedisReachable(redisTarget);
  const logger = rootLogger(env.BULWARK_LOG_LEVEL);

  const running: { service?: RunningBreakerService } = {};
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(130);
    logger.info({ signal }, 'shutting down (a second signal exits at once)');
    void (running.service?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP re-reads the operators file at once (it is also polled for changes).
  process.on('SIGHUP', () => {
    if (operators instanceof OperatorFile) operators.reload('SIGHUP');
    else logger.warn('SIGHUP: operators come from BULWARK_OPERATORS, which cannot change; nothing reloaded');
  });

  running.service = await startBreakerService(env, operators, triggers, logger, {
    ...(jwt ? { jwt } : {}),
    // The flag consumer crashed and could not be restarted: a fresh process is the supervisor's to start.
    onFatal: (err) => {
      logger.fatal({ err: errorMessage(err) }, 'breaker cannot consume flags: exiting');
      process.exit(1);
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bulwark breaker: ${errorMessage(err)}\n`);
  process.exit(1);
});
