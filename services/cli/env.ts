import { commonEnvSchema, connectionEnvShape } from '../../libs/config';
import { breakerEnvSchema } from '../breaker/config';
import { detectorEnvSchema } from '../detector/config';

/**
 * The environment each command reads, taken field by field from the services' own schemas, so the CLI
 * accepts and refuses exactly what the detector and the breaker would (and names the variable the same way).
 */
export const inProcessEnvSchema = commonEnvSchema
  .pick({ BULWARK_REDIS_URL: true, BULWARK_KEY_PREFIX: true })
  .extend(connectionEnvShape);

export const kafkaReplayEnvSchema = commonEnvSchema
  .pick({
    BULWARK_REDIS_URL: true,
    BULWARK_KEY_PREFIX: true,
    BULWARK_KAFKA_BROKERS: true,
    BULWARK_TOPIC_PREFIX: true,
  })
  .extend({
    ...connectionEnvShape,
    BULWARK_DETECTOR_GROUP: detectorEnvSchema.shape.BULWARK_DETECTOR_GROUP,
    BULWARK_BREAKER_GROUP: breakerEnvSchema.shape.BULWARK_BREAKER_GROUP,
  });
