import { luaLiteral } from './compiled-scripts';

describe('luaLiteral', () => {
  it('writes numbers, strings, lists and records as Lua constructors', () => {
    expect(
      luaLiteral({
        h: 172800000,
        cd: [['new-address-cooldown', 'high', 86400000]],
        maxUsd: 100000.5,
        off: null,
      }),
    ).toBe(
      '{h = 172800000, cd = {{"new-address-cooldown", "high", 86400000}}, maxUsd = 100000.5, off = false}',
    );
    expect(luaLiteral(7776000000)).toBe('7776000000');
  });

  it('escapes every byte a Lua string could misread', () => {
    expect(luaLiteral('a"b\\c\nü')).toBe('"a\\34b\\92c\\10\\195\\188"');
  });

  it('refuses what Lua cannot hold', () => {
    expect(() => luaLiteral(Infinity)).toThrow();
    expect(() => luaLiteral({ 'bad-key': 1 })).toThrow(/identifier/);
  });
});
