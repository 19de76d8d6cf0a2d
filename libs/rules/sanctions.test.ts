import path from 'node:path';
import { ConfigError } from '../errors';
import { addressFormat, normaliseAddress } from './address';
import { bundledSanctionsDir } from './config';
import { loadSanctionsLists, sanctionsFromText } from './sanctions';

describe('address normalisation', () => {
  it('compares EVM addresses case-insensitively', () => {
    expect(addressFormat('0x722122dF12D4e14e13Ac3b6895a86e84145b6967')).toBe('evm');
    expect(normaliseAddress(' 0x722122dF12D4e14e13Ac3b6895a86e84145b6967 ')).toBe(
      '0x722122df12d4e14e13ac3b6895a86e84145b6967',
    );
  });

  it('lower-cases bech32 but leaves mixed case (invalid bech32) alone', () => {
    expect(normaliseAddress('BC1QXY2KGDYGJRSQTZQ2N0YRF2493P83KKFJHX0WLH')).toBe(
      'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh',
    );
    expect(normaliseAddress('ltc1qg82lpx4vrnhyxr0rxrzdj2mgpy4e8djq3xfxs9')).toBe(
      'ltc1qg82lpx4vrnhyxr0rxrzdj2mgpy4e8djq3xfxs9',
    );
    expect(addressFormat('bc1QXY2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh')).toBe('exact');
  });

  it('lower-cases CashAddr and drops its prefix', () => {
    expect(normaliseAddress('bitcoincash:QPF2CPHC5DKUCLKQUR7LHJ2YUQQ9PK3HMUKLE77VHQ'.toLowerCase())).toBe(
      'qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq',
    );
    expect(normaliseAddress('QPF2CPHC5DKUCLKQUR7LHJ2YUQQ9PK3HMUKLE77VHQ')).toBe(
      'qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq',
    );
  });

  it('keeps base58 and anything else exact', () => {
    for (const a of [
      '123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX',
      'TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre',
      't1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL',
      'rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66',
    ]) {
      expect(addressFormat(a)).toBe('exact');
      expect(normaliseAddress(a)).toBe(a);
    }
    expect(normaliseAddress('123wbudmsjv4gctdvez6qq6z8nxskrj4kx')).not.toBe(
      '123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX',
    );
  });
});

describe('sanctions lists', () => {
  const lists = sanctionsFromText({
    ETH: '0x722122dF12D4e14e13Ac3b6895a86e84145b6967\n\n# comment\n',
    USDT: '0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff\n',
    XBT: '123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX\nbc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6\n',
  });

  it('finds an address on any list, whatever the withdrawal asset', () => {
    expect(lists.isSanctioned('0x722122DF12D4E14E13AC3B6895A86E84145B6967', 'ETH')).toBe(true);
    expect(lists.isSanctioned('0x19AA5FE80D33A56D56C78E82EA5E50E5D80B4DFF', 'ETH')).toBe(true);
    expect(lists.matches('0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff')).toEqual(['USDT']);
    expect(lists.isSanctioned('BC1QA5WKGAEW2DKV56KFVJ49J0AV5NML45X9EK9HZ6', 'BTC')).toBe(true);
  });

  it('compares base58 exactly', () => {
    expect(lists.isSanctioned('123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX', 'BTC')).toBe(true);
    expect(lists.isSanctioned('123wbudmsjv4gctdvez6qq6z8nxskrj4kx', 'BTC')).toBe(false);
    expect(lists.isSanctioned('0x0000000000000000000000000000000000000001', 'ETH')).toBe(false);
    expect(lists.size).toBe(4);
  });

  it('loads the OFAC folder (XBT is Bitcoin) when it is there', () => {
    const dir = bundledSanctionsDir();
    let real;
    try {
      real = loadSanctionsLists(dir);
    } catch {
      return; // the shared folder is not on every machine
    }
    expect(real.byTicker.has('XBT')).toBe(true);
    expect(real.isSanctioned('0x722122df12d4e14e13ac3b6895a86e84145b6967', 'ETH')).toBe(true);
  });

  it('explains a missing folder', () => {
    expect(() => loadSanctionsLists(path.join('/nonexistent', 'x'))).toThrow(ConfigError);
    expect(() => loadSanctionsLists('/nonexistent/x')).toThrow(/BULWARK_SANCTIONS_DIR/);
    expect(() => loadSanctionsLists(__dirname)).toThrow(/holds no sanctioned_addresses_<TICKER>.txt/);
  });
});
