import { BreakerError } from './errors';
import { assetScope, isScope, parseScope } from './scope';

describe('scopes', () => {
  it('accepts global and asset:<UPPERCASE TICKER>', () => {
    for (const s of ['global', 'asset:ETH', 'asset:BTC', 'asset:USDC.E', 'asset:1INCH'])
      expect(isScope(s)).toBe(true);
  });

  it('rejects anything else with EUNKNOWNSCOPE', () => {
    for (const s of [
      '',
      'Global',
      'asset:',
      'asset:eth',
      'asset:*',
      'asset:ETH ',
      'assets:ETH',
      'asset:ETH:x',
      'all',
    ]) {
      expect(isScope(s)).toBe(false);
      expect(() => parseScope(s)).toThrow(BreakerError);
    }
    try {
      parseScope('asset:eth');
    } catch (err) {
      expect((err as BreakerError).code).toBe('EUNKNOWNSCOPE');
    }
  });

  it('builds an asset scope from a ticker', () => {
    expect(assetScope('ETH')).toBe('asset:ETH');
    expect(() => assetScope('eth')).toThrow(/upper-case ticker/);
  });
});
