import { claimKey, namespaceProblem, randomNamespace } from './namespace';

describe('replay namespace', () => {
  it('refuses the live prefix, a name that contains it and a name it contains', () => {
    expect(namespaceProblem('bulwark', 'bulwark')).toMatch(
      /^is the live key prefix \(BULWARK_KEY_PREFIX=bulwark\)/,
    );
    // `bulwark:{breaker}` as a namespace would write into the live breaker's keys.
    expect(namespaceProblem('bulwark:{breaker}', 'bulwark')).toBeDefined();
    expect(namespaceProblem('bulwark:x', 'bulwark')).toMatch(/^contains the live key prefix/);
    expect(namespaceProblem('old-bulwark', 'bulwark')).toMatch(/^contains the live key prefix/);
    expect(namespaceProblem('bul', 'bulwark')).toMatch(/^is part of the live key prefix/);
    expect(namespaceProblem('prod', 'prod-eu')).toMatch(/^is part of the live key prefix/);
    expect(namespaceProblem('replay-1', 'bulwark')).toBeUndefined();
    expect(namespaceProblem('bad name', 'bulwark')).toMatch(/^must be 1-64 characters/);
  });

  it('makes a fresh random default apart from any live prefix', () => {
    const a = randomNamespace('bulwark');
    expect(a).not.toBe(randomNamespace('bulwark'));
    expect(namespaceProblem(a, 'bulwark')).toBeUndefined();
    // Even a live prefix that the usual form would contain gets a name without it.
    for (const live of ['replay', 're', 'a', '1'])
      expect(namespaceProblem(randomNamespace(live), live)).toBeUndefined();
  });

  it('keeps its claim inside the namespace, after the exact delimiter', () => {
    expect(claimKey('ns')).toBe('ns:replay:claim');
  });
});
