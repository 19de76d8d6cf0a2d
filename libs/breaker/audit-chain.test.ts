import { sealEntries, verifyTrail, type RawEntry } from './audit-chain';
import { parseControlKeys } from './control-keys';

const keys = parseControlKeys(`k1:${Buffer.alloc(32, 9).toString('base64')}`, 'test');
const raw = (i: number): RawEntry => ({
  recordedAt: `2022-01-17T00:00:0${i}.000Z`,
  action: 'halt',
  outcome: 'changed',
  scope: 'global',
  by: 'alice',
  reason: `r${i}`,
  trigger: 'manual',
  state: 'halted',
  version: i,
});

describe('audit hash chain', () => {
  const { sealed } = sealEntries([1, 2, 3, 4].map(raw), null, keys);

  it('links entries with seq, prev and an HMAC, and an intact trail verifies', () => {
    expect(sealed.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(sealed[1]!.prev).toBe(sealed[0]!.hash);
    expect(verifyTrail(sealed as never, keys)).toMatchObject({ ok: true, entries: 4 });
  });

  it('continues a chain from its head', () => {
    const head = { seq: 4, hash: sealed[3]!.hash };
    const more = sealEntries([raw(5)], head, keys).sealed;
    expect(verifyTrail([...sealed, ...more] as never, keys)).toMatchObject({ ok: true, entries: 5 });
  });

  it('names a deleted, an altered and an inserted entry', () => {
    expect(verifyTrail([sealed[0], sealed[2], sealed[3]] as never, keys)).toMatchObject({
      ok: false,
      seq: 3,
      problem: expect.stringContaining('entry 2 is missing'),
    });
    const altered = { ...sealed[1]!, by: 'mallory' };
    expect(verifyTrail([sealed[0], altered, sealed[2]] as never, keys)).toMatchObject({
      ok: false,
      seq: 2,
      problem: expect.stringContaining('altered'),
    });
    // A forger without the key cannot make a hash that verifies, even with plain SHA-256.
    const forged = sealEntries(
      [{ ...raw(9), action: 'resume', by: 'alice,bob' }],
      { seq: 2, hash: sealed[1]!.hash },
      undefined,
    ).sealed[0]!;
    expect(
      verifyTrail([sealed[0], sealed[1], { ...forged, kid: 'k1' }, sealed[2]] as never, keys),
    ).toMatchObject({
      ok: false,
      seq: 3,
    });
  });

  it('tolerates an exact duplicate on the topic (at-least-once), not in the API trail', () => {
    const dup = [sealed[0], sealed[1], sealed[1], sealed[2]];
    expect(verifyTrail(dup as never, keys, { allowDuplicates: true })).toMatchObject({
      ok: true,
      duplicates: 1,
    });
    expect(verifyTrail(dup as never, keys)).toMatchObject({ ok: false, seq: 2 });
  });
});
