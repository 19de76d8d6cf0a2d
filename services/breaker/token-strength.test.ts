import { randomBytes } from 'node:crypto';
import { tokenWeakness } from './token-strength';

describe('tokenWeakness', () => {
  it('accepts random tokens of 32 bytes, as hash-token makes them, and 32 random bytes in hex', () => {
    for (let i = 0; i < 2000; i++) {
      expect(tokenWeakness(randomBytes(32).toString('base64url'))).toBeNull();
      expect(tokenWeakness(randomBytes(32).toString('hex'))).toBeNull();
    }
  });

  it('refuses short, repetitive, sequential, small-alphabet and spaced tokens, never quoting them', () => {
    const weak: [string, RegExp][] = [
      ['s3cret', /6 characters; at least 32/],
      [randomBytes(18).toString('base64url'), /24 characters; at least 32/],
      ['a'.repeat(40), /repeats itself/],
      ['password-password-password-password', /repeats itself/],
      ['0123456789abcdef0123456789abcdef', /repeats itself/],
      ['Zq0abcdefgh-R7pLm2xW9vKc4NtYs8Jd', /repeats itself/],
      [smallAlphabet(48), /predictable|repeats itself/],
      ['correct horse battery staple, forty chars', /printable ASCII without spaces/],
    ];
    for (const [token, why] of weak) {
      const msg = tokenWeakness(token);
      expect(msg).toMatch(why);
      expect(msg).not.toContain(token);
    }
  });
});

/** A fixed pseudo-random string over four letters: about 2 bits a character. */
function smallAlphabet(n: number): string {
  let x = 7;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    s += 'aeiu'[(x >> 16) % 4];
  }
  return s;
}
