import { Writable } from 'node:stream';
import pino from 'pino';
import { componentLogger } from '../../libs/logger';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ base: { service: 't' } }, sink), lines };
}

describe('componentLogger', () => {
  it('nests component names instead of repeating the component key', () => {
    const { logger, lines } = capture();
    const detector = componentLogger('detector', logger);
    const kafka = componentLogger('kafka', detector);
    kafka.info('hello');
    detector.info('there');
    expect(lines[0]!.match(/"component"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 't', component: 'detector.kafka', msg: 'hello' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ component: 'detector', msg: 'there' });
  });
});
