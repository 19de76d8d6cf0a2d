import { silenceKafkajsNegativeTimeoutWarning } from './negative-timeout-warning';

describe('silenceKafkajsNegativeTimeoutWarning', () => {
  it('drops TimeoutNegativeWarning and passes every other warning through', async () => {
    silenceKafkajsNegativeTimeoutWarning();
    const seen: string[] = [];
    const listener = (w: Error) => seen.push(w.name);
    process.on('warning', listener);
    try {
      setTimeout(() => undefined, -5).unref();
      process.emitWarning('negative', 'TimeoutNegativeWarning');
      process.emitWarning('kept', 'SomeOtherWarning');
      process.emitWarning('plain');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['SomeOtherWarning', 'Warning']);
    } finally {
      process.off('warning', listener);
    }
  });
});
