import { ConfigError } from '../errors';
import { canonicalJson, parseControlKeys, signFields, verifyFields } from './control-keys';

const secret = (n: number) => Buffer.alloc(32, n).toString('base64');

describe('control keys', () => {
  it('signs with the first key and verifies with any listed one, so keys rotate', () => {
    const old = parseControlKeys(`k1:${secret(1)}`, 'test');
    const rotated = parseControlKeys(`k2:${secret(2)}\nk1:${secret(1)}`, 'test');
    const signedOld = signFields(old, { scope: 'global', state: 'halted', version: 1 });
    expect(signedOld.kid).toBe('k1');
    expect(verifyFields(rotated, signedOld)).toEqual({ ok: true });
    const signedNew = signFields(rotated, { scope: 'global', state: 'open', version: 2 });
    expect(signedNew.kid).toBe('k2');
    expect(verifyFields(old, signedNew)).toEqual({ ok: false, reason: 'unknown-kid' });
  });

  it('refuses unsigned, altered and re-versioned messages', () => {
    const keys = parseControlKeys(`k1:${secret(1)}`, 'test');
    const signed = signFields(keys, { scope: 'global', state: 'halted', version: 1 });
    expect(verifyFields(keys, { scope: 'global', state: 'open', version: 1000 })).toEqual({
      ok: false,
      reason: 'unsigned',
    });
    expect(verifyFields(keys, { ...signed, state: 'open' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyFields(keys, { ...signed, version: 1000 })).toEqual({ ok: false, reason: 'bad-signature' });
    // Field order does not matter: the signature is over the canonical form.
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    expect(verifyFields(keys, reordered)).toEqual({ ok: true });
  });

  it('refuses weak or malformed keys at start, never echoing the secret', () => {
    const weak = Buffer.alloc(16, 3).toString('base64');
    expect(() => parseControlKeys(`k1:${weak}`, 'BULWARK_CONTROL_KEYS')).toThrow(ConfigError);
    try {
      parseControlKeys(`k1:${weak}`, 'BULWARK_CONTROL_KEYS');
    } catch (err) {
      expect((err as Error).message).toMatch(/at least 32 random bytes/);
      expect((err as Error).message).not.toContain(weak);
    }
    expect(() => parseControlKeys('', 'X')).toThrow(/no key/);
    expect(() => parseControlKeys(`bad kid:${secret(1)}`, 'X')).toThrow(/kid/);
    expect(() => parseControlKeys(`k:${secret(1)},k:${secret(2)}`, 'X')).toThrow(/twice/);
  });

  it('serialises canonically: sorted keys, no whitespace, undefined dropped', () => {
    expect(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }], u: undefined })).toBe(
      '{"a":[{"c":"x","d":null}],"b":1}',
    );
  });
});
