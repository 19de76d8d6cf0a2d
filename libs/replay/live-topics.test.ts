import { ConfigError } from '../errors';
import { topicNames } from '../kafka';
import { refuseLiveTopics } from './live-topics';

describe('kafka-mode replay and the live topics', () => {
  it('refuses the live topic names unless --live is given', () => {
    expect(() => refuseLiveTopics(topicNames(''), false)).toThrow(ConfigError);
    expect(() => refuseLiveTopics(topicNames(''), false)).toThrow(
      /would publish to the live topics auth\.events\.v1 and wallet\.events\.v1 .*pass --live/,
    );
    expect(() => refuseLiveTopics(topicNames(''), true)).not.toThrow();
    expect(() => refuseLiveTopics(topicNames('replay-7.'), false)).not.toThrow();
  });
});
