import { ConfigError } from '../../libs/errors';

/** The message of the ConfigError `fn` throws; fails the test when it throws none or another error. */
export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
