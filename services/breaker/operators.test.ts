import { ConfigError } from '../../libs/errors';
import { OperatorRegistry, hashToken, newOperatorLine } from './operators';

describe('operator tokens', () => {
  const alice = newOperatorLine('alice');
  const bobToken = 'Given-tOken_for.bob:9f3Kq7Zx2LmW8rTv5NcYp4Hs';
  const bob = newOperatorLine('bob', bobToken, 'halt+audit');
  const registry = OperatorRegistry.parse(`${alice.line}\n# comment\n${bob.line}`, 'BULWARK_OPERATORS');

  it('verifies a token to its operator and roles, and nothing else', () => {
    expect(registry.verify(alice.token)).toMatchObject({ name: 'alice' });
    expect([...registry.verify(alice.token)!.roles].sort()).toEqual(['audit', 'halt', 'resume']);
    expect(registry.verify(bobToken)).toMatchObject({ name: 'bob' });
    expect(registry.verify(bobToken)!.roles.has('resume')).toBe(false);
    for (const wrong of ['', `${alice.token} `, alice.token.slice(1), 'x'.repeat(10_000), bob.line])
      expect(registry.verify(wrong)).toBeNull();
    expect(registry.withRole('resume')).toEqual(['alice']);
  });

  it('stores only salt and SHA-256 of salt + token; random tokens and salts differ each time', () => {
    const [name, salt, hash] = alice.line.split(':') as [string, string, string];
    expect(name).toBe('alice');
    expect(hash).toBe(hashToken(salt, alice.token));
    expect(alice.line).not.toContain(alice.token);
    const again = newOperatorLine('alice');
    expect(again.token).not.toBe(alice.token);
    expect(again.line.split(':')[1]).not.toBe(salt);
    expect(Buffer.from(alice.token, 'base64url')).toHaveLength(32);
  });

  it('refuses a weak given token without quoting it', () => {
    expect(() => newOperatorLine('carol', 'a-given-token-that-is-long-enough')).toThrow(
      /too predictable.*omit the token/,
    );
    expect(() => newOperatorLine('carol', 'hunter2')).toThrow(/7 characters; at least 32/);
  });

  it('rejects malformed entries naming the variable and entry, never echoing a hash', () => {
    const secretish = 'deadbeef'.repeat(8);
    const cases: [string, RegExp][] = [
      ['alice', /BULWARK_OPERATORS: entry 1 must be name:salt/],
      [`alice:short:${secretish}`, /entry 1 \(alice\): salt/],
      ['alice:0123456789abcdef:nothex', /entry 1 \(alice\): hash must be 64 hex/],
      [`${alice.line},${alice.line}`, /entry 2: operator alice is listed twice/],
      [`bad name:0123456789abcdef:${secretish}`, /entry 1: name must be/],
      [`breaker:0123456789abcdef:${secretish}`, /not "breaker"/],
      [`carol:0123456789abcdef:${secretish}:root`, /role "root" must be one of halt, resume, audit/],
    ];
    for (const [text, re] of cases) {
      let msg = '';
      try {
        OperatorRegistry.parse(text, 'BULWARK_OPERATORS');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        msg = (err as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toContain(secretish);
    }
    expect(() => OperatorRegistry.fromEnv('a', '/tmp/x')).toThrow(/only one of/);
    expect(() => OperatorRegistry.fromEnv(undefined, '/nonexistent/ops')).toThrow(
      /BULWARK_OPERATORS_FILE=.*cannot read/,
    );
  });
});
