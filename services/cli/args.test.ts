import { UsageError } from '../../libs/errors';
import { intOpt, numberOpt, parse, refuseOptions, shareOpt } from './args';

describe('bulwark arguments', () => {
  it('refuses an option given twice, since the second would silently win', () => {
    expect(() => parse(['--report', 'a', '--report', 'b'], { report: { type: 'string' } })).toThrow(
      new UsageError('--report given more than once'),
    );
    expect(
      parse(['--config', 'a', '--config', 'b'], { config: { type: 'string', multiple: true } }).values.config,
    ).toEqual(['a', 'b']);
  });

  it('turns unknown options and missing values into usage errors', () => {
    expect(() => parse(['--nope'], {})).toThrow(UsageError);
    expect(() => parse(['--report'], { report: { type: 'string' } })).toThrow(UsageError);
    expect(() => parse(['--keep=yes'], { keep: { type: 'boolean' } })).toThrow(UsageError);
  });

  it('refuses numbers that are not what they claim', () => {
    expect(() => intOpt('slice', '99999999999999999999', 0)).toThrow(/whole number/);
    expect(() => intOpt('slice', '-1', 0)).toThrow(/whole number/);
    expect(() => intOpt('timeout-ms', '0', 1, 1)).toThrow(/>= 1/);
    expect(intOpt('slice', '20', 0)).toBe(20);
    for (const bad of ['', ' ', 'abc', '1e3', '0x10', 'Infinity', '21'])
      expect(() => numberOpt('rate', bad, 1.5, 0, 20)).toThrow(/--rate must be a number from 0 to 20/);
    expect(numberOpt('rate', '2.5', 1.5, 0, 20)).toBe(2.5);
    expect(shareOpt('invalid-share', '.5', 0)).toBe(0.5);
    expect(() => shareOpt('invalid-share', '1.5', 0)).toThrow(UsageError);
  });

  it('refuses an option that would be ignored', () => {
    expect(() =>
      refuseOptions({ slice: '5' }, ['settle-ms', 'slice'], 'only applies to --mode kafka'),
    ).toThrow(new UsageError('--slice only applies to --mode kafka'));
    expect(() => refuseOptions({ keep: undefined }, ['keep'], 'x')).not.toThrow();
  });
});
